"""Find the four amount tables by their labels and read every org row of each."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from decimal import Decimal

from ..models import Amount, Issue, OrgRow, a1
from .labels import Labels, norm
from .sheet import SheetView
from .summary import mark_summary
from .tokens import UNIT_FACTOR, unit_decl, unit_in

MAX_HEADER_ROWS = 4
_YUAN = Decimal(10000)
_SECTION = re.compile(r"^[一二三四五六七八九十]+、")
_HEADING = re.compile(r"^(?:\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十]+、)")  # normalised text
_COLON_LABEL = re.compile(r"^[^\d:()]{1,10}:")   # 注:, 填表人:, 单位负责人: (labels are normalised)
_ZERO = Decimal(0)
MAX_ORG_ROWS = 300


@dataclass
class Table:
    block: str
    anchor: tuple[int, int]
    columns: dict[int, str]      # column → field, the final (checked) figures
    first_row: int
    last_row: int                # inclusive bound for data rows, from a side title's merge
    yuan: bool                   # the table's figures are not in 万元 and are converted
    title: str
    measures: dict[int, tuple[str, str]] = field(default_factory=dict)  # every column → (field, measure)
    factor: int = 1              # divide by this for 万元 (元 10000, 千元 10)
    unit_text: str = ""          # the declaration that governs the table's unit, as written
    unit_cell: str = ""          # its cell ("" when it is the table's own title or header)
    words: frozenset = frozenset()  # the header's words, normalised (the template fingerprint)


def find_tables(sv: SheetView, lab: Labels) -> list[Table]:
    tables: list[Table] = []
    taken: set[str] = set()
    for anchor in sv.find(lab.org_header):
        t = _table_at(sv, lab, anchor)
        if t and t.block not in taken:
            taken.add(t.block)
            tables.append(t)
    if any(not t.unit_text for t in tables):
        decls = unit_declarations(sv)
        if decls:
            _scope_units(tables, decls)
    return tables


def unit_declarations(sv: SheetView) -> list[tuple[int, int, str, str]]:
    """Cells that only declare a unit of measure (单位：万元, 金额单位：元): (row, col, unit, text)."""
    out = []
    for rc, t in sv.labels.items():
        if "元" in t and len(t) <= 14:
            raw = sv.g.values.get(rc)
            u = unit_decl(raw) if isinstance(raw, str) else None
            if u:
                out.append((rc[0], rc[1], u, raw.strip()))
    return sorted(out)


def _scope_units(tables: list[Table], decls) -> None:
    """A declaration at most 3 rows above a table's header (above it, at its top right corner, in
    its header rows) belongs to that table; one farther up (under the form's title) governs every
    table below it until the next such one. A table's own title or header words come first."""
    order = sorted(tables, key=lambda t: t.anchor[0])
    own: dict[int, tuple] = {}
    wide = []
    for d in decls:
        r = d[0]
        owner = None
        prev_end = -1
        for t in order:
            if prev_end < r < t.first_row and t.anchor[0] - r <= 3:
                owner = t
                break
            prev_end = t.first_row
        if owner is not None:
            cur = own.get(id(owner))
            if cur is None or r > cur[0]:
                own[id(owner)] = d
        else:
            wide.append(d)
    for t in order:
        if t.unit_text:
            continue
        d = own.get(id(t)) or max((w for w in wide if w[0] < t.anchor[0]), default=None)
        if d is None:
            continue
        r, c, unit, text = d
        t.unit_text, t.unit_cell = text, a1(r, c)
        t.factor = UNIT_FACTOR[unit]
        t.yuan = t.factor != 1


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
    # the header as a tree: per column, the header cells covering it from the top down; the field
    # is the lowest cell naming a field, the measure (预算数/决算数…) any cell naming one
    cands: dict[int, set[str]] = {}
    meas: dict[int, str] = {}
    field_row: dict[int, int] = {}
    texts: list[str] = []
    head_cells: list[tuple[int, int]] = []
    words: list[str] = []
    # every column right of the anchor times every header row: the lookups bound once
    cover_get, label_get, value_get = sv.cover.get, sv.labels.get, sv.g.values.get
    measure_get, field_get = lab.measures.get, lab.fields.get   # = lab.measure_of, lab.fields.get
    upward = header_rows[::-1]
    for cc in range(c2 + 1, sv.g.ncols):
        own_keys = None
        inherited = None
        for hr in upward:
            rc = (hr, cc)
            tl = cover_get(rc, rc)
            t = label_get(tl)
            if not t:
                continue
            if tl == rc:
                texts.append(str(value_get(tl)))
                head_cells.append(tl)
                words.append(t)   # norm() of that text: a label is the normalised text
            m = measure_get(t)
            if m is not None:
                meas.setdefault(cc, m)
                continue
            keys = field_get(t)
            if keys and own_keys is None and inherited is None:
                if tl == rc:
                    own_keys = keys
                    field_row[cc] = hr
                elif tl[0] == hr:
                    inherited = keys  # a field header merged across its sub-columns
                    field_row[cc] = hr
        if own_keys is not None:
            cands[cc] = own_keys
        elif inherited is not None and cc in meas:
            cands[cc] = inherited
    if meas:
        _inherit_fields(sv, cands, meas, field_row)
    if not cands:
        return None
    title = _title(sv, lab, anchor, first)
    block = _choose_block(cands, title, lab)
    if block is None:
        return None
    measures: dict[int, tuple[str, str]] = {}
    for cc, keys in sorted(cands.items()):
        m = meas.get(cc, "final")
        for key in keys:
            b, f = key.split(".")
            if b == block and (f, m) not in measures.values():
                measures[cc] = (f, m)
                break
    if meas and not any(m == "final" for _, m in measures.values()):
        # no final column: the latest figure the table has is the one checked
        order = ["adjusted_budget", "budget", "opening"]
        best = min((m for _, m in measures.values()), key=lambda m: order.index(m) if m in order else 9)
        measures = {cc: (f, "final" if m == best else m) for cc, (f, m) in measures.items()}
    columns = {cc: f for cc, (f, m) in measures.items() if m == "final"}
    if len(columns) < 2:
        return None
    last = first + MAX_ORG_ROWS
    side = sv.top_left((r, c - 1)) if c > 0 else None
    if side is not None and side in sv.merge_at and sv.label(side):
        sr1, sc1, sr2, sc2 = sv.merge_at[side]
        if sr2 >= first:
            last = sr2
    unit = unit_in(" ".join([title, sv.text(anchor), *texts]))
    if unit:   # the table's own words: its title, else the header cell that states it
        unit_text, unit_cell = title or "表头", ""
        if unit_in(title) != unit:
            for rc, text in zip([anchor, *head_cells], [sv.text(anchor), *texts]):
                if unit_in(text) == unit:
                    unit_text, unit_cell = text.strip(), a1(*rc)
                    break
    else:
        unit, unit_text, unit_cell = _unit_above(sv, anchor)
    factor = UNIT_FACTOR.get(unit, 1)
    return Table(block, anchor, columns, first, last, factor != 1, title, measures, factor,
                 unit_text, unit_cell, frozenset(words))


def _inherit_fields(sv: SheetView, cands, meas, field_row) -> None:
    """Where merges are unknown (.ods), a sub-column (决算数) under a field header that spans it
    has no field of its own: it takes the field of the column to its left when that column has
    a field above its own measure and this column is empty at the field's row."""
    for cc in sorted(meas):
        if cc in cands or cc - 1 not in cands or cc - 1 not in meas:
            continue
        fr = field_row.get(cc - 1)
        if fr is not None and sv.is_empty((fr, cc)) and meas[cc] != meas[cc - 1]:
            cands[cc] = cands[cc - 1]
            field_row[cc] = fr


def _title(sv: SheetView, lab: Labels, anchor, first: int) -> str:
    """The block's title: the side title left of the anchor, or the row above. A header cell of a
    column of its own left of the anchor (序号 over the serial numbers 1, 2, 3) is no title: its
    word says so, or its column holds figures in the table's rows, where a side title's is covered
    by it or empty."""
    r, c = anchor
    for cc in range(c - 1, -1, -1):
        tl = sv.top_left((r, cc))
        if tl[1] != cc or not sv.text(tl):
            continue
        if sv.label(tl) in lab.org_columns or _heads_column(sv, tl, first):
            continue
        return sv.text(tl)
    for rr, cells in _rows_above(sv, r):
        row_texts = [sv.text((rr, cc)) for cc, _ in cells if cc < c + 3 and sv.text((rr, cc))]
        if row_texts:
            return " ".join(row_texts)
    return ""


def _heads_column(sv: SheetView, tl, first: int) -> bool:
    """The cell at tl heads a column of the table: the first two data rows below it, outside its
    own merge, hold something."""
    r1, c1, r2, c2 = sv.span(tl)
    below = [(rr, c1) for rr in (first, first + 1) if rr > r2 and sv.top_left((rr, c1)) == (rr, c1)]
    return any(not sv.is_empty(rc) for rc in below)


def _rows_above(sv: SheetView, r: int) -> list[tuple[int, list[tuple[int, object]]]]:
    """The (up to three) rows just above row r, nearest first, each as its (col, value) cells in
    column order, up to a row of figures (the table before). Asked for a table's title and
    again for its unit: kept per sheet."""
    key = ("rows_above", r)
    hit = sv.cache.get(key)
    if hit is None:
        hit = sv.cache[key] = _scan_rows_above(sv, r)
    return hit


def _scan_rows_above(sv: SheetView, r: int) -> list[tuple[int, list[tuple[int, object]]]]:
    values, ncols = sv.g.values, sv.g.ncols
    out = []
    for rr in (r - 1, r - 2, r - 3):
        if rr < 0:
            break
        cells = [(cc, values[(rr, cc)]) for cc in range(ncols) if (rr, cc) in values]
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for _, v in cells):
            break
        out.append((rr, cells))
    return out


