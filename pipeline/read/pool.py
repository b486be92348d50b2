"""Read files in worker processes with a memory cap and a per-file time limit.

A worker that dies (a parser abort, the memory cap) or overruns costs only the file it held: that
file is rejected with PARSER_KILLED or PARSE_TIMEOUT, a fresh worker takes its place and the run
goes on. Workers come from a fork server that has imported only the reader, so each start is
cheap and no worker carries pandas.
"""
from __future__ import annotations

import gc
import importlib
import multiprocessing as mp
import os
import selectors
import sys
import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..models import FileResult

try:
    import resource  # POSIX only: on Windows the workers run without a memory cap
except ImportError:  # pragma: no cover
    resource = None

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 1536


def _worker(conn, memory_mb: int, job: str) -> None:
    """Run job (a "module:function" name) on each task's arguments until told to stop. Whatever
    the job raises comes back as a Failure of plain strings: a result the parent can always
    unpickle."""
    # a parser that aborts prints a native backtrace: not for the reviewer's terminal
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    _die_with_parent()
    if memory_mb and resource is not None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    module, name = job.split(":")
    fn = getattr(importlib.import_module(module), name)

    # the reader makes thousands of short-lived objects per file and (nearly) no cycles: the
    # cyclic GC's passes over them cost a few percent, so collect only every few hundred files
    gc.freeze()
    gc.disable()
    done = 0
    while True:
        done += 1
        if done % 256 == 0:
            gc.collect()
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        idx, args = task
        try:
            result = fn(*args)
        except MemoryError:
            result = Failure("memory", "")
        except Exception as exc:  # a bug must cost one task, not the run
            result = Failure("error", traceback.format_exception_only(type(exc), exc)[-1].strip()[:300])
        try:
            conn.send((idx, result))
        except Exception as exc:  # a result that cannot be pickled
            conn.send((idx, Failure("error", f"结果无法传回：{type(exc).__name__}")))


class Failure(tuple):
    """(kind, detail): memory | error | killed | timeout | unpickle. Plain strings only."""

    def __new__(cls, kind: str, detail: str):
        return super().__new__(cls, (kind, detail))

    def __getnewargs__(self):   # tuple's own would pass one tuple to __new__ when unpickled
        return tuple(self)

    kind = property(lambda self: self[0])
    detail = property(lambda self: self[1])


def _die_with_parent() -> None:
    """On Linux, a worker is killed when the process that started it ends (a fork server's
    worker when the fork server ends, which it does when the run's process is gone), so a
    killed run leaves no worker reading on."""
    if sys.platform != "linux":
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def read_job(path: str, rel: str, packed: bool) -> FileResult:
    """One file read in a worker; packed: forms as FormPacks (what a run's parent needs)."""
    from .parse import read_file
    from .records import pack

    result = read_file(Path(path), rel)
    if packed:
        result.forms = [pack(f) for f in result.forms]
    return result


def read_failed(args: tuple, failure: Failure, memory_mb: int, timeout: float) -> FileResult:
    """The reason a file is rejected when its worker could not read it."""
    path, rel, _ = args
    kind, detail = failure
    if kind == "memory":
        return _failed(path, rel, "MEMORY_LIMIT", f"读取时内存超出上限（{memory_mb} MB），文件异常庞大或结构异常")
    if kind == "timeout":
        return _failed(path, rel, "PARSE_TIMEOUT", f"读取超过 {timeout:g} 秒仍未完成，已中止；文件可能异常")
    if kind == "killed":
        return _failed(path, rel, "PARSER_KILLED",
                       f"读取进程意外结束（{detail}），可能是内存超出上限或进程被系统终止；请确认文件能在 Excel/WPS 中正常打开后重新报送")
    if kind == "unpickle":
        return _failed(path, rel, "READ_ERROR", f"读取结果无法传回：{detail}")
    return _failed(path, rel, "READ_ERROR", f"读取时程序内部出错（{error_name(detail)}），该文件未能读取；"
                                            "这多半不是文件本身的问题，请把文件交技术人员排查")


def error_name(detail: str) -> str:
    """The exception's class from a worker's one-line report ("pkg.mod.KeyError: …" → KeyError):
    its message is English and may name the server's folders, so only the class is shown."""
    return detail.split(":", 1)[0].rsplit(".", 1)[-1].strip() or "未知错误"


def _failed(path, rel: str, code: str, message: str) -> FileResult:
    from .open import sha256_of

    try:
        sha = sha256_of(Path(path))
    except OSError:
        sha = ""
    return FileResult(rel, sha, "rejected", code, message)


def worker_context(quick: bool = False):
    """A fork server that has imported only the reader, where the platform has one (Linux,
    macOS); plain spawn elsewhere (Windows). SELFEVAL_START_METHOD=spawn forces the Windows
    path on any platform (CI exercises it so). quick (one file on the command line, `selfeval
    check`): a plain fork of this process while it runs no other thread, which starts in
    milliseconds where a fork server first starts and imports the reader (~0.3 s)."""
    forced = os.environ.get("SELFEVAL_START_METHOD", "")
    if forced == "spawn":
        return mp.get_context("spawn")
    if quick and "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["pipeline.read.parse", "pipeline.read.records"])
        return ctx
    return mp.get_context("spawn")


_STARTING = threading.RLock()   # _no_main_import swaps __main__'s attributes: one thread at a time


@contextmanager
def _no_main_import():
    """Workers need only the reader: keep multiprocessing from re-importing the caller's main
    module in each worker (pandas for a script, nothing at all for code run from stdin). Starts
    from several threads at once (the web desk's concurrent self-checks) take turns: one thread's
    restore must not land between another's swap and its start."""
    with _STARTING:
        with _main_neutral():
            yield


