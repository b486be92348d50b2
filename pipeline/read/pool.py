"""Read files in worker processes with a memory cap and a per-file time limit.

A worker that dies (a parser abort, the memory cap) or overruns costs only the file it held: that
file is rejected with PARSER_KILLED or PARSE_TIMEOUT, a fresh worker takes its place and the run
goes on. Workers come from a fork server that has imported only the reader, so each start is
cheap and no worker carries pandas.
"""
from __future__ import annotations

import gc
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


def _worker(conn, memory_mb: int, packed: bool) -> None:
    # a parser that aborts prints a native backtrace: not for the reviewer's terminal
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    if memory_mb and resource is not None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from .parse import read_file
    from .records import pack

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
        idx, path, rel = task
        try:
            result = read_file(Path(path), rel)
            if packed:  # a run's parent needs only the records: cheaper to send and to keep
                result.forms = [pack(f) for f in result.forms]
        except MemoryError:
            result = _failed(path, rel, "MEMORY_LIMIT", f"读取时内存超出上限（{memory_mb} MB），疑似异常文件")
        except Exception as exc:  # a reader bug must cost one file, not the run
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            result = _failed(path, rel, "READ_ERROR", f"读取出错：{detail[:300]}")
        conn.send((idx, result))


def _failed(path, rel: str, code: str, message: str) -> FileResult:
    from .open import sha256_of

    try:
        sha = sha256_of(Path(path))
    except OSError:
        sha = ""
    return FileResult(rel, sha, "rejected", code, message)


def worker_context():
    """A fork server that has imported only the reader, where the platform has one (Linux,
    macOS); plain spawn elsewhere (Windows). SELFEVAL_START_METHOD=spawn forces the Windows
    path on any platform (CI exercises it so)."""
    forced = os.environ.get("SELFEVAL_START_METHOD", "")
    if forced == "spawn":
        return mp.get_context("spawn")
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["pipeline.read.parse", "pipeline.read.records"])
        return ctx
    return mp.get_context("spawn")


@contextmanager
def _no_main_import():
    """Workers need only the reader: keep multiprocessing from re-importing the caller's main
    module in each worker (pandas for a script, nothing at all for code run from stdin)."""
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
    """One worker and the tasks sent to it: the first is being read, the rest wait in its pipe
    so that the worker never idles while the parent handles a result."""

    def __init__(self, ctx, memory_mb: int, packed: bool):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb, packed), daemon=True)
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
              memory_mb: int = DEFAULT_MEMORY_MB) -> list[FileResult]:
    """Read every (path, rel) pair; results in input order."""
    items = list(items)
    results: list[FileResult | None] = [None] * len(items)
    for idx, res in read_iter(items, jobs=jobs, timeout=timeout, memory_mb=memory_mb):
        results[idx] = res
    return results  # type: ignore[return-value]


def read_iter(items: list[tuple[Path, str]], jobs: int = 0, timeout: float = DEFAULT_TIMEOUT,
              memory_mb: int = DEFAULT_MEMORY_MB, packed: bool = False, depth: int = 4,
              hold: Callable[[int], bool] | None = None,
              cancel: threading.Event | None = None) -> Iterator[tuple[int, FileResult]]:
    """(index, result) for every item, as they come back. packed: forms come as FormPacks.
    hold(index): true while that item should not be sent yet (the consumer is behind); time
    limits still run. cancel: stop early (the consumer has failed)."""
    if not items:
        return
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(items)))
    ctx = worker_context()
    queue = deque(enumerate(items))
    slots = [_Slot(ctx, memory_mb, packed) for _ in range(jobs)]
    ready: deque = deque()   # results waiting to be yielded

    def feed(slot: _Slot) -> None:
        while queue and len(slot.tasks) < depth and not (hold and hold(queue[0][0])):
            idx, (path, rel) = queue.popleft()
            task = (idx, str(path), rel)
            if not slot.tasks:
                slot.started = time.monotonic()
            slot.tasks.append(task)
            slot.conn.send(task)

    sel = selectors.DefaultSelector()   # one for the whole read: a new one per wait costs
    for i, s in enumerate(slots):
        sel.register(s.conn, selectors.EVENT_READ, i)

    def respawn(i: int) -> None:
        sel.unregister(slots[i].conn)
        slots[i].kill()
        slots[i] = _Slot(ctx, memory_mb, packed)
        sel.register(slots[i].conn, selectors.EVENT_READ, i)

    def replace(i: int, code: str, message: str) -> None:
        """The worker in slot i is gone: its current file gets the reason, the rest go back."""
        slot = slots[i]
        idx, path, rel = slot.tasks.popleft()
        ready.append((idx, _failed(path, rel, code, message)))
        for t_idx, t_path, t_rel in reversed(slot.tasks):
            queue.appendleft((t_idx, (Path(t_path), t_rel)))
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
                    replace(i, "PARSER_KILLED", f"读取程序异常终止（{how}，多为内存超限），文件可能损坏或为恶意构造")
                    continue
                except Exception as exc:  # a result that cannot be unpickled costs its file only
                    idx, path, rel = slot.tasks.popleft()
                    slot.started = time.monotonic()
                    ready.append((idx, _failed(path, rel, "READ_ERROR",
                                               f"读取结果无法传回：{type(exc).__name__}: {exc}"[:300])))
                    feed(slot)
                    continue
                slot.tasks.popleft()
                slot.started = time.monotonic()
                ready.append((idx, res))
                feed(slot)
            now = time.monotonic()
            for i, slot in enumerate(slots):
                if slot.tasks and now - slot.started > timeout:
                    replace(i, "PARSE_TIMEOUT", f"读取超过 {timeout:g} 秒仍未完成，已中止；文件可能异常")
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
