"""Benchmark: the whole `selfeval run` on N generated forms, stage by stage, against two
yardsticks measured in the same run on the same files.

    python bench/run.py --n 10000 [--jobs 0] [--baseline 300] [--returns] [--store] [--xls 0.03]

Forms are generated once per (n, seed) into bench/work/forms-…/forms/ (random drift combinations,
a share with planted discrepancies, a share of .xls/.ods when LibreOffice is present). The naive
baseline, on a sample of the same .xlsx files, is what a plain script does: openpyxl's full load
of each form and one sum checked in a loop. The floor is the least any reader must do: as many
processes as the run uses open every file and read its first sheet with python-calamine, nothing
else. Results go to bench/results/*.json: forms/s, the ratio to the baseline, the multiple of the
floor, stage seconds, peak memory, CPU seconds, and with --returns the CPU per returned copy.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from formkit.formset import generate  # noqa: E402
from pipeline.run import run  # noqa: E402


class RssSampler:
    """Peak memory (PSS) of this process and all its descendants together, and the CPU seconds
    each of them used (the last reading per process), sampled every 50 ms."""

    def __init__(self):
        self.peak = 0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def cpu_s(self) -> float:
        """CPU seconds of all processes seen."""
        return sum(self.cpu.values())

    def _loop(self):
        me = os.getpid()
        while not self._stop.is_set():
            tree = _tree(me)
            self.peak = max(self.peak, sum(_pss(pid) for pid in tree))
            for pid in tree:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu(pid))
            time.sleep(0.05)


def _tree(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    parents[int(d)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier += kids
    return tree


def _cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _pss(pid: int) -> int:
    """Proportional set size: resident memory with pages shared between processes (the forked
    summary writer, the fork server's children) counted once across them, not once per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def baseline(files: list[Path]) -> float:
    """Forms per second for openpyxl's full load plus one sum checked in a plain loop."""
    from openpyxl import load_workbook

    t0 = time.perf_counter()
    for path in files:
        wb = load_workbook(path)
        done = False
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                nums = [v for v in row if isinstance(v, (int, float))]
                if len(nums) >= 6:
                    _ = abs(nums[0] - sum(nums[1:6])) < 0.01
                    done = True
                    break
            if done:
                break
    return len(files) / (time.perf_counter() - t0)


def forms_dir(n: int, seed: int, xls: float) -> Path:
    """The inbox of N forms (the marker that says it is complete lives outside it)."""
    d = ROOT / "work" / f"forms-{n}-{seed}-{xls}"
    forms = d / "forms"
    if (d / ".done").exists() and not forms.exists():   # the earlier layout: forms beside the marker
        forms.mkdir()
        for p in d.iterdir():
            if p.is_file() and p.name != ".done":
                p.rename(forms / p.name)
    if not (d / ".done").exists():
        if d.exists():
            shutil.rmtree(d)
        forms.mkdir(parents=True)
        t0 = time.perf_counter()
        generate(n, seed, forms, xls if shutil.which("soffice") else 0.0, jobs=os.cpu_count() or 1)
        (d / ".done").write_text(f"{time.perf_counter() - t0:.1f}")
    return forms


def _first_sheet(path: str) -> int:
    from python_calamine import CalamineWorkbook

    return len(CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python())


def floor(files: list[Path], jobs: int) -> float:
    """Seconds for `jobs` processes to open every file and read its first sheet with calamine."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    with ctx.Pool(jobs) as pool:
        pool.map(_first_sheet, [str(files[0])])   # the processes started before the clock
        t0 = time.perf_counter()
        pool.map(_first_sheet, [str(p) for p in files], chunksize=16)
        return time.perf_counter() - t0


def _recorder(args, inbox: Path, out: Path):
    """The collection recorder (pipeline/collect.py) on the chosen store, or None."""
    if args.store is None:
        return None
    from pipeline.check.ruleset import load_pack
    from pipeline.collect import Recorder
    from pipeline.store import Store

    target = args.store
    if target == "fresh":
        db = ROOT / "work" / f"store-n{args.n}.db"
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)
        shutil.rmtree(db.with_suffix(".files"), ignore_errors=True)
        target = str(db)
    return Recorder(Store.open(target), inbox, out, pack=load_pack())


def timed_run(args, inbox: Path, out: Path) -> argparse.Namespace:
    """The measured part: the store opened, `selfeval run`, the store's recording finished, with
    every process's memory and CPU sampled, and the CPU of all of them at the returns' start and
    end (marks). args: n, jobs, returns, store, as main() takes them."""
    marks: dict[str, float] = {}

    def on_stage(name: str, when: str) -> None:
        if name == "returns":
            marks[when] = rss.cpu_s()

    with RssSampler() as rss:
        t0, c0 = time.perf_counter(), time.process_time()
        recorder = _recorder(args, inbox, out)
        report = run(inbox, out, jobs=args.jobs, returns=args.returns, on_chunk=recorder, on_stage=on_stage)
        store_tail = time.perf_counter()
        recorded = recorder.finish() if recorder else None
        store_tail = time.perf_counter() - store_tail
        total = time.perf_counter() - t0
        parent_cpu = time.process_time() - c0
    return argparse.Namespace(rss=rss, report=report, recorded=recorded, total=total,
                              store_tail=store_tail, parent_cpu=parent_cpu, marks=marks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--baseline", type=int, default=300, help="files the baseline reads (a sample)")
    ap.add_argument("--returns", action="store_true",
                    help="the run writes the marked-up returns too: their seconds and CPU per copy")
    ap.add_argument("--xls", type=float, default=0.03)
    ap.add_argument("--store", nargs="?", const="fresh", default=None,
                    help="also record the run into a collection store: a path or URL, or (no value) "
                         "a fresh SQLite file bench/work/store-nN.db; its time counts in total_s")
    args = ap.parse_args()
    inbox = forms_dir(args.n, args.seed, args.xls)
    out = ROOT / "work" / f"out-{args.n}"
    timed = timed_run(args, inbox, out)
    rss, report, recorded, total, store_tail, parent_cpu, marks = (
        timed.rss, timed.report, timed.recorded, timed.total, timed.store_tail, timed.parent_cpu, timed.marks)
    jobs = args.jobs or os.cpu_count() or 1
    floor_s = floor(sorted(inbox.iterdir()), jobs)
    sample = sorted(p for p in inbox.iterdir() if p.suffix == ".xlsx")[: args.baseline]
    base = baseline(sample)
    t = report.timings
    ours = report.received / total
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(), "n": args.n,
        "jobs": args.jobs or os.cpu_count(), "accepted": report.accepted, "units": report.units,
        "findings": len(report.findings), "total_s": round(total, 2), "forms_per_s": round(ours, 1),
        "stages_s": {k: round(v, 3) for k, v in t.items()},
        "peak_rss_mb": round(rss.peak / 2 ** 20),
        "cpu_s": {"parent": round(parent_cpu, 1), "all": round(rss.cpu_s(), 1)},
        "baseline_files": len(sample),
        "baseline_forms_per_s": round(base, 1), "ratio": round(ours / base, 1),
        "floor_s": round(floor_s, 2), "floor_multiple": round(total / floor_s, 1),
    }
    if args.returns:
        cpu = marks.get("end", 0.0) - marks.get("start", 0.0)
        result["returns"] = {"copies": report.returns_written, "s": round(t.get("returns", 0.0), 2),
                             "cpu_s": round(cpu, 1),
                             "cpu_ms_per_copy": round(1000 * cpu / max(report.returns_written, 1), 1)}
    if recorded is not None:
        result["store"] = {"target": args.store, "versions": recorded.versions, "files": recorded.files,
                           "wait_after_run_s": round(store_tail, 2),
                           "recorder_cpu_s": round(recorded.cpu_s, 2)}
    (ROOT / "results").mkdir(exist_ok=True)
    name = f"{result['date'].replace(':', '')}-n{args.n}{'-store' if args.store else ''}.json"
    (ROOT / "results" / name).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
