"""Languages besides Python: C, C++, Java, JavaScript (Node.js), Rust and Go.

One module per language family says how to build and run a program and how to read its
compiler's and runtime's reports; :mod:`runner` does the rest for all of them alike (compile
jail, artifact cache, run jail, limits, verdicts). See ``docs/languages.md``.
"""

from crucible.sandbox_service.engine.languages.base import UnsupportedTest
from crucible.sandbox_service.engine.languages.runner import NativeRunner

__all__ = ["NativeRunner", "UnsupportedTest"]