def _unit_above(sv: SheetView, anchor) -> tuple[str | None, str, str]:
    """A unit stated in the rows just above a table, across the sheet (a title centred over a
    wide table, `（一）收入情况　　单位：元` in one cell): (unit, the text as written, its cell), the
    nearest row first."""
    rows = _rows_above(sv, anchor[0])
    for rr, cells in rows:
        for cc, v in cells:
            if isinstance(v, str) and ("元" in v):
                u = unit_in(v)
                if u:
                    return u, v.strip(), a1(rr, cc)
    joined = " ".join(v for _, cells in rows for _, v in cells if isinstance(v, str))
    u = unit_in(joined)   # a unit split over cells: 单位： | 元
    return (u, joined.strip(), "") if u else (None, "", "")


def _choose_block(cands: dict[int, set[str]], title: str, lab: Labels) -> str | None:
    # the same header (the same field-key sets of lab.fields, which lab keeps alive) and title
    # come back in every form of a template
    memo = lab.memo("block")
    key = (tuple(map(id, cands.values())), title)
    if key not in memo:
        memo[key] = _score_block(cands, title, lab)
    return memo[key]


def _score_block(cands: dict[int, set[str]], title: str, lab: Labels) -> str | None:
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


def read_rows(sv: SheetView, lab: Labels, t: Table, stop_rows: set[int],
              issues: list | None = None) -> list[OrgRow]:
    """Every org row of the table, one OrgRow per value column set (measure) of each; the summary
    row and subtotals marked by summary.py."""
    rows: list[OrgRow] = []
    c = t.anchor[1]
    amount, block = sv.amount, t.block  # per-cell loop
    groups: dict[str, list[tuple[int, str]]] = {}
    for cc, (fld, m) in t.measures.items():
        groups.setdefault(m, []).append((cc, fld))
    finals = groups.pop("final", [])
    ordered = [("final", finals)] + sorted(groups.items())
    convert = t.factor != 1
    factor = Decimal(t.factor)
    all_cols = list(t.measures)
    first_col = min(all_cols)
    merge_at, formulas, org_header = sv.merge_at, sv.g.formulas, lab.org_header
    cover_get, label_get, text = sv.cover.get, sv.labels.get, sv.text   # = top_left, label
    near_stop = {s - d for s in stop_rows for d in (1, 2, 3)}   # rows up to 3 above the next table
    skip_to = -1
    n_data = 0
    marks = sv.cache.get("section_rows")
    if marks is None:
        marks = sv.cache["section_rows"] = _section_marks(sv, lab)
    for r in range(t.first_row, min(t.last_row, sv.g.nrows - 1) + 1):
        if r < skip_to:
            continue
        if r in stop_rows:
            break
        rc = (r, c)
        tl = cover_get(rc, rc)
        if tl[1] < c:
            break  # a title merged across the table: the next section starts
        own = tl == rc
        if own and tl in merge_at and merge_at[tl][3] >= first_col:
            break  # a title from the org column across the amount columns: （三）三公经费
        org_label = label_get(rc, "")
        if org_label in org_header or (r in marks and _section_row(sv, lab, r, c, all_cols, org_label)):
            break
        org_raw = text(rc) if own else ""
        if not org_raw and own and rc in formulas:
            org_raw = _formula_text(sv, rc, t.block, issues)
        if not org_raw and all(sv.is_empty((r, cc)) for cc in all_cols):
            if _text_left(sv, r, c):
                break  # a section title in the columns left of the table
            nxt = _next_org_row(sv, lab, t, r, stop_rows)
            if nxt is None:
                break
            skip_to = nxt  # a blank row inside the table: the org rows go on below it
            continue
        if org_raw and r in near_stop and _title_line(sv, lab, r, org_label, all_cols, stop_rows):
            break  # （三）三公经费 just above the next table: its title, not an org
        org_cell = a1(r, c)
        for m, cols in ordered:
            amounts: dict[str, Amount] = {}
            rows.append(OrgRow(block, org_raw, org_cell, False, n_data, amounts, m))
            for cc, fld in cols:
                value, status, note, raw = amount((r, cc))
                if value is not None and (convert or note[:1] == "元"):
                    f = factor if convert else _YUAN
                    value = value / f if value else _ZERO
                    note = (("千元" if t.factor == 10 else "元") + "→万元 " + note.removeprefix("元")).strip()
                amounts[fld] = Amount(block, fld, value, a1(r, cc), raw, status, note)
        n_data += 1
    mark_summary(rows, lab)
    return rows


