"""CSV exports (values.csv, findings.csv, manifest.csv): UTF-8 with BOM, injection-guarded text."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path


MANIFEST_COLUMNS = ["file", "sha256", "status", "units", "error", "code", "template", "returned", "return_error"]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset("".join(_DANGEROUS))
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def guard(text) -> str:
    """OWASP CSV-injection guard: text a spreadsheet would run gets a leading quote.
    A plain number such as -12.5 runs nothing and stays as it is."""
    s = "" if text is None else str(text)
    if s.startswith(_DANGEROUS) and not _PLAIN_NUMBER.fullmatch(s):
        return "'" + s
    return s


class Guarded:
    """Rows → CSV text, the injection guard on every column not in safe (columns holding only
    the tool's own words, numbers or cell refs)."""

    def __init__(self, header: list[str], safe: tuple[str, ...] = ()):
        self.keep = [h in safe for h in header]
        self.guarded = [i for i, k in enumerate(self.keep) if not k]
        self._buf = io.StringIO()
        self._w = csv.writer(self._buf)

    def clean(self, rows) -> list:
        """Rows whose guarded columns are plain text not starting with a dangerous character
        (nearly all) stay as they are; only the others are rebuilt through guard()."""
        keep, guarded, first = self.keep, self.guarded, _FIRST
        out = []
        for row in rows:
            for i in guarded:
                v = row[i]
                if v and (v.__class__ is not str or v[0] in first):
                    row = [v if k else guard(v) for k, v in zip(keep, row)]
                    break
            out.append(row)
        return out

    def text(self, rows, guarded: bool = False) -> str:
        """guarded: the caller has already passed every unsafe column through guard()."""
        self._buf.seek(0)
        self._buf.truncate()
        self._w.writerows(rows if guarded else self.clean(rows))
        return self._buf.getvalue()


class CsvStream:
    """A CSV written in pieces into an open (temporary) file: rows, or text already rendered by
    a Guarded of the same header."""

    def __init__(self, path: Path, header: list[str], safe: tuple[str, ...] = ()):
        self.fh = open(path, "w", encoding="utf-8-sig", newline="", errors="backslashreplace")
        self.g = Guarded(header, safe)
        self.w = csv.writer(self.fh)
        self.w.writerow(header)

    def rows(self, rows) -> None:
        self.w.writerows(self.g.clean(rows))

    def text(self, text: str) -> None:
        self.fh.write(text)

    def close(self) -> None:
        self.fh.close()
