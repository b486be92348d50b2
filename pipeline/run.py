"""The batch: discover every input, read it in worker processes, and validate and write the units
in chunks as they arrive; then the marked-up copies (in the same contained workers), the manifest,
总览, the totals and packing summary.xlsx. Every output goes to OUT's staging folder and the set
is swapped in whole at the end (write/outset.py)."""
from __future__ import annotations

import datetime as dt
import gc
import time
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .check import frames as frames_mod
from .errors import InboxError, OutputError, RunIncomplete, os_reason
from .models import BLOCK_FIELDS, FINDING_COLUMNS, FileResult, Finding
from .read.discover import Entry, discover
from .read.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Failure, error_name, read_iter, run_iter
from .read.records import VALUE_COLUMNS, VALUE_SAFE
from .check.ruleset import ALL_FIELDS, RulePack, load_pack
from .check.validate import validate
from .write.exports import MANIFEST_COLUMNS, CsvStream
from .write.names import ReturnNames
from .write.outset import OutputSet

CHUNK = 2500        # units validated and written together, at most
MIN_CHUNK = 500     # ... at least (a tenth of a small run), unless the run is ending; smaller
                    # chunks while the readers keep up: at 10,000 forms peak 537–552 → 413 MB, no slower
BACKLOG = 3000      # files read ahead of the one the run waits for (~80 KB each once unpickled): when
                    # the parent lags (a store slow to commit) 6,000 of them held 700+ MB at 10,000 forms
DEPTH = 64          # files waiting in each worker's pipe
# What a run keeps of each unit once its chunk is written: for 汇总表, 总览 and the caller.
UNIT_KEYS = (("uid", "file", "sheet", "unit", "year", "f_grade")
             + tuple(f"{b}@derived" for b in BLOCK_FIELDS) + tuple(ALL_FIELDS))


@dataclass
class RunReport:
    inbox: Path
    out: Path
    pack: RulePack
    results: list[FileResult]
    findings: list[Finding]
    unit_rows: list[dict]       # one slim row per unit (UNIT_KEYS): what the summary's 汇总表 needs
    started: dt.datetime
    timings: dict[str, float] = field(default_factory=dict)
    returns_written: int = 0
    returns_enabled: bool = True   # summary.xlsx links to returns/ only when they are written
    frames: frames_mod.Frames | None = None   # all units' frames, kept only by check_file
    collection: object = None   # the store's RunView of the run (collect/recorder.py), with a store

    @property
    def received(self) -> int:
        return len(self.results)

    @property
    def accepted(self) -> int:
        return sum(r.status == "accepted" for r in self.results)

    @property
    def rejected(self) -> int:
        return sum(r.status == "rejected" for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.status == "skipped" for r in self.results)

    @property
    def return_failures(self) -> int:
        return sum(bool(r.return_error) for r in self.results)

    @property
    def units(self) -> int:
        return len(self.unit_rows)

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)


def check_paths(inbox: Path, out: Path) -> tuple[Path, Path]:
    """A run never writes under INBOX nor reads its own outputs: OUT may not be INBOX, lie
    inside it or hold it."""
    if not inbox.exists():
        raise InboxError(f"找不到输入文件夹：{inbox}")
    if not inbox.is_dir():
        raise InboxError(f"{inbox} 是一个文件，而输入应为存放报送文件的文件夹；请指定它所在的文件夹")
    i, o = inbox.resolve(), out.resolve()
    if i == o:
        raise OutputError(f"输出文件夹不能就是输入文件夹（{inbox}）：请另指定一个文件夹")
    if o.is_relative_to(i):
        raise OutputError(f"输出文件夹 {out} 在输入文件夹 {inbox} 之内：本工具从不在输入文件夹中写入，请指定输入文件夹以外的位置")
    if i.is_relative_to(o):
        raise OutputError(f"输入文件夹 {inbox} 在输出文件夹 {out} 之内：重新汇总时会替换其中的文件；请先把要审核的文件复制到别处")
    return inbox, out


