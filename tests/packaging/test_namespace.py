"""One import namespace: the wheel installs every layer under ``crucible`` and nothing else at the
top level, so a user's own ``kernel/`` or ``evaluation/`` folder (or another distribution's)
neither shadows ours nor is shadowed. Checked on the built wheel, unpacked into a fresh venv that
cannot see this checkout, imported from a directory holding decoy folders of those names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DECOYS = ("kernel", "evaluation", "benchmarks", "methods", "cli")

PROBE = textwrap.dedent(
    """
    import json, sys
    import crucible.evaluation.tasks, crucible.kernel.config, crucible.sandbox_service.models
    ours = {
        name: sys.modules[name].__file__
        for name in ("crucible.kernel.config", "crucible.evaluation.tasks",
                     "crucible.sandbox_service.models")
    }
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])
    try:
        import kernel
        theirs = "imported without the decoy's error"
    except ImportError as exc:
        theirs = str(exc)
    print(json.dumps({"ours": ours, "loaded_decoys": loaded, "theirs": theirs}))
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(out), str(REPO)], check=True, cwd=out)
    (built,) = out.glob("*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_has_no_top_level_name_but_crucible(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert len(dist_info) == 1 and next(iter(dist_info)).startswith("crucible-")
    assert tops - dist_info == {"crucible"}


@pytest.mark.slow
def test_the_installed_layers_import_as_crucible_beside_decoy_folders(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    zipfile.ZipFile(wheel).extractall(site)
    # The dependencies (pydantic, yaml) come from this environment's site-packages as a plain
    # path: its .pth files, the editable install of this checkout among them, are not run.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "project"
    for name in DECOYS:
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text(f"raise ImportError('the user decoy {name}')\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [str(python), "-c", PROBE, *DECOYS],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for module, path in report["ours"].items():
        assert Path(path).is_relative_to(site / "crucible"), (module, path)
    assert report["loaded_decoys"] == []
    assert report["theirs"] == "the user decoy kernel"  # theirs still imports, untouched