def _title_line(sv: SheetView, lab: Labels, r: int, text: str, cols, stop_rows: set[int]) -> bool:
    """Row r is the next table's title: a heading (（三）…, 三、…) or a table's name (三公经费) with
    no figures, and nothing but text lines between it and the next table's header (at most three
    rows down). A summary-family row is never one (its figures may be blank)."""
    nxt = next((s for s in (r + 1, r + 2, r + 3) if s in stop_rows), None)
    if nxt is None or lab.is_summary(text) or lab.is_subtotal(text):
        return False
    if not _names_table(text, lab):
        return False
    return all(sv.is_empty((rr, cc)) for rr in range(r, nxt) for cc in cols)


@lru_cache(maxsize=8192)
def _names_table(text: str, lab: Labels) -> bool:
    """A heading (（三）…, 三、…) or a table's name (三公经费); asked of every org row just above
    the next table, and the same org names come back form after form."""
    return bool(_HEADING.match(text) or any(w in text for ws in lab.titles.values() for w in ws))


def _section_row(sv: SheetView, lab: Labels, r: int, c: int, cols, org_label: str) -> bool:
    """The form's next section starts on this row: a section heading (三、…) in the org column,
    or a fact or section label (预期目标, 评价内容, 绩效自评综合得分, 姓名, …) in the org column,
    under an amount column or left of the org column; or a note or signature line (注：…, 填表人：…) without amounts — a table
    without a side title ends there."""
    marks = sv.cache.get("section_rows")
    if marks is None:
        marks = sv.cache["section_rows"] = _section_marks(sv, lab)
    hit = marks.get(r)
    if not hit:
        return False
    if any(k == "label" and cc < c for cc, k in hit):
        return True   # a fact label left of the org column (绩效自评综合得分 right under the table)
    cols = set(cols) | {c}
    kinds = {k for cc, k in hit if cc in cols}
    if "label" in kinds or ("heading" in kinds and any(cc == c for cc, k in hit if k == "heading")):
        return True
    if "colon" in kinds:
        return not any(sv.number((r, cc))[1] == "ok" for cc in cols if cc != c)
    return False


