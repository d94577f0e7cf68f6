"""Discovery of method plugins through the ``crucible.methods`` entry-point group.

The kernel names no method: built-in methods are registered in ``pyproject.toml`` exactly as a
third-party package would register its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from crucible.kernel.plugin import MethodClass, validate_plugin

GROUP = "crucible.methods"


@dataclass(frozen=True)
class InstalledMethod:
    """One entry point of the group, before it is loaded."""

    name: str
    target: str
    distribution: str

    def load(self) -> MethodClass:
        (entry,) = [ep for ep in _entries() if ep.name == self.name]
        return validate_plugin(entry.load(), f"entry point {self.name} = {self.target}")


def _entries() -> list[EntryPoint]:
    return sorted(entry_points(group=GROUP), key=lambda ep: ep.name)


def installed_methods() -> list[InstalledMethod]:
    """Every method plugin installed, sorted by name."""
    return [
        InstalledMethod(
            name=ep.name,
            target=ep.value,
            distribution=ep.dist.name if ep.dist is not None else "?",
        )
        for ep in _entries()
    ]


def load_method(name: str) -> MethodClass:
    """The plugin class registered as ``name``; a clear error lists what is installed."""
    for method in installed_methods():
        if method.name == name:
            return method.load()
    available = ", ".join(method.name for method in installed_methods()) or "none"
    raise KeyError(f"no method named {name!r} is installed (installed: {available})")
