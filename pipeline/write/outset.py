"""OUT as one consistent set: a run's outputs appear together or not at all.

A run holds OUT's lock file for its whole length (a second run into the same OUT is refused),
writes every output into the staging folder OUT/.selfeval-new/ (xlsxwriter's temporary files
too), and only when all of them are complete swaps them in: it writes a journal, moves the
previous outputs aside, moves the new ones in, and removes the old ones and the journal. A run
killed before the journal leaves the previous set untouched; one killed during the swap is
completed by the next run's start (recover), which also clears what killed runs left behind.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ..errors import OutputError, OutputLocked, os_reason

OUTPUTS = ("values.csv", "findings.csv", "manifest.csv", "changes.csv", "summary.xlsx", "returns")
STAGE, OLD, JOURNAL, LOCK = ".selfeval-new", ".selfeval-old", ".selfeval-commit.json", ".selfeval.lock"
_ORPHAN = re.compile(r"^\.(?:.+\.\d+|~\d+-[0-9a-f]{8})\.tmp$")   # atomic_path temporaries of killed runs


class OutputSet:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.stage = self.out / STAGE
        self.lock = None   # filelock.FileLock, imported when a run writes (not by `check`)

    def __enter__(self) -> "OutputSet":
        from filelock import FileLock, Timeout

        if self.out.exists() and not self.out.is_dir():
            raise OutputError(f"输出位置 {self.out} 是一个文件，不是文件夹；请指定一个文件夹")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.lock = FileLock(str(self.out / LOCK), timeout=0)
            self.lock.acquire()
        except Timeout:
            raise OutputLocked(f"另一个汇总正在写入输出文件夹 {self.out}（锁文件 {LOCK}）；请等它结束后再运行，"
                               "或换一个输出文件夹") from None
        except OSError as exc:
            raise OutputError(f"无法写入输出文件夹 {self.out}：{os_reason(exc)}") from None
        try:
            recover(self.out)
            self.stage.mkdir()
        except OSError as exc:
            self.lock.release()
            raise OutputError(f"无法写入输出文件夹 {self.out}：{os_reason(exc)}") from None
        return self

    def path(self, name: str) -> Path:
        return self.stage / name

    def commit(self) -> None:
        """Swap the staged outputs in: every name of OUTPUTS is then the new run's (a name the
        new run did not write, returns/ of a run without returns, is gone)."""
        new = [n for n in OUTPUTS if (self.stage / n).exists()]
        tmp = self.out / (JOURNAL + ".tmp")
        tmp.write_text(json.dumps({"new": new}), encoding="utf-8")
        os.replace(tmp, self.out / JOURNAL)
        _swap(self.out, new)

    def __exit__(self, *exc) -> None:
        try:
            if not (self.out / JOURNAL).exists():
                shutil.rmtree(self.stage, ignore_errors=True)
        finally:
            if self.lock is not None:
                self.lock.release()


def recover(out: Path) -> None:
    """Finish a swap a killed run had begun, and clear what killed runs left behind."""
    journal = out / JOURNAL
    if journal.exists():
        try:
            new = json.loads(journal.read_text(encoding="utf-8"))["new"]
        except (ValueError, KeyError, TypeError):
            new = None
        if new is not None:
            _swap(out, new)
        else:   # a journal that cannot be read was never complete: the swap had not begun
            journal.unlink()
    for name in (STAGE, OLD):
        shutil.rmtree(out / name, ignore_errors=True)
    (out / (JOURNAL + ".tmp")).unlink(missing_ok=True)
    for p in out.iterdir():
        if _ORPHAN.match(p.name) and p.is_file():
            p.unlink()


def _swap(out: Path, new: list[str]) -> None:
    """Idempotent: run again after any crash inside it, it ends in the same state."""
    stage, old = out / STAGE, out / OLD
    old.mkdir(exist_ok=True)
    for name in OUTPUTS:   # what is in OUT now is the previous set, unless already moved in
        cur = out / name
        if (cur.exists() or cur.is_symlink()) and (name not in new or (stage / name).exists()):
            target = old / name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(cur, target)
    for name in new:
        if (stage / name).exists():
            os.replace(stage / name, out / name)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)
    (out / JOURNAL).unlink(missing_ok=True)
