"""The gRPC face of the sandbox: a thin servicer over the engine, and a bounded server."""

from crucible.sandbox_service.server.app import RunningServer, ServerOptions, serve, start_server
from crucible.sandbox_service.server.servicer import SandboxServicer

__all__ = [
    "RunningServer",
    "SandboxServicer",
    "ServerOptions",
    "serve",
    "start_server",
]