@contextmanager
def _stage(timings: dict, name: str, on_stage):
    if on_stage:
        on_stage(name, "start")
    t = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
    if on_stage:
        on_stage(name, "end")


def run(*args, **kwargs) -> RunReport:
    """The batch. Python's cyclic GC is paused meanwhile: the run builds millions of small
    objects and no cycles, and full collections over them cost seconds at 10,000 forms."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(*args, **kwargs)
    finally:
        if was_enabled:
            gc.enable()


def _run(inbox: Path, out: Path, *, jobs: int = 0, rules: str | None = None,
         tolerance: str | None = None, returns: bool = True, every_return: bool = False,
         timeout: float = DEFAULT_TIMEOUT,
         memory_mb: int = DEFAULT_MEMORY_MB, on_file: Callable | None = None,
         on_stage: Callable | None = None, on_discovered: Callable | None = None,
         on_chunk: Callable | None = None, summary: bool = True,
         chunk_size: int = CHUNK, min_chunk: int | None = None, backlog: int = BACKLOG) -> RunReport:
    """Units are validated and written in chunks while the workers read on, so the parent holds
    one chunk of records at a time, never the whole run, and little is left for the end: 总览,
    the totals, packing summary.xlsx. What the run keeps (findings, one slim row per unit, the
    files' outcomes) is small. on_chunk(frames, findings, unit_rows, files) sees each chunk once it
    is written (the store records versions there)."""
    inbox, out = check_paths(Path(inbox), Path(out))
    pack = load_pack(rules, tolerance)
    started = dt.datetime.now()
    timings: dict[str, float] = {}
    kinds: dict[str, float] = {}
    items = discover(inbox)
    if on_discovered:
        on_discovered(len(items))
    report = RunReport(inbox, out, pack, [], [], [], started, timings, returns_enabled=returns)
    try:
        with OutputSet(out) as outset, ExitStack() as stack:
            _batch(report, items, outset, stack, kinds, jobs=jobs, timeout=timeout,
                   memory_mb=memory_mb, returns=returns, every_return=every_return,
                   on_file=on_file, on_stage=on_stage, on_chunk=on_chunk, write_summary=summary,
                   chunk_size=chunk_size,
                   min_chunk=min_chunk, backlog=backlog)
    except OSError as exc:   # the inputs are read in workers: an OSError here is OUT's
        raise OutputError(f"无法写入输出文件夹 {out}：{os_reason(exc)}（本次结果未写出，原有结果保持不变）") from None
    return report


def _batch(report: RunReport, items: list[Entry], outset: OutputSet, stack: ExitStack, kinds: dict,
           *, jobs, timeout, memory_mb, returns, every_return, on_file, on_stage, on_chunk,
           write_summary, chunk_size, min_chunk, backlog) -> None:
    timings, pack = report.timings, report.pack
    values = CsvStream(outset.path("values.csv"), VALUE_COLUMNS, safe=VALUE_SAFE)
    stack.callback(values.close)
    findings_csv = CsvStream(outset.path("findings.csv"), FINDING_COLUMNS)
    stack.callback(findings_csv.close)
    names = ReturnNames()
    # summary=False (the web desk's self-check): no summary.xlsx, the CSVs and manifest only
    if write_summary:
        from .write.summary import SummaryWriter
    summary = SummaryWriter(outset.path("summary.xlsx"), names.link if returns else None,
                            tmpdir=outset.stage) if write_summary else _NoSummary()
    seen: dict = {}           # the run-wide rules' memory of earlier units (duplicates)
    # the collection's store, when on_chunk is its recorder: asked before each chunk's rules
    # (versions, last year, 说明) and, once every chunk is recorded, for the run's view of it
    prepare = getattr(on_chunk, "prepare", None)
    chunk: list = []
    arrived: list = []        # files read since the last chunk

    def flush() -> None:
        timings["chunks"] = timings.get("chunks", 0) + 1
        found, units, frames = [], [], None
        if chunk:   # files may arrive with no form at all (rejected, skipped)
            uid0 = len(report.unit_rows)
            with _stage(timings, "chunk_frames", None):
                frames = frames_mod.build(chunk, uid0)
            context = prepare(frames, list(arrived)) if prepare else None
            with _stage(timings, "chunk_rules", None):
                found = validate(frames, pack, kinds, seen=seen, context=context)
            units = [{k: u.get(k) for k in UNIT_KEYS} for u in frames.unit_records]
            with _stage(timings, "chunk_exports", None):
                values.text(frames.values)
                findings_csv.rows(f.row() for f in found)
            with _stage(timings, "chunk_summary", None):
                summary.chunk(frames, found, units)
        if on_chunk:
            on_chunk(frames, found, units, list(arrived))
        report.findings.extend(found)
        report.unit_rows.extend(units)
        chunk.clear()
        arrived.clear()

    if min_chunk is None:
        min_chunk = min(chunk_size, MIN_CHUNK, max(100, len(items) // 10))
    t_read = time.perf_counter()
    stream = _InOrder(items, backlog, timings, jobs=jobs, timeout=timeout, memory_mb=memory_mb)
    for result in stream:
        report.results.append(result)
        names.add(result)
        arrived.append(result)
        chunk.extend(result.forms)
        result.forms = []   # the packs now live in the chunk only
        if on_file:
            on_file(result)
        # a full chunk, or enough for one while the next file is still being read: the
        # parent works instead of waiting, and little is left for it once reading ends
        if len(chunk) >= chunk_size or (len(chunk) >= min_chunk and not stream.ready()):
            flush()
    if chunk or arrived:
        flush()
    timings["read"] = time.perf_counter() - t_read   # reading, with the chunks' work overlapped
    timings["tail_after_reading"] = time.perf_counter() - timings.pop("reader_done_at", t_read)
    # worker-side seconds, summed over files (they overlap across workers)
    timings["worker_guard_cpu"] = sum(r.guard_s for r in report.results)
    timings["worker_read_cpu"] = sum(r.read_s for r in report.results)
    timings["chunk_pandera"] = kinds.get("pandera", 0.0)
    timings["chunk_narrative"] = kinds.get("narrative", 0.0)
    timings["chunk_rules"] = timings.get("chunk_rules", 0.0) - timings["chunk_narrative"]
    if len(report.results) != len(items) or \
            report.received != report.accepted + report.rejected + report.skipped:
        raise RunIncomplete("收到的文件数不等于接收、拒收与跳过之和，本次汇总作废（原有结果保持不变）")
    if returns:
        for r in report.results:
            r.return_name = names.names.get(r.file, "")
        with _stage(timings, "returns", on_stage):
            report.returns_written = _write_returns(report, outset, every_return, jobs=jobs,
                                                    timeout=timeout, memory_mb=memory_mb)
    if hasattr(on_chunk, "settle"):
        with _stage(timings, "store_view", None):
            report.collection = on_chunk.settle()
        _write_changes(outset, report.collection.changes)
    with _stage(timings, "summary", on_stage):
        manifest = CsvStream(outset.path("manifest.csv"), MANIFEST_COLUMNS)
        manifest.rows([r.file, r.sha256, r.status, r.units, r.error, r.code,
                       getattr(r, "template", ""), r.return_name, r.return_error] for r in report.results)
        manifest.close()
        for out_csv in (values, findings_csv):
            out_csv.close()
        summary.finish(report)
    outset.commit()


def _write_changes(outset: OutputSet, rows: list[dict]) -> None:
    """changes.csv: each touched unit-year's current version against the one before it."""
    from .collect.diffs import CHANGE_COLUMNS

    out = CsvStream(outset.path("changes.csv"), CHANGE_COLUMNS)
    out.rows([r[c] for c in CHANGE_COLUMNS] for r in rows)
    out.close()


class _NoSummary:
    def chunk(self, *args) -> None:
        pass

    def finish(self, report) -> None:
        pass


def _write_returns(report: RunReport, outset: OutputSet, every: bool, **contain) -> int:
    """The marked-up copies, each in a contained worker; one that fails is listed with its
    reason (manifest.csv's return_error, 提交情况) and costs nothing else."""
    from .write.returns import return_tasks

    due = return_tasks(report, every)   # (result, task)
    for r in report.results:
        r.return_name = ""   # set again for the copies actually written
    folder = str(outset.path("returns"))

    def failed(args: tuple, failure: Failure) -> Failure:
        return failure

    written = 0
    for i, res in run_iter("pipeline.write.returns:return_job", [(*t, folder) for _, t in due],
                           failed, **contain):
        r = due[i][0]
        if isinstance(res, Failure):
            r.return_error = _return_reason(res)
        else:
            r.return_name = res
            written += 1
    return written


def _return_reason(failure: Failure) -> str:
    kind, detail = failure
    if kind == "error" and "ReturnRefused: " in detail:
        return detail.split("ReturnRefused: ", 1)[1]
    return {"memory": "生成标注表时内存超出上限，未生成", "timeout": "生成标注表超时，未生成",
            "killed": f"生成标注表的进程意外结束（{detail}），未生成",
            "unpickle": "标注表结果无法传回，未生成"}.get(kind) or f"生成标注表时程序内部出错（{error_name(detail)}），未生成"


class _InOrder:
    """Every item's result in input order, read by a thread that keeps the workers fed while the
    caller validates and writes. It sends no file more than backlog ahead of the one the caller
    waits for, which bounds what waits in memory (and the needed file is always sent).
    timings["read_wait"]: seconds the caller spent waiting for a result."""

    def __init__(self, items: list[Entry], backlog: int, timings: dict, **read_args):
        self.items, self.backlog, self.timings, self.read_args = items, backlog, timings, read_args
        self.buf: dict[int, FileResult] = {}
        self.pending = []
        for i, e in enumerate(items):   # entries decided while walking need no reader
            if e.result is not None:
                e.result.path = str(e.path)
                self.buf[i] = e.result
            else:
                self.pending.append(i)
        self.cv = threading.Condition()
        self.next = 0
        self.done = False
        self.error: BaseException | None = None
        self.cancel = threading.Event()

    def ready(self) -> bool:
        """Whether the next result is already here (the caller need not wait for it)."""
        return self.next in self.buf

    def _reader(self) -> None:
        pending, buf, cv = self.pending, self.buf, self.cv
        try:
            for j, res in read_iter([(self.items[i].path, self.items[i].rel) for i in pending],
                                    packed=True, depth=DEPTH,
                                    cancel=self.cancel,
                                    hold=lambda j: pending[j] > self.next + self.backlog, **self.read_args):
                res.path = str(self.items[pending[j]].path)
                with cv:
                    buf[pending[j]] = res
                    cv.notify()
        except BaseException as exc:  # surfaces in the caller's thread
            self.error = exc
        finally:
            self.timings["reader_thread_cpu"] = time.thread_time()
            self.timings["reader_done_at"] = time.perf_counter()
            with cv:
                self.done = True
                cv.notify()

    def __iter__(self) -> Iterator[FileResult]:
        thread = threading.Thread(target=self._reader, name="selfeval-reader", daemon=True)
        thread.start()
        timings = self.timings
        try:
            for i in range(len(self.items)):
                with self.cv:
                    self.next = i
                    if i not in self.buf:
                        t = time.perf_counter()
                        while i not in self.buf and not self.done:
                            self.cv.wait()
                        timings["read_wait"] = timings.get("read_wait", 0.0) + time.perf_counter() - t
                    res = self.buf.pop(i, None)
                if res is None:
                    if self.error is not None:
                        raise self.error
                    raise RunIncomplete(f"文件 {self.items[i].rel} 没有读取结果，本次汇总作废（原有结果保持不变）")
                yield res
        finally:
            self.cancel.set()
            thread.join()
