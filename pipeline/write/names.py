"""Where each accepted file's marked-up copy goes, and the link that opens it at a cell.

A copy keeps its file's relative path with .xlsx, each part made safe first: characters that
break a link or a Windows path (\\ # % ? * : " < > | [ ] and control characters) become _, a
part too long for a file system is shortened (a digest keeps it distinct), and a name already
taken by another copy or folder gets （2）, （3）… So every link stays inside returns/.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

_UNSAFE = re.compile(r'[\\#%?*:"<>|\[\]\x00-\x1f\x7f]')
MAX_PART = 180   # bytes of one name: room below 255 for the suffix and a temporary name


def safe_part(part: str) -> str:
    part = _UNSAFE.sub("_", part).strip(" .") or "_"
    if len(part.encode("utf-8")) > MAX_PART:
        digest = hashlib.sha1(part.encode("utf-8")).hexdigest()[:8]
        cut = part.encode("utf-8")[:MAX_PART - 10].decode("utf-8", "ignore")
        part = f"{cut}~{digest}"
    return part


class ReturnNames:
    """rel → path under OUT/returns/. Files are added in the run's order, so a name never
    depends on files not yet read."""

    def __init__(self):
        self.names: dict[str, str] = {}
        self._files: set[str] = set()       # lower-cased, as Windows compares them
        self._dirs: dict[str, str] = {}     # folder as given (lower) → folder used
        self._dirs_used: set[str] = set()   # folders used, lower-cased

    def add(self, result) -> None:
        if result.status != "accepted":
            return
        p = PurePosixPath(result.file)
        folder = self._folder(p.parent.parts)
        stem = safe_part(p.stem if p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods", ".et") else p.name)
        for cand in _variants(stem, p.suffix):
            full = f"{folder}/{cand}" if folder else cand
            if full.lower() not in self._files and full.lower() not in self._dirs_used:
                break
        self._files.add(full.lower())
        self.names[result.file] = full

    def _folder(self, parts: tuple[str, ...]) -> str:
        used = ""
        for i in range(len(parts)):
            key = "/".join(parts[:i + 1]).lower()
            if key not in self._dirs:
                base = safe_part(parts[i])
                n = 1
                while True:
                    cand = f"{used}/{base}" if used else base
                    cand = cand if n == 1 else f"{cand}（{n}）"
                    if cand.lower() not in self._files and cand.lower() not in self._dirs_used:
                        break
                    n += 1
                self._dirs[key] = used = cand
                self._dirs_used.add(cand.lower())
            else:
                used = self._dirs[key]
        return used

    def link(self, finding) -> str:
        """An 'external:' link from summary.xlsx to the returned copy, at the finding's cell."""
        target = self.names.get(finding.file)
        if not target:
            return ""
        sheet = finding.sheet.replace("'", "''")
        cell = finding.cell if finding.cell and "!" not in finding.cell else "A1"
        if finding.cell and "!" in finding.cell:
            sheet_part, cell = finding.cell.split("!", 1)
            sheet = sheet_part.strip("'").replace("'", "''")
        if not re.fullmatch(r"\$?[A-Z]{1,3}\$?\d{1,7}", cell):
            cell = "A1"
        return f"external:returns/{target}#'{sheet}'!{cell}"


def _variants(stem: str, suffix: str):
    """a.xlsx, then a.xls.xlsx (an .xls beside an .xlsx of the same name), then a（2）.xlsx…"""
    yield stem + ".xlsx"
    if suffix and suffix.lower() != ".xlsx":
        yield stem + safe_part(suffix) + ".xlsx"
    n = 2
    while True:
        yield f"{stem}（{n}）.xlsx"
        n += 1