def _section_marks(sv: SheetView, lab: Labels) -> dict[int, list[tuple[int, str]]]:
    """Per row, the cells that can end a table: (col, label | heading | colon)."""
    kinds = lab.memo("mark_kind")   # label text → kind ("" for none), across forms
    marks: dict[int, list[tuple[int, str]]] = {}
    for (r, cc), t in sv.labels.items():
        kind = kinds.get(t)
        if kind is None:
            kind = kinds[t] = _mark_kind(lab, t)
        if kind:
            marks.setdefault(r, []).append((cc, kind))
    return marks


def _mark_kind(lab: Labels, t: str) -> str:
    if t in lab.all_facts or t in lab.org_header:
        return "label"
    if ":" in t and _COLON_LABEL.match(t):
        return "colon"
    if "、" in t and _SECTION.match(t):
        return "heading"
    return ""


def _formula_text(sv: SheetView, rc, block: str, issues: list | None) -> str:
    """An org name that is a formula without a stored result: its text, kept inert, and an issue."""
    text = "=" + sv.g.formulas[rc]
    if issues is not None:
        issues.append(Issue("FORMULA_NO_RESULT", sv.ref(rc), block, "org", text, text,
                            f"机构名称 {sv.ref(rc)} 是公式“{text}”，文件中没有计算结果"))
    return text


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
        has_amount = any(not sv.is_empty((r, cc)) for cc in t.measures)
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
