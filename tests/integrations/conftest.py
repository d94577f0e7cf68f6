"""A real ``crucible sandbox serve`` (pooled isolation, gRPC and HTTP on 127.0.0.1) shared by
the integration tests of a module; started by the sandbox tests' own helper."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))

from live_server import LiveServer, live_server  # found through the path above


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), http=True) as server:
        yield server
