"""Thousands of good forms mixed with every kind of bad file, junk, special entry and hostile name,
through the real CLI: the run must finish with exit code 2, a manifest row for every entry, INBOX
unchanged, and outputs that open with no formula or link from input text.

    python bench/mixed_inbox.py --n 2000 [--soffice]

Prints a verdict per check and writes bench/results/<time>-mixed.json. Too slow for the test suite
at this size; tests/test_contain.py runs each case on a few files.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from formkit.formset import generate  # noqa: E402
from hostile import build_all  # noqa: E402

HOSTILE_NAMES = ["..\\..\\Users\\Public\\payload.xlsx", "a#b%c?.xlsx", "=HYPERLINK(1).xlsx",
                 "<r>名<_r>.xlsx", "空 格 与 中文 名称.xlsx", "长" * 83 + ".xls"]


def digest_tree(folder: Path) -> str:
    h = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            h.update(os.fsencode(p.relative_to(folder)))
            if p.is_file() and not p.is_symlink():
                h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def build_inbox(inbox: Path, n: int, seed: int) -> int:
    """The good forms in county folders, then everything else; returns the entries expected."""
    work = inbox / "各区县"
    generate(n, seed, work, xls_share=0.03, jobs=2)
    good = sorted(work.glob("*.xlsx"))[0]
    build_all(inbox / "坏文件", good)
    for junk in ("Thumbs.db", "desktop.ini", ".DS_Store", "~$临时.xlsx"):
        (inbox / junk).write_bytes(b"\x00junk")
    for name in HOSTILE_NAMES:
        shutil.copy(good, inbox / name)
    shutil.copy(good, inbox / os.fsdecode("单位报表".encode("gbk") + b".xlsx"))
    os.mkfifo(inbox / "管道.xlsx")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / "套接字.xlsx"))
    sock.close()
    os.symlink(good, inbox / "链接.xlsx")
    os.symlink(work, inbox / "链接文件夹")
    (inbox / "x.xls").write_bytes(good.read_bytes())
    (inbox / "x.xlsx").mkdir()
    shutil.copy(good, inbox / "x.xlsx" / "y.xlsx")
    return sum(1 for _ in _entries(inbox))


def _entries(folder: Path):
    """What the run must list: every non-folder entry, symlinked folders included."""
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            if (Path(root) / d).is_symlink():
                yield d
        yield from files


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=77)
    ap.add_argument("--soffice", action="store_true", help="also open summary.xlsx in LibreOffice")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="selfeval-mixed-"))
    inbox, out = base / "收件箱", base / "输出"
    inbox.mkdir()
    expected = build_inbox(inbox, args.n, args.seed)
    before = digest_tree(inbox)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(inbox), "--out", str(out), "-q"],
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    checks = {
        "exit code 2": p.returncode == 2,
        "no traceback": "Traceback" not in p.stdout + p.stderr,
        f"manifest lists all {expected} entries": len(rows) == expected,
        "received = accepted + rejected + skipped": len(rows) == sum(
            r["status"] in ("accepted", "rejected", "skipped") for r in rows),
        "INBOX unchanged": digest_tree(inbox) == before,
    }
    from test_contain import assert_no_input_code

    for name, path in [("summary.xlsx", out / "summary.xlsx")] + \
            [(f"returns/{q.name}", q) for q in sorted((out / "returns").rglob("*.xlsx"))[:50]]:
        try:
            assert_no_input_code(path, returned=name != "summary.xlsx")
            ok = True
        except Exception as exc:  # noqa: BLE001 (a verdict, not a crash)
            ok = f"{type(exc).__name__}: {exc}"[:200]
        checks[f"{name} opens, nothing from input acts"] = ok
    if args.soffice:
        # loading is what is proven; a CSV of the first sheet is the cheapest thing to write after it
        r = subprocess.run(["soffice", "--headless", "--convert-to", "csv", "--outdir", str(base / "lo"),
                            str(out / "summary.xlsx")], capture_output=True, timeout=1200)
        checks["LibreOffice opens summary.xlsx"] = r.returncode == 0 and any((base / "lo").glob("*.csv"))
    by = {}
    for r in rows:
        by[r["status"]] = by.get(r["status"], 0) + 1
    for k, v in checks.items():
        if v is True and k.startswith("returns/"):
            continue
        print(("OK   " if v is True else "FAIL ") + k + ("" if v is True else f"  ({v})"))
    n_ret = sum(k.startswith("returns/") for k in checks)
    print(f"{len(rows)} entries ({by}), {seconds:.1f} s; {n_ret} returned copies checked")
    res = ROOT / "bench" / "results"
    res.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    (res / f"{stamp}-mixed-n{args.n}.json").write_text(json.dumps(
        {"n": args.n, "entries": len(rows), "by_status": by, "seconds": round(seconds, 1),
         "checks": {k: v is True for k, v in checks.items()}}, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(base, ignore_errors=True)
    return 0 if all(v is True for v in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
