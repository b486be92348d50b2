"""Is a run's cost linear in the number of forms? Runs of several sizes, interleaved, one speed
index measured during each.

    python bench/linear.py [--sizes 1000,10000,50000] [--rounds 2] [--xls 0.0] [--no-store]

This machine's speed drifts by a quarter or more between runs of the same size (the naive
baseline of bench/run.py read 6.5–12.2 forms/s in one afternoon), which hides a 15 % difference
between sizes. So each round runs every size, ascending in odd rounds and descending in even
ones (a slow drift then falls on both ends alike), and while each run goes a separate process does
a fixed piece of pure-Python work for 10 ms of every 500 ms and times it in its own CPU seconds:
the median is the machine's speed during that run, under the same load. A run's cost per form is
reported as measured (CPU ms of all processes a form, forms/s) and in units of that work
(CPU per form ÷ the index), the figure compared across sizes. Results: bench/results/*-linear.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from run import RssSampler, _recorder, forms_dir  # noqa: E402  (bench/run.py)

from pipeline.run import run  # noqa: E402


def _work() -> int:
    """The fixed piece of work: dictionary and string traffic, like the pipeline's."""
    d = {}
    for i in range(4000):
        d[str(i)] = i * 3
    return sum(len(k) for k in d)


def _speed(stop, out) -> None:
    samples = []
    while not stop.is_set():
        c = time.thread_time()
        _work()
        samples.append(time.thread_time() - c)
        stop.wait(0.5)
    out.put(samples)


def measure(n: int, xls: float, store: bool) -> dict:
    ctx = mp.get_context("fork")
    stop, q = ctx.Event(), ctx.Queue()
    inbox = forms_dir(n, 1, xls)
    args = argparse.Namespace(store="fresh" if store else None, n=n)
    probe = ctx.Process(target=_speed, args=(stop, q), daemon=True)
    probe.start()
    with RssSampler() as rss:
        t0 = time.perf_counter()
        recorder = _recorder(args, inbox, ROOT / "work" / f"out-{n}")
        report = run(inbox, ROOT / "work" / f"out-{n}", returns=False, on_chunk=recorder)
        if recorder:
            recorder.finish()
        total = time.perf_counter() - t0
    stop.set()
    samples = q.get()
    probe.join()
    cpu = rss.cpu_s() - rss.cpu.get(probe.pid, 0.0)   # the probe is one of the sampled processes
    index_ms = 1000 * statistics.median(samples)
    return {"n": n, "received": report.received, "total_s": round(total, 2),
            "forms_per_s": round(report.received / total, 1), "cpu_ms_per_form": round(1000 * cpu / n, 2),
            "speed_index_ms": round(index_ms, 3), "probe_samples": len(samples),
            "cost_per_form": round(1000 * cpu / n / index_ms, 3), "peak_rss_mb": round(rss.peak / 2 ** 20)}


def spread(values: list[float]) -> float:
    return round(max(values) / min(values) - 1, 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--xls", type=float, default=0.0)
    ap.add_argument("--no-store", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = []
    for r in range(args.rounds):
        for n in (sizes if r % 2 == 0 else sizes[::-1]):
            row = measure(n, args.xls, not args.no_store)
            row["round"] = r + 1
            runs.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    by_size = {n: [x for x in runs if x["n"] == n] for n in sizes}
    med = {n: {k: statistics.median(x[k] for x in rows) for k in ("forms_per_s", "cpu_ms_per_form", "cost_per_form")}
           for n, rows in by_size.items()}
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "sizes": sizes, "rounds": args.rounds,
        "xls": args.xls, "store": not args.no_store, "runs": runs, "median_by_size": med,
        "spread": {k: spread([m[k] for m in med.values()]) for k in ("forms_per_s", "cpu_ms_per_form", "cost_per_form")},
    }
    (ROOT / "results").mkdir(exist_ok=True)
    name = f"{result['date'].replace(':', '')}-linear.json"
    (ROOT / "results" / name).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps({k: result[k] for k in ("median_by_size", "spread")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
