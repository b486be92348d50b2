"""Find the four amount tables by their labels and read every org row of each."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..models import Amount, OrgRow, a1
from .labels import Labels, norm
from .numbers import yuan_to_wan
from .sheet import SheetView

MAX_HEADER_ROWS = 4
MAX_ORG_ROWS = 300


@dataclass
class Table:
    block: str
    anchor: tuple[int, int]
    columns: dict[int, str]      # column → field
    first_row: int
    last_row: int                # inclusive bound for data rows, from a side title's merge
    yuan: bool
    title: str


def find_tables(sv: SheetView, lab: Labels) -> list[Table]:
    tables: list[Table] = []
    taken: set[str] = set()
    for anchor in sv.find(lab.org_header):
        t = _table_at(sv, lab, anchor)
        if t and t.block not in taken:
            taken.add(t.block)
            tables.append(t)
    return tables


def _table_at(sv: SheetView, lab: Labels, anchor) -> Table | None:
    r, c = anchor
    r1, c1, r2, c2 = sv.span(anchor)
    if r2 > r:
        first = r2 + 1
    else:
        first = r + 1
        while first <= r + MAX_HEADER_ROWS and sv.is_empty((first, c)) and sv.top_left((first, c)) == (first, c):
            first += 1
    header_rows = range(r, first)
    # per column, the lowest header cell that names a field
    cands: dict[int, set[str]] = {}
    texts: list[str] = []
    for cc in range(c2 + 1, sv.g.ncols):
        for hr in reversed(header_rows):
            if sv.top_left((hr, cc)) != (hr, cc):
                continue
            t = sv.label((hr, cc))
            if t:
                texts.append(str(sv.g.values.get((hr, cc))))
            keys = lab.fields.get(t)
            if keys:
                cands[cc] = keys
                break
    if not cands:
        return None
    title = _title(sv, anchor)
    block = _choose_block(cands, title, lab)
    if block is None:
        return None
    columns: dict[int, str] = {}
    for cc, keys in sorted(cands.items()):
        for key in keys:
            b, f = key.split(".")
            if b == block and f not in columns.values():
                columns[cc] = f
                break
    if len(columns) < 2:
        return None
    last = first + MAX_ORG_ROWS
    side = sv.top_left((r, c - 1)) if c > 0 else None
    if side is not None and side in sv.merge_at and sv.label(side):
        sr1, sc1, sr2, sc2 = sv.merge_at[side]
        if sr2 >= first:
            last = sr2
    all_text = unicodedata.normalize("NFKC", title + " " + " ".join(texts))
    yuan = ("(元)" in all_text or "单位:元" in all_text) and "万元" not in all_text  # text is NFKC
    return Table(block, anchor, columns, first, last, yuan, title)


def _title(sv: SheetView, anchor) -> str:
    """The block's title: the cell left of the anchor, or the row above."""
    r, c = anchor
    for cc in range(c - 1, -1, -1):
        tl = sv.top_left((r, cc))
        if sv.text(tl):
            return sv.text(tl)
    for rr in (r - 1, r - 2):
        if rr < 0:
            break
        row_texts = [sv.text((rr, cc)) for cc in range(0, min(sv.g.ncols, c + 3)) if sv.text((rr, cc))]
        if row_texts:
            return " ".join(row_texts)
    return ""


def _choose_block(cands: dict[int, set[str]], title: str, lab: Labels) -> str | None:
    score: dict[str, int] = {}
    for keys in cands.values():
        blocks = {k.split(".")[0] for k in keys}
        for b in blocks:
            score[b] = score.get(b, 0) + (2 if len(blocks) == 1 else 1)
    if not score:
        return None
    best = max(score.values())
    top = [b for b, s in score.items() if s == best]
    if len(top) == 1 and best >= 2:
        return top[0]
    t = norm(title)
    for b in top:
        if any(w in t for w in lab.titles.get(b, [])):
            return b
    return top[0] if best >= 2 else None


def read_rows(sv: SheetView, lab: Labels, t: Table, stop_rows: set[int]) -> list[OrgRow]:
    rows: list[OrgRow] = []
    c = t.anchor[1]
    number, raw, block, columns = sv.number, sv.raw, t.block, list(t.columns.items())  # per-cell loop
    summary_seen = False
    skip_to = -1
    for r in range(t.first_row, min(t.last_row, sv.g.nrows - 1) + 1):
        if r < skip_to:
            continue
        if r in stop_rows:
            break
        tl = sv.top_left((r, c))
        if tl[1] < c:
            break  # a title merged across the table: the next section starts
        org_label = sv.label((r, c))
        if org_label in lab.org_header:
            break
        org_raw = sv.text((r, c)) if tl == (r, c) else ""
        if not org_raw and all(sv.is_empty((r, cc)) for cc in t.columns):
            if _text_left(sv, r, c):
                break  # a section title in the columns left of the table
            nxt = _next_org_row(sv, lab, t, r, stop_rows)
            if nxt is None:
                break
            skip_to = nxt  # a blank row inside the table: the org rows go on below it
            continue
        is_summary = bool(org_raw) and not summary_seen and lab.is_summary(org_raw)
        summary_seen |= is_summary
        row = OrgRow(block=t.block, org=org_raw, org_cell=sv.ref((r, c)), is_summary=is_summary,
                     position=len(rows))
        amounts = row.amounts
        for cc, field in columns:
            rc = (r, cc)
            value, status, note = number(rc)
            if value is not None and (t.yuan or note[:1] == "元"):
                value = yuan_to_wan(value)
                note = ("元→万元 " + note.removeprefix("元")).strip()
            amounts[field] = Amount(block, field, value, a1(r, cc), raw(rc), status, note)
        rows.append(row)
    return rows


def _next_org_row(sv: SheetView, lab: Labels, t: Table, blank: int, stop_rows: set[int]) -> int | None:
    """After a blank row, the row where the table goes on, if one of the next two is an org row
    with amounts (not a header, not a title merged across, not the next table)."""
    c = t.anchor[1]
    for r in (blank + 1, blank + 2):
        if r > t.last_row or r in stop_rows or r >= sv.g.nrows:
            return None
        tl = sv.top_left((r, c))
        label = sv.label((r, c))
        if tl[1] < c or label in lab.org_header or label in lab.all_facts or _text_left(sv, r, c):
            return None
        has_amount = any(not sv.is_empty((r, cc)) for cc in t.columns)
        if sv.text((r, c)) and tl == (r, c) and has_amount:
            return r
        if has_amount or sv.text(tl):
            return None
    return None


def _text_left(sv: SheetView, r: int, c: int) -> bool:
    """Text left of the org column that is not the table's own side title (a merge reaching r)."""
    for cc in range(c):
        tl = sv.top_left((r, cc))
        if tl == (r, cc) and sv.text(tl):
            return True
    return False
