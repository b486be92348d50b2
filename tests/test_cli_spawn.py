"""The Windows worker path (spawned workers, no fork server, no memory cap), forced on any platform
with SELFEVAL_START_METHOD=spawn, through the real CLI: the same outputs as the default path."""
from __future__ import annotations

import csv
from pathlib import Path

from test_cli import SAMPLES, english, output, selfeval


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_spawned_workers_give_the_same_outputs(tmp_path: Path):
    runs = {}
    for method in ("", "spawn"):
        out = tmp_path / (method or "default")
        r = selfeval("run", str(SAMPLES), "--out", str(out), "--jobs", "2", "--no-returns",
                     env={"SELFEVAL_START_METHOD": method} if method else None)
        assert r.returncode == 2, output(r)  # the two deliberately broken samples
        assert not english(output(r)), output(r)
        runs[method] = {name: _rows(out / name) for name in ("manifest.csv", "findings.csv", "values.csv")}
    assert runs["spawn"] == runs[""]
    manifest = runs["spawn"]["manifest.csv"]
    assert len(manifest) == len([p for p in SAMPLES.iterdir() if p.is_file()])
    assert sum(row["status"] == "accepted" for row in manifest) == len(manifest) - 2


def test_spawned_worker_path_for_one_file(tmp_path: Path):
    r = selfeval("check", str(SAMPLES / "2021_岳阳市城管局城陵矶新港区分局.xlsx"),
                 env={"SELFEVAL_START_METHOD": "spawn"})
    assert r.returncode == 0 and "NAR-001" in r.stdout, output(r)
