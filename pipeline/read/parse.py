"""Turn a sheet into one UnitForm: scalar facts, amount tables, indicators, evaluators, report."""
from __future__ import annotations

import re
import time
from pathlib import Path

from ..models import BLOCK_FIELDS, BLOCK_LABELS, Fact, FileResult, Issue, UnitForm
from .grid import Book, Grid
from .indicators import goals, indicators
from .guard import Rejected
from .labels import Labels, load_labels, norm
from ..check.narrative import extract
from .book import check_magnitude, file_template, fingerprint, join_continuations, resolve_text_formulas
from .facts import read_facts
from .locate import find_tables, read_rows
from .ooxml import ref_to_rc
from .open import read_book, read_bytes, sha256_of
from .sheet import SheetView

_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_INLINE = re.compile(r"^(填报单位|填报日期|填报人|填表人|联系人|联系电话|联络电话)[^:：]*[:：]\s*(.*)$", re.S)
FORM_TITLE = "整体支出绩效自评表"


def read_file(path: Path, rel: str) -> FileResult:
    """Read one input file. Never raises for a bad file: returns a rejected FileResult."""
    t0 = time.perf_counter()
    sha = ""
    try:
        data, sha = read_bytes(path)   # read once: the digest is of the bytes that are checked
        book = read_book(path, data)
        forms = parse_book(book, rel)
    except Rejected as rej:
        return FileResult(rel, sha or sha256_of(path), rej.status, rej.code, rej.message,
                          read_s=time.perf_counter() - t0)
    if not forms:
        return FileResult(rel, sha, "rejected", "NO_FORM",
                          "工作簿中没有找到自评表（没有“机构名称”及收入、支出等表格）", source_format=book.source_format)
    return FileResult(rel, sha, "accepted", forms=forms, units=len(forms), source_format=book.source_format,
                      full_calc=book.full_calc, guard_s=book.guard_s, read_s=time.perf_counter() - t0,
                      template=file_template(forms))


def parse_book(book: Book, rel: str, lab: Labels | None = None) -> list[UnitForm]:
    lab = lab or load_labels()
    placed: list[tuple[int, UnitForm]] = []
    loose_reports: list[tuple[int, Grid, Fact]] = []
    hidden_figures: list[tuple[int, Grid]] = []
    for pos, grid in enumerate(book.sheets):
        sv = SheetView(grid, book.full_calc)
        form = parse_sheet(sv, lab, rel)
        if form is not None:
            placed.append((pos, form))
            continue
        rep = _report_sheet(sv, lab)
        if rep is not None:
            loose_reports.append((pos, grid, rep))
        if grid.hidden and any(isinstance(v, (int, float)) and not isinstance(v, bool)
                               for v in grid.values.values()):
            hidden_figures.append((pos, grid))
    for _, f in placed:  # before joining: a unit named by a formula is known by its name
        if any(i.code == "FORMULA_NO_RESULT" for i in f.issues):
            resolve_text_formulas(f, book.sheets)
    placed = join_continuations(placed)
    forms = [f for _, f in placed]

    def owner(pos: int) -> UnitForm | None:
        """A sheet without a form belongs to the form before it (or the first form)."""
        before = [f for p, f in placed if p < pos]
        return before[-1] if before else (forms[0] if forms else None)

    for pos, grid, rep in loose_reports:
        f = owner(pos)
        if f is not None and f.report is None:
            f.report = Fact(rep.value, f"'{grid.name}'!{rep.cell}", rep.raw)
    for f in forms:  # done here so that the workers, not the parent, scan the reports
        f.report_figures = extract(str(f.report.value), f.year_value or None) if f.report else []
        check_magnitude(f)
        if f.joined:
            f.template = fingerprint(f, lab.renamed, set()) if f.template == "standard" else \
                "+".join(dict.fromkeys(f.template.split("+") + ["split_sheet"]))
    for pos, grid in hidden_figures:
        f = owner(pos)
        if f is not None:
            f.issues.append(Issue("HIDDEN_CONTENT", "", "unit", "sheet", "", grid.name,
                                  f"隐藏的工作表“{grid.name}”中有数字"))
    return forms


