"""Every non-Python language the sandbox knows, in one list (ListLanguages sorts by name)."""

from __future__ import annotations

from crucible.sandbox_service.engine.languages.base import LanguageSpec
from crucible.sandbox_service.engine.languages.c_family import CPP, C
from crucible.sandbox_service.engine.languages.go import GO
from crucible.sandbox_service.engine.languages.java import JAVA
from crucible.sandbox_service.engine.languages.javascript import JAVASCRIPT
from crucible.sandbox_service.engine.languages.rust import RUST


def all_languages() -> list[LanguageSpec]:
    """Every language module; the runner keeps those whose toolchain is installed."""
    return [C, CPP, GO, JAVA, JAVASCRIPT, RUST]
