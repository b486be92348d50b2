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


def write_csv(path: Path, header: list[str], rows, safe: tuple[str, ...] = ()) -> None:
    """safe: columns holding only the tool's own words, numbers or cell refs (left unguarded)."""
    keep = [h in safe for h in header]
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for row in rows:
                w.writerow([v if k else guard(v) for k, v in zip(keep, row)])