@contextmanager
def _main_neutral():
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
            if "__spec__" not in saved:
                main.__dict__.pop("__spec__", None)


class _Slot:
    """One worker and the tasks sent to it: the first is being worked on, the rest wait in its
    pipe so that the worker never idles while the parent handles a result."""

    def __init__(self, ctx, memory_mb: int, job: str):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb, job), daemon=True)
        with _no_main_import():
            self.proc.start()
        child.close()
        self.tasks: deque = deque()
        self.started = 0.0   # when the first task began (its predecessor's result came back)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:
            pass
        self.proc.join(timeout=5)
        self.conn.close()


def read_many(items: Iterable[tuple[Path, str]], jobs: int = 0, timeout: float = DEFAULT_TIMEOUT,
              memory_mb: int = DEFAULT_MEMORY_MB, quick: bool = False) -> list[FileResult]:
    """Read every (path, rel) pair; results in input order. quick: see worker_context."""
    items = list(items)
    results: list[FileResult | None] = [None] * len(items)
    for idx, res in read_iter(items, jobs=jobs, timeout=timeout, memory_mb=memory_mb, quick=quick):
        results[idx] = res
    return results  # type: ignore[return-value]


def read_iter(items: list[tuple[Path, str]], jobs: int = 0, timeout: float = DEFAULT_TIMEOUT,
              memory_mb: int = DEFAULT_MEMORY_MB, packed: bool = False, depth: int = 4,
              hold: Callable[[int], bool] | None = None,
              cancel: threading.Event | None = None, quick: bool = False) -> Iterator[tuple[int, FileResult]]:
    """(index, result) for every file read, as they come back. packed: forms come as FormPacks."""
    tasks = [(str(path), rel, packed) for path, rel in items]
    return run_iter("pipeline.read.pool:read_job", tasks,
                    lambda args, failure: read_failed(args, failure, memory_mb, timeout),
                    jobs=jobs, timeout=timeout, memory_mb=memory_mb, depth=depth, hold=hold,
                    cancel=cancel, quick=quick)


def run_iter(job: str, tasks: list[tuple], failed: Callable[[tuple, Failure], object], *,
             jobs: int = 0, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB,
             depth: int = 4, hold: Callable[[int], bool] | None = None,
             cancel: threading.Event | None = None, quick: bool = False) -> Iterator[tuple[int, object]]:
    """(index, result) for every task, as they come back: job(*task) run in contained workers.
    A task whose worker dies, overruns or fails gets failed(task, Failure) instead; a fresh
    worker takes the dead one's place. hold(index): true while that task should not be sent yet
    (the consumer is behind); time limits still run. cancel: stop early (the consumer failed)."""
    if not tasks:
        return
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    ctx = worker_context(quick)
    queue = deque(enumerate(tasks))
    slots = [_Slot(ctx, memory_mb, job) for _ in range(jobs)]
    ready: deque = deque()   # results waiting to be yielded

    def feed(slot: _Slot) -> None:
        while queue and len(slot.tasks) < depth and not (hold and hold(queue[0][0])):
            idx, args = queue.popleft()
            if not slot.tasks:
                slot.started = time.monotonic()
            slot.tasks.append((idx, args))
            slot.conn.send((idx, args))

    sel = selectors.DefaultSelector()   # one for the whole run: a new one per wait costs
    for i, s in enumerate(slots):
        sel.register(s.conn, selectors.EVENT_READ, i)

    def respawn(i: int) -> None:
        sel.unregister(slots[i].conn)
        slots[i].kill()
        slots[i] = _Slot(ctx, memory_mb, job)
        sel.register(slots[i].conn, selectors.EVENT_READ, i)

    def replace(i: int, failure: Failure) -> None:
        """The worker in slot i is gone: its current task fails, the rest go back in the queue."""
        slot = slots[i]
        idx, args = slot.tasks.popleft()
        ready.append((idx, failed(args, failure)))
        for queued in reversed(slot.tasks):
            queue.appendleft(queued)
        respawn(i)
        feed(slots[i])

    try:
        while (queue or any(s.tasks for s in slots)) and not (cancel and cancel.is_set()):
            for s in slots:
                feed(s)
            if not any(s.tasks for s in slots):  # held back with nothing in flight
                time.sleep(0.01)
                continue
            for key, _ in sel.select(timeout=0.25):
                i = key.data
                slot = slots[i]
                if not slot.tasks:  # readable with nothing asked: a worker that died idle
                    respawn(i)
                    continue
                try:
                    idx, res = slot.conn.recv()
                except (EOFError, OSError):
                    slot.proc.join(timeout=5)
                    code = slot.proc.exitcode
                    how = f"信号 {-code}" if code is not None and code < 0 else f"退出码 {code}"
                    replace(i, Failure("killed", how))
                    continue
                except Exception as exc:  # a result that cannot be unpickled costs its task only
                    idx, args = slot.tasks.popleft()
                    slot.started = time.monotonic()
                    ready.append((idx, failed(args, Failure("unpickle", f"{type(exc).__name__}: {exc}"[:300]))))
                    feed(slot)
                    continue
                _, args = slot.tasks.popleft()
                slot.started = time.monotonic()
                ready.append((idx, failed(args, res) if isinstance(res, Failure) else res))
                feed(slot)
            now = time.monotonic()
            for i, slot in enumerate(slots):
                if slot.tasks and now - slot.started > timeout:
                    replace(i, Failure("timeout", ""))
            while ready:
                yield ready.popleft()
    finally:
        sel.close()
        for s in slots:
            try:
                s.conn.send(None)
            except Exception:
                pass
        for s in slots:
            s.proc.join(timeout=2)
            if s.proc.is_alive():
                s.kill()
