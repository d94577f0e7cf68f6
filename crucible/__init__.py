"""Crucible: a hardened code-execution sandbox and a training kernel with method plugins.

Every installed module lives under this one import name, so that a user's own ``kernel/`` or
``evaluation/`` folder neither shadows ours nor is shadowed. The repository keeps the layers as
top-level folders (``kernel/``, ``sandbox_service/``, ``methods/``, ...); the entries of this
folder are relative symbolic links to them, and ``crucible.sandbox`` links to the gRPC stubs
generated under ``proto/``. Links rather than setuptools' ``package-dir`` mapping, because mypy,
pytest and ``python -m`` then resolve ``crucible.kernel`` from a checkout exactly as the wheel
installs it, without an import hook.
"""
