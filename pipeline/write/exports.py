"""CSV exports (values.csv, findings.csv, manifest.csv): UTF-8 with BOM, injection-guarded text."""
from __future__ import annotations

import csv
import re
from pathlib import Path

from .atomic import atomic_path

MANIFEST_COLUMNS = ["file", "sha256", "status", "units", "error", "code"]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def guard(text) -> str:
    """OWASP CSV-injection guard: text a spreadsheet would run gets a leading quote.
    A plain number such as -12.5 runs nothing and stays as it is."""
    s = "" if text is None else str(text)
    if s.startswith(_DANGEROUS) and not _PLAIN_NUMBER.fullmatch(s):
        return "'" + s
    return s


class CsvStream:
    """A CSV written in pieces into an open (temporary) file. safe: columns holding only the
    tool's own words, numbers or cell refs (left unguarded)."""

    def __init__(self, path: Path, header: list[str], safe: tuple[str, ...] = ()):
        self.fh = open(path, "w", encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.fh)
        self.w.writerow(header)
        self.keep = [h in safe for h in header]

    def rows(self, rows) -> None:
        keep = self.keep
        self.w.writerows([v if k else guard(v) for k, v in zip(keep, row)] for row in rows)

    def close(self) -> None:
        self.fh.close()


def write_rows(path: Path, header: list[str], rows, safe: tuple[str, ...] = ()) -> None:
    """The whole CSV into path as it is (the caller makes it atomic)."""
    out = CsvStream(path, header, safe)
    try:
        out.rows(rows)
    finally:
        out.close()


def write_csv(path: Path, header: list[str], rows, safe: tuple[str, ...] = ()) -> None:
    with atomic_path(path) as tmp:
        write_rows(tmp, header, rows, safe)