def parse_sheet(sv: SheetView, lab: Labels, rel: str) -> UnitForm | None:
    tables = find_tables(sv, lab)
    # one substring search over the sheet's labels (norm() leaves no line break in a label,
    # so no match spans two of them)
    has_title = FORM_TITLE in "\n".join(sv.labels.values())
    if not tables and not has_title and not _has_sections(sv, lab):
        return None
    form = UnitForm(file=rel, sheet=sv.g.name)
    anchors = {t.anchor[0] for t in tables}
    words: set[str] = set()
    for t in tables:
        stop = {a for a in anchors if a > t.anchor[0]}
        form.rows.extend(read_rows(sv, lab, t, stop, form.issues))
        form.block_cells[t.block] = sv.ref(t.anchor)
        words |= t.words
        if t.yuan:
            unit = "千元" if t.factor == 10 else "元"
            where = f"{t.unit_cell} 的“{t.unit_text}”" if t.unit_cell else f"“{t.title or '表头'}”"
            form.issues.append(Issue("YUAN_CONVERTED", sv.ref(t.anchor), t.block, "", "",
                                     t.unit_text if t.unit_cell else t.title,
                                     f"{where}标明单位为{unit}，该表金额已换算为万元"))
    yuan_tables = {t.block for t in tables if t.yuan}
    for row in form.rows:
        if row.block in yuan_tables:
            continue  # one issue for the whole table, above
        for amt in row.amounts.values():
            if amt.note and amt.note.startswith("元→万元"):   # most cells have no note
                form.issues.append(Issue("YUAN_CONVERTED", amt.cell, row.block, amt.field, row.org, amt.raw,
                                         f"{amt.cell} 注明“元”（{amt.raw}），已换算为万元"))
    for block in BLOCK_FIELDS:
        if block not in form.block_cells:
            form.issues.append(Issue("BLOCK_MISSING", "", block, "", "", "", f"{BLOCK_LABELS[block]}表"))
    _facts(sv, lab, form)
    form.template = fingerprint(form, lab.renamed, words)
    _hidden(sv, form)
    if sv.g.hidden:
        form.issues.append(Issue("HIDDEN_CONTENT", "", "unit", "sheet", "", sv.g.name,
                                 f"自评表所在的工作表“{sv.g.name}”被隐藏"))
    return form


def _has_sections(sv: SheetView, lab: Labels) -> bool:
    """A continuation sheet without the form's title (绩效指标完成情况表): the score, the grade or
    the indicator table's header."""
    words = lab.section_words
    return not words.isdisjoint(sv.labels.values())


def _value_right(sv: SheetView, rc, lab: Labels) -> Fact | None:
    v = sv.value_right(rc, lab.all_facts)
    text = sv.text(v)
    if not text:
        return None
    return Fact(text, sv.ref(v), sv.raw(v))


def _facts(sv: SheetView, lab: Labels, form: UnitForm) -> None:
    """Scalar facts (facts.py); the sections below them are read here."""
    def structural(key: str, rc, raw: str) -> None:
        if key == "goals_expected":
            goals(sv, lab, form, rc)
        elif key == "indicator_header":
            indicators(sv, lab, form, rc)
        elif key == "evaluator_name":
            _evaluators(sv, form, rc)
        elif key == "report":
            form.report = _report_below(sv, rc)

    read_facts(sv, lab, form, structural)


def _evaluators(sv: SheetView, form: UnitForm, rc) -> None:
    r, c = rc
    heads = sorted(cc for (rr, cc) in sv.labels if rr == r and cc > c)
    for rr in range(sv.span(rc)[2] + 1, min(sv.g.nrows, r + 30)):
        name = sv.text((rr, c))
        if not name or len(name) > 20 or "：" in name or ":" in name:
            break
        rec = {"name": name, "cell": sv.ref((rr, c))}
        for key, cc in zip(("title", "org", "signature"), heads):
            rec[key] = sv.text((rr, cc))
        form.evaluators.append(rec)


def _report_below(sv: SheetView, rc) -> Fact | None:
    """The narrative: every text cell under the report heading, joined."""
    r1, c1, r2, c2 = sv.span(rc)
    texts, first = [], None
    for (rr, cc) in sorted(k for k in sv.g.values if k[0] > r2):
        t = sv.text((rr, cc))
        if t:
            texts.append(t)
            first = first or (rr, cc)
    if not texts:
        return None
    return Fact("\n".join(texts), sv.ref(first), texts[0][:200])


def _report_sheet(sv: SheetView, lab: Labels) -> Fact | None:
    """A sheet holding only the narrative report (no tables)."""
    heads = sv.find(lab.facts["report"])
    if heads:
        return _report_below(sv, heads[0])
    long_texts = sorted(rc for rc, v in sv.g.values.items() if isinstance(v, str) and len(v) > 200 and "万元" in v)
    if long_texts:
        rc = long_texts[0]
        return Fact("\n".join(sv.text(k) for k in long_texts), sv.ref(rc), sv.text(rc)[:200])
    return None


def _hidden(sv: SheetView, form: UnitForm) -> None:
    g = sv.g
    if not (g.hidden_rows or g.hidden_cols):
        return
    for row in form.rows:
        for amt in row.amounts.values():
            if amt.status == "blank":
                continue
            r, c = ref_to_rc(amt.cell)
            if r in g.hidden_rows or c in g.hidden_cols:
                what = "行" if r in g.hidden_rows else "列"
                form.issues.append(Issue("HIDDEN_CONTENT", amt.cell, row.block, amt.field, row.org,
                                         amt.raw, f"{amt.cell} 的数字“{amt.raw}”所在的{what}被隐藏"))
