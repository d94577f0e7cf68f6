"""Fixtures any test folder may use.

pytest puts each test module's own folder on ``sys.path``; the sandbox tests' helpers
(``real_engine``, ``live_server``, ``sandbox_harness`` in tests/sandbox) are put there for every
folder, so other folders use the same real engine rather than stand-ins of their own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "sandbox"))

from real_engine import LocalEngine  # found through the path above


@pytest.fixture(scope="session")
def pooled_engine() -> Iterator[LocalEngine]:
    """One real engine (pooled isolation, real nsjail) for every test that needs real verdicts
    but no engine settings of its own; started once per session."""
    engine = LocalEngine("pooled")
    yield engine
    engine.close()
