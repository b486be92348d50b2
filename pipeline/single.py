"""One file through the same guarded reader and rule pack as a run, without writing outputs."""
from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .models import FileResult
from .read.pool import read_iter, read_many
from .check.ruleset import load_pack

if TYPE_CHECKING:
    from .run import RunReport


def read_one(path: Path) -> FileResult:
    return read_many([(path, path.name)], jobs=1, quick=True)[0]


def _load_engine() -> None:
    from . import run  # noqa: F401  the rule engine (numpy) and RunReport


class _Beside:
    """read_iter's hold that never holds a task back: once the reader's worker process is started
    it runs fn in a thread, so that on two cores the rule engine's imports (~0.1 s) overlap the
    reading instead of preceding it. Never before the start: with a second thread running, the
    reader would not take its quick fork."""

    def __init__(self, fn):
        self.fn = fn
        self.thread: threading.Thread | None = None

    def __call__(self, idx: int) -> bool:
        if self.thread is None and mp.active_children():
            self.thread = threading.Thread(target=self._run, name="selfeval-engine-imports")
            self.thread.start()
        return False

    def _run(self) -> None:
        try:
            self.fn()
        except BaseException:  # noqa: BLE001 — the main thread imports it again and says why
            pass

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def check_file(path: Path, rules: str | None = None, tolerance: str | None = None) -> RunReport:
    pack = load_pack(rules, tolerance)
    beside = _Beside(_load_engine)
    try:
        result = None
        for _, result in read_iter([(path, path.name)], jobs=1, quick=True, hold=beside):
            pass
    finally:
        beside.join()
    from .check import frames as frames_mod
    from .check.validate import validate
    from .run import RunReport

    frames = frames_mod.build(result.forms)
    # a rejected file has no form to check: its verdict is the rejection, never a crash
    findings = validate(frames, pack) if result.forms else []
    return RunReport(path.parent, path.parent, pack, [result], findings, frames.unit_records,
                     dt.datetime.now(), frames=frames)
