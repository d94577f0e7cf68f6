"""Packages programs may import (EngineConfig.python_packages, `crucible sandbox serve
--python-packages DIR`): importable in both isolation modes only when configured, read-only in
the jail, and numpy with its bundled OpenBLAS works in a jail's few pids."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from real_engine import LocalEngine, assert_test, request

from crucible.sandbox_service.engine import EngineConfig
from crucible.sandbox_service.models import Status

USES_THE_PACKAGE = "from crucible_demo_pkg import triple\n\ndef f(x):\n    return triple(x)\n"


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("packages")
    (root / "crucible_demo_pkg").mkdir()
    (root / "crucible_demo_pkg" / "__init__.py").write_text("def triple(x):\n    return 3 * x\n")
    readable(root)
    return root


def readable(root: Path) -> None:
    """What pip install --target leaves: directories others may enter, files they may read."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture(scope="module", params=["strict", "pooled"])
def sandbox(request: pytest.FixtureRequest, packages: Path) -> Iterator[LocalEngine]:
    engine = LocalEngine(request.param, python_packages=packages)
    yield engine
    engine.close()


def test_a_configured_package_is_importable(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request(USES_THE_PACKAGE, assert_test("assert f(2) == 6")))
    assert verdict.status is Status.PASSED, verdict.error


def test_without_the_option_only_the_standard_library_is_there() -> None:
    engine = LocalEngine("pooled")
    try:
        verdict = engine.run(request(USES_THE_PACKAGE, assert_test("assert f(2) == 6")))
    finally:
        engine.close()
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.error is not None and verdict.error.type == "ModuleNotFoundError"


def test_the_packages_are_read_only_in_the_jail(sandbox: LocalEngine, packages: Path) -> None:
    # World-writable on the host: only the read-only bind stops the write.
    module = packages / "crucible_demo_pkg" / "__init__.py"
    module.chmod(0o666)
    source = (
        "import crucible_demo_pkg\n"
        "with open(crucible_demo_pkg.__file__, 'a') as handle:\n"
        "    handle.write('def triple(x):\\n    return 0\\n')\n"
    )
    try:
        verdict = sandbox.run(request(source, assert_test("pass")))
    finally:
        module.chmod(0o644)
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.error is not None and verdict.error.type == "OSError"
    assert "Read-only file system" in verdict.error.message
    assert "return 3 * x" in module.read_text()


@pytest.mark.slow
def test_numpy_and_its_openblas_run_in_a_jail(tmp_path: Path) -> None:
    # numpy is no dependency of the sandbox: the train extra brings it
    numpy = pytest.importorskip("numpy", reason="numpy is not installed")
    installed = Path(numpy.__file__).parent
    for name in ("numpy", "numpy.libs"):
        if (installed.parent / name).is_dir():
            shutil.copytree(installed.parent / name, tmp_path / name)
    readable(tmp_path)
    source = "import numpy as np\n\ndef solve(a, b):\n    return np.linalg.solve(a, b).tolist()\n"
    test = "assert [round(x, 6) for x in solve([[2.0, 0.0], [0.0, 4.0]], [2.0, 8.0])] == [1, 2]"
    for isolation in ("strict", "pooled"):
        engine = LocalEngine(isolation, python_packages=tmp_path)
        try:
            verdict = engine.run(request(source, assert_test(test)))
        finally:
            engine.close()
        assert verdict.status is Status.PASSED, (isolation, verdict.error)


def test_a_packages_directory_the_jail_could_not_read_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a directory"):
        EngineConfig(python_packages=tmp_path / "missing")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ValidationError, match="chmod -R o\\+rX"):
        EngineConfig(python_packages=private)
