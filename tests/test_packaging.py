"""The package builds as a wheel without `make` and works once installed from it.

The wheel is built offline (`pip wheel --no-build-isolation --no-index`: setuptools comes from the
test venv) from a copy of the sources, so no build output lands in the work tree. It is installed
with `--no-deps` into a fresh venv that sees the test venv's packages as its dependencies.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.message import Message
from pathlib import Path

import pytest

import synth_dagster
from synth_dagster.connectors.sql.dialects import FLAVORS

REPO = Path(synth_dagster.__file__).resolve().parents[1]
DIST_INFO = f"synth_dagster-{synth_dagster.__version__}.dist-info"
# the storage and warehouse connectors' extras (their MissingDriverError names them)
OTHER_CONNECTOR_EXTRAS = {"s3", "gcs", "azure", "snowflake", "bigquery"}


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and the build's output."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    source.mkdir()
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "synth_dagster", source / "synth_dagster", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = base / "dist"
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
    result = _run([*command, "--no-index", "-v", "-w", str(out)])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    (wheel,) = out.glob("synth_dagster-*.whl")
    return wheel, log


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(f"{DIST_INFO}/METADATA"))


def _extra_requirements(metadata: Message) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {extra: set() for extra in metadata.get_all("Provides-Extra") or []}
    for line in metadata.get_all("Requires-Dist") or []:
        match = re.fullmatch(r'(.+?);\s*extra == "([^"]+)"', line)
        if match:
            out[match.group(2)].add(match.group(1).strip())
    return out


def test_build_has_no_license_warning(built: tuple[Path, str]) -> None:
    _, log = built
    assert "project.license" not in log and "BuildBackendWarning" not in log, log[-3000:]


def test_wheel_metadata_and_extras(built: tuple[Path, str]) -> None:
    wheel, _ = built
    metadata = _metadata(wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    extras = _extra_requirements(metadata)
    families = {flavor.extra for flavor in FLAVORS.values()} | OTHER_CONNECTOR_EXTRAS
    assert families <= set(extras), sorted(families - set(extras))
    assert {"all-connectors", "dp", "dg", "test"} <= set(extras)
    # all-connectors is exactly every family's drivers, so it cannot drift from them
    assert extras["all-connectors"] == set().union(*(extras[f] for f in families))
    assert any(r.startswith("dagster-dg-cli") for r in extras["dg"])


def test_wheel_contents(built: tuple[Path, str]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"{DIST_INFO}/entry_points.txt").decode()
    for name in [
        "synth_dagster/py.typed",
        "synth_dagster/demo_data/flights.csv",
        "synth_dagster/demo_data/README.md",
        "synth_dagster/integration/components.py",
        f"{DIST_INFO}/licenses/LICENSE",
    ]:
        assert name in names, name
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
    assert "synth-dagster = synth_dagster.cli:main" in entry_points
    assert "[dagster_dg_cli.registry_modules]\nsynth_dagster = synth_dagster" in entry_points


def test_installed_wheel_runs(built: tuple[Path, str], tmp_path: Path) -> None:
    wheel, _ = built
    venv = tmp_path / "venv"
    # A venv made from a venv's interpreter sees the base Python's packages, not the test venv's,
    # even with --system-site-packages; a .pth line lends it the test venv's packages instead
    # (without running their .pth files, so an editable synth_dagster there stays out of the way).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    (Path(purelib.stdout.strip()) / "_test_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    installed = _run([*install, str(wheel)])
    assert installed.returncode == 0, installed.stdout + installed.stderr

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the wheel, not the work tree
    code = "import synth_dagster; print(synth_dagster.__version__, synth_dagster.__file__)"
    imported = _run([str(python), "-c", code], env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    version, where = imported.stdout.split()
    assert version == synth_dagster.__version__ and where.startswith(str(venv))

    helped = _run([str(venv / "bin" / "synth-dagster"), "--help"], env=env, cwd=tmp_path)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: synth-dagster"), helped.stderr

    # the dg registry entry point, as the installed package declares it
    listed = _run(
        [str(python), "-m", "dagster_dg_cli.cli", "list", "components", "--json"], env=env, cwd=tmp_path
    )
    if "No module named dagster_dg_cli" in listed.stderr:
        pytest.skip("dagster-dg-cli is not installed (the test extra has it)")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert '"key": "synth_dagster.SyntheticDataComponent"' in listed.stdout
