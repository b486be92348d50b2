"""A constant-memory xlsxwriter worksheet written row by row, and column widths that fit the text."""
from __future__ import annotations

import zipfile
from contextlib import contextmanager
from decimal import Decimal

from .fastsheet import FastSheet

SAFE_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False, "nan_inf_to_errors": True}


def text_width(s: str) -> float:
    """Display width in Excel character units: a CJK character is about two."""
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in s)


def fit_widths(header: list[str], rows: list[list], lo: float = 6, hi: float = 60) -> list[float]:
    widths = [text_width(h) + 2 for h in header]
    for row in rows[:300]:  # a sample is enough to size a column
        for c, v in enumerate(row):
            if c < len(widths) and v is not None:
                s = v if isinstance(v, str) else f"{float(v):.2f}" if isinstance(v, Decimal) else str(v)
                widths[c] = max(widths[c], text_width(s) + 1.5)
    return [min(max(w, lo), hi) for w in widths]


ROW_LIMIT = 1_048_576   # rows in one Excel sheet; a longer list goes on in a continuation sheet


class Sheet:
    """A worksheet written row by row. Column widths, panes and filters may be set at any time
    before the workbook closes: xlsxwriter writes them then."""

    def __init__(self, wb, name: str, fmts: dict, base: str | None = None):
        self.wb, self.name = wb, name
        self.base = base or name   # the first part's name: continuations are base（续n）
        self.ws = wb.add_worksheet(name, worksheet_class=FastSheet)
        self.f = fmts
        self.row = 0
        self.head_row = 0          # the header row (a sheet may carry title rows above it)
        self._layout: tuple | None = None
        # the undecorated writers: the public ones first parse A1 notation, a cost per cell
        self._num = getattr(self.ws, "_write_number", self.ws.write_number)
        self._str = getattr(self.ws, "_write_string", self.ws.write_string)

    @property
    def started(self) -> bool:
        return self.row > 0

    def start(self, header: list[str], widths: list[float], freeze: tuple[int, int] = (1, 0),
              tall: bool = False) -> None:
        """Widths, frozen panes and the header row (at the current row; freeze counts from the
        sheet's top)."""
        self._layout = (header, widths, (freeze[0] - self.row, freeze[1]), tall)
        for c, w in enumerate(widths):
            self.ws.set_column(c, c, w)
        self.ws.freeze_panes(*freeze)
        self.head_row = self.row
        if tall:
            self.ws.set_row(self.row, 45)
        self.line(header, self.f["head"])

    @property
    def full(self) -> bool:
        """No room for another row (beyond it xlsxwriter would drop cells without a word)."""
        return self.row >= ROW_LIMIT

    def spill(self, part: int) -> "Sheet":
        """The continuation sheet "名（续n）", laid out and headed like this one."""
        nxt = Sheet(self.wb, f"{self.base}（续{part}）", self.f, self.base)
        nxt.start(*self._layout)
        return nxt

    def filter(self, ncols: int) -> None:
        """An autofilter over the header and every data row written."""
        if self.row > self.head_row + 1:
            self.ws.autofilter(self.head_row, 0, self.row - 1, ncols - 1)

    def put(self, col: int, value, fmt=None) -> None:
        """Numbers as numbers, everything else as a literal string; nothing for an empty cell
        unless it carries a format."""
        r = self.row
        if value is None or value == "":
            if fmt is not None:
                self.ws.write_blank(r, col, None, fmt)
        elif isinstance(value, Decimal):
            self._num(r, col, float(value), fmt or self.f["amount"])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._num(r, col, value, fmt)
        else:
            self._str(r, col, str(value), fmt)

    def line(self, values, fmt=None, col_fmt: dict | None = None) -> None:
        """One row; col_fmt gives single columns a format of their own."""
        for c, v in enumerate(values):
            self.put(c, v, col_fmt.get(c, fmt) if col_fmt else fmt)
        self.row += 1


class _QuickZip(zipfile.ZipFile):
    """At 10,000 units summary.xlsx holds ~100 MB of sheet XML: deflate level 1 packs it about
    three times faster than the default level 6, for a file about a quarter larger."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("compresslevel", 1)
        super().__init__(*args, **kwargs)


@contextmanager
def quick_zip():
    """xlsxwriter offers no compression level: swap the ZipFile it packs with while it closes."""
    import xlsxwriter.workbook as xw_workbook

    saved = xw_workbook.ZipFile
    xw_workbook.ZipFile = _QuickZip
    try:
        yield
    finally:
        xw_workbook.ZipFile = saved
