"""Is a run's cost linear in the number of forms? Runs of several sizes, interleaved.

    python bench/linear.py [--sizes 1000,10000,50000] [--rounds 2] [--xls 0.0] [--no-store]

This machine's speed drifts by a quarter or more between runs of the same size (the naive
baseline of bench/run.py read 6.5–12.2 forms/s in one afternoon), which hides a 15 % difference
between sizes in runs made far apart. So each round runs every size, ascending in odd rounds and
descending in even ones, and a slow drift falls on both ends alike; each size's median over the
rounds is compared. Each run is a process of its own (one process running them in turn counts the
CPU its long-lived helpers spent on earlier runs, and its heap keeps their peak). Per run: forms/s, CPU milliseconds of all processes a form, peak memory
(PSS). A probe timing fixed work during each run was tried as a speed index and dropped: under
the run's own load its figure rose with the run's length (0.9 ms at 1,000 forms, 1.6 at 50,000),
so it measured the load, not the machine. Results: bench/results/*-linear.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from run import forms_dir, timed_run  # noqa: E402  (bench/run.py)


def measure(n: int, xls: float, store: bool) -> dict:
    args = argparse.Namespace(store="fresh" if store else None, n=n, jobs=0, returns=False)
    t = timed_run(args, forms_dir(n, 1, xls), ROOT / "work" / f"out-linear-{n}")
    received = t.report.received
    return {"n": n, "received": received, "total_s": round(t.total, 2),
            "forms_per_s": round(received / t.total, 1), "cpu_ms_per_form": round(1000 * t.rss.cpu_s() / n, 2),
            "peak_rss_mb": round(t.rss.peak / 2 ** 20)}


def spread(values: list[float]) -> float:
    return round(max(values) / min(values) - 1, 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--xls", type=float, default=0.0)
    ap.add_argument("--no-store", action="store_true")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)   # a single run, in its own process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.xls, not args.no_store)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:   # generated before any run is timed
        forms_dir(n, 1, args.xls)
    runs = []
    for r in range(args.rounds):
        for n in (sizes if r % 2 == 0 else sizes[::-1]):
            cmd = [sys.executable, __file__, "--one", str(n), "--xls", str(args.xls)] + ["--no-store"] * args.no_store
            row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            row["round"] = r + 1
            runs.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    by_size = {n: [x for x in runs if x["n"] == n] for n in sizes}
    med = {n: {k: statistics.median(x[k] for x in rows) for k in ("forms_per_s", "cpu_ms_per_form", "peak_rss_mb")}
           for n, rows in by_size.items()}
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "sizes": sizes, "rounds": args.rounds,
        "xls": args.xls, "store": not args.no_store, "runs": runs, "median_by_size": med,
        "spread": {k: spread([m[k] for m in med.values()]) for k in ("forms_per_s", "cpu_ms_per_form")},
    }
    (ROOT / "results").mkdir(exist_ok=True)
    name = f"{result['date'].replace(':', '')}-linear.json"
    (ROOT / "results" / name).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps({k: result[k] for k in ("median_by_size", "spread")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
