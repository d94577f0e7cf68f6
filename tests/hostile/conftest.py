"""The programs under ``programs/`` and ``native_programs/`` are hostile: pytest must never
import them on the host (some names would match its test-file patterns). They are only read as
text and run in the sandbox."""

import pytest
from hostile_corpus import harness_digests

collect_ignore_glob = ["programs/*", "native_programs/*"]


@pytest.fixture(scope="module")
def harness_digest() -> list[str]:
    """The harnesses' files before a module's programs run: none may change them."""
    return harness_digests()
