"""gRPC server reflection under both names clients ask for: ``grpc.reflection.v1`` and
``grpc.reflection.v1alpha``.

grpcio-reflection (1.85) implements only v1alpha, while grpcurl and newer clients ask for v1
first. v1 is the same protocol under a new package name: its messages are field for field those
of v1alpha, so their bytes on the wire are identical. The one v1alpha servicer is therefore also
registered under the v1 service name, and v1's file (v1alpha's descriptor with the package
renamed) is added to the descriptor pool, so that reflection describes itself under both names.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

_V1ALPHA_PACKAGE = "grpc.reflection.v1alpha"
_V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{_V1_PACKAGE}.ServerReflection"
V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME


def enable_reflection(services: Sequence[str], server: grpc.aio.Server) -> None:
    """Serve reflection of ``services`` (and of reflection itself, both versions) on
    ``server``."""
    _add_v1_file()
    servicer = reflection.aio.ReflectionServicer((*services, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME))
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))


def _add_v1_file() -> None:
    """Put ``grpc/reflection/v1/reflection.proto`` into the default pool once: v1alpha's file
    with its package, and every type name that names it, renamed."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(V1_SERVICE_NAME)
        return
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(file)
    file.name = "grpc/reflection/v1/reflection.proto"
    file.package = _V1_PACKAGE
    file.ClearField("options")
    old, new = f".{_V1ALPHA_PACKAGE}.", f".{_V1_PACKAGE}."
    for message in file.message_type:
        for field in message.field:
            if field.HasField("type_name"):  # set only on message-typed fields
                field.type_name = field.type_name.replace(old, new)
    for service in file.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    pool.Add(file)
