"""Shared fixtures of the kernel tests: the real tiny model, loaded once per session.

The tiny model comes from the ordinary cache (``~/.cache/crucible`` or ``$CRUCIBLE_CACHE_DIR``),
exactly as training loads it; tests about the cache itself point it at a temporary folder. Models
are pinned to the CPU in float32 so exact comparisons hold on a GPU machine too; the GPU path has
its own test.
"""

from __future__ import annotations

from typing import Any

import pytest

from crucible.kernel.config import ModelConfig
from crucible.kernel.models import load_model


@pytest.fixture(scope="session")
def tiny() -> tuple[Any, Any]:
    """(model, tokenizer) of the tiny model. Tests must not modify it; load a fresh one to."""
    return load_model(ModelConfig(name_or_path="tiny", device="cpu"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny: tuple[Any, Any]) -> Any:
    return tiny[1]
