"""The wheel a bureau installs: the runtime package with its rule pack, the Chinese console script,
and nothing of the development tree (formkit, tests, bench). CI (.ci/run) also installs it into a
fresh virtual environment and runs it from another directory."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_the_runtime_and_its_rule_pack_only(tmp_path: Path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "pipeline", src / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "formkit", src / "formkit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "dist").glob("selfeval-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pipeline/rules/rules.toml" in names and "pipeline/rules/labels.toml" in names
    for package in ("pipeline", "pipeline/read", "pipeline/check", "pipeline/write"):
        assert f"{package}/__init__.py" in names
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pipeline").rglob("*.py")}
    assert shipped <= set(names)
    tops = {n.split("/")[0] for n in names}
    assert tops == {"pipeline", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    cfg = configparser.ConfigParser()
    cfg.read_string(entry)
    assert cfg["console_scripts"]["selfeval"].split("#")[0].strip() == "pipeline.cli:main"
