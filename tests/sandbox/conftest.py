"""Fixtures for the server and client tests: a real grpc.aio server on 127.0.0.1 (a free port),
hosted on an event loop in a background thread so the blocking client can run in the test body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from real_engine import ServedEngine
from sandbox_harness import LoopThread

from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service.engine import Engine
from crucible.sandbox_service.server import RunningServer, ServerOptions, start_server


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    hosted = LoopThread()
    yield hosted
    hosted.close()


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def start_controlled(loop_thread: LoopThread) -> Iterator[ServerFactory]:
    """``start_controlled(engine, **server_options)`` starts a server on 127.0.0.1:0; every
    server started is stopped (grace 0) after the test."""
    servers: list[RunningServer] = []

    def start(engine: Engine, **options: Any) -> RunningServer:
        server = loop_thread.run(start_server(engine, "127.0.0.1:0", ServerOptions(**options)))
        servers.append(server)
        return server

    yield start
    for server in servers:
        loop_thread.run(server.stop(0))


@pytest.fixture
def stub_for() -> Iterator[Callable[[str], pb_grpc.SandboxServiceStub]]:
    """``stub_for(address)``: a raw stub on a fresh channel (closed after the test)."""
    channels: list[grpc.Channel] = []

    def make(address: str) -> pb_grpc.SandboxServiceStub:
        channel = grpc.insecure_channel(
            address, options=[("grpc.max_send_message_length", 64 << 20)]
        )
        channels.append(channel)
        return pb_grpc.SandboxServiceStub(channel)

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture(scope="session")
def served_engine() -> Iterator[ServedEngine]:
    """The real pooled engine behind a real gRPC server on 127.0.0.1, for the server and client
    tests that need no control over a program's timing (ControlledEngine is for those); its
    HTTP front is on too."""
    served = ServedEngine("pooled", http=True)
    yield served
    served.close()
