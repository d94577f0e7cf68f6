"""A real ``crucible sandbox serve`` (pooled isolation, gRPC and HTTP on 127.0.0.1) shared by
the integration tests of a module; started by the sandbox tests' own helper."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import LiveServer, live_server  # on the path by tests/conftest.py


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), http=True) as server:
        yield server
