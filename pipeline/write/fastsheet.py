"""A constant-memory xlsxwriter worksheet that writes plain rows faster.

At 10,000 units summary.xlsx holds about two million cells, and xlsxwriter spends most of its
time per cell building attribute lists and escaping them one write() at a time. For a row of
only numbers, plain text and formatted blanks (with or without a row height or format, a column
format, and comments, which live in their own part) this writes the same XML in one write();
everything else (formulas) goes through xlsxwriter's own code. tests/test_fastsheet.py checks the XML is byte-for-byte xlsxwriter's for every kind of
cell the summary writes, so a change inside xlsxwriter shows up there.

One deliberate difference: xlsxwriter writes a plain string that looks like "<r>…</r>" as raw
rich-text XML; a unit's text is never markup, so here it is escaped like any other text, on the
fast path and on xlsxwriter's own (_xml_rich_inline_string below): a unit cannot put a formula or
a link into the summary, nor break its XML.
"""
from __future__ import annotations

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

_COLS = [xl_col_to_name(c) for c in range(64)]


class FastSheet(Worksheet):
    def __init__(self) -> None:
        super().__init__()
        self._styles: dict = {}   # format → its s="…" attribute
    def _write_single_row(self, current_row_num=0) -> None:
        row_num = self.previous_row
        cells = self.table.get(row_num)
        if not cells:   # a row of attributes or comments only: xlsxwriter's own path
            return super()._write_single_row(current_row_num)
        parts = []
        r = str(row_num + 1)
        info = self.row_info.get(row_num)
        row_fmt = info.row_format if info is not None else None   # a cell without its own takes it
        for col in sorted(cells):
            piece = self._fast_cell(r, col, cells[col], row_fmt)
            if piece is None:
                return super()._write_single_row(current_row_num)
            parts.append(piece)
        self.previous_row = current_row_num
        # a row's height or format is an attribute of its <row>; comments live in their own part
        self._write_row(row_num, None, info)
        self.fh.write("".join(parts))
        self._xml_end_tag("row")
        self.table.clear()

    def _fast_cell(self, r: str, col: int, cell, row_fmt=None) -> str | None:
        """The cell's XML, or None where xlsxwriter's own path is needed."""
        kind = cell.__class__.__name__
        fmt = cell.format or row_fmt     # xlsxwriter's order: the cell's, the row's, the column's
        style = self._style(col, fmt)
        ref = (_COLS[col] if col < 64 else xl_col_to_name(col)) + r
        if kind == "Number":
            return f'<c r="{ref}"{style}><v>{cell.number:.16G}</v></c>'
        if kind == "Blank":   # a filled cell without a value (明细's flagged blanks)
            return f'<c r="{ref}"{style}/>'
        if kind != "String" or not self.constant_memory:
            return None
        return self._string_xml(ref, style, cell.string)

    def _style(self, col: int, fmt) -> str:
        if fmt is None and col in self.col_info:
            fmt = self.col_info[col].column_format
        if fmt is None:
            return ""
        s = self._styles.get(fmt)
        if s is None:   # a format's index never changes once given
            s = self._styles[fmt] = f' s="{fmt._get_xf_index()}"'
        return s

    def _string_xml(self, ref: str, style: str, s: str) -> str:
        if "_x" in s or not s.isprintable():
            s = self._escape_control_characters(s)
        preserve = ' xml:space="preserve"' if s and (s[0].isspace() or s[-1].isspace()) else ""
        if "&" in s or "<" in s or ">" in s:
            s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{preserve}>{s}</t></is></c>'

    def ready_row(self, row: int, cells: list[tuple[int, object, object]]) -> None:
        """A whole row of numbers and text, (column, value, format) in column order, rendered
        and written at once: the XML the cell-by-cell path writes (tests/test_fastsheet.py),
        without a cell record per value. Constant-memory sheets only, a row not yet begun."""
        first, last = cells[0][0], cells[-1][0]
        if not self.constant_memory or self._check_dimensions(row, first) or self._check_dimensions(row, last):
            raise ValueError(f"row {row} cannot be written ahead")
        if row > self.previous_row:
            self._write_single_row(row)        # the row before it, still pending
        elif self.table.get(row) or row in self.comments:
            raise ValueError(f"row {row} already has cells")
        r = str(row + 1)
        info = self.row_info.get(row)
        row_fmt = info.row_format if info is not None else None
        parts = []
        for col, v, fmt in cells:
            ref = (_COLS[col] if col < 64 else xl_col_to_name(col)) + r
            style = self._style(col, fmt or row_fmt)
            if isinstance(v, str):
                parts.append(self._string_xml(ref, style, v[:self.xls_strmax]))
            else:
                parts.append(f'<c r="{ref}"{style}><v>{float(v):.16G}</v></c>')
        self._write_row(row, None, info)
        self.fh.write("".join(parts))
        self._xml_end_tag("row")
        self.previous_row = row + 1   # written: xlsxwriter's next flush starts after it

    def _xml_rich_inline_string(self, string, attributes=[]) -> None:  # noqa: B006 (xlsxwriter's signature)
        """The summary writes no rich strings: whatever looks like one is a unit's text."""
        preserve = bool(string) and (string[0].isspace() or string[-1].isspace())
        self._xml_inline_string(string, preserve, attributes)
