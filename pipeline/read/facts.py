"""The form's scalar facts (unit, year, dates, contact, phone, staff, score, grade, filler).

Decision order for each fact: a label cell whose whole text is the label takes the value in the
cell right of it (unless that cell is itself a label); a cell holding `label：value` pairs gives
each pair (the value cut where the next label starts); the first occurrence in reading order wins.
The year: an explicit 年度 label, else the first cell that is only a year line（二〇二一年度）,
else the title's year, else any text with “年度” and a year — never the report's text.
"""
from __future__ import annotations

from decimal import Decimal

from ..models import Fact, FIELD_LABELS, Issue, UnitForm
from .labels import Labels, norm
from .numbers import parse_amount
from .sheet import SheetView
from .tokens import date_value, grade_value, inline_pairs, phone_value, score_text, year_in, year_line

SCALAR = {"unit", "fill_date", "contact", "phone", "staff_quota", "staff_actual", "duties", "work",
          "overall", "score", "grade", "filler", "year"}
FORM_TITLE = "整体支出绩效自评表"
_LABELS = {"fill_date": "填报日期", "filler": "填报人", "duties": "职能职责概述", "work": "年度主要工作内容",
           "overall": "总体运行情况"}


def read_facts(sv: SheetView, lab: Labels, form: UnitForm, structural) -> None:
    """Fill form's scalar facts; structural(key, rc) handles the goal, indicator, evaluator and
    report sections (parse.py)."""
    found: set[str] = set()
    years: list[tuple[int, tuple, str, str]] = []   # (priority, rc, year, raw)
    fact_of = lab.fact_of
    # most texts are neither a label, nor `label：value`, nor a year: filtered in one pass
    known = lab.fact_labels
    cands = [(rc, label) for rc, label in sv.labels.items() if label in known or ":" in label or "年" in label]
    cands.sort()
    for rc, label in cands:
        key = fact_of(label)
        raw = sv.text(rc)
        if key is not None:
            if key in found:
                continue
            if key not in SCALAR:
                found.add(key)
                structural(key, rc, raw)
                continue
            fact = _value_of(sv, lab, form, key, rc)
            if fact is not None:
                found.add(key)
                _set(form, key, fact)
            continue
        if ":" in label and len(raw) <= 160 and lab.inline is not None:
            pairs = inline_pairs(raw, lab.inline)
            for i, (word, value, _) in enumerate(pairs):
                k = lab.fact_of(norm(word))
                if k is None or k in found or k not in SCALAR:
                    continue
                if value:
                    fact = _typed(sv, k, Fact(value, sv.ref(rc), raw), None)
                elif i == len(pairs) - 1:
                    fact = _value_of(sv, lab, form, k, rc)
                else:
                    fact = None
                if fact is not None:
                    found.add(k)
                    _set(form, k, fact)
            if pairs:
                continue
        if "年" in label and len(label) <= 80:
            y = year_line(raw) if len(label) <= 24 else None
            if y:
                years.append((1, rc, y, raw))
            elif FORM_TITLE in label or ("自评" in label and "表" in label):
                y = year_in(raw)
                if y:
                    years.append((2, rc, y, raw))
            elif "年度" in label and len(label) <= 60:
                y = year_in(raw)
                if y:
                    years.append((3, rc, y, raw))
    if form.year is None and years:
        _, rc, y, raw = min(years, key=lambda t: (t[0], t[1]))
        form.year = Fact(y, sv.ref(rc), raw)
    if form.score is None and form.grade is not None:
        _, sc = grade_value(str(form.grade.raw))
        if sc is not None:
            form.score = Fact(Decimal(sc), form.grade.cell, form.grade.raw)


def _set(form: UnitForm, key: str, fact: Fact | None) -> None:
    if getattr(form, key) is None:
        setattr(form, key, fact)


def _value_of(sv: SheetView, lab: Labels, form: UnitForm, key: str, rc) -> Fact | None:
    """The value cell right of a label cell, typed for the fact."""
    v = sv.value_right(rc, lab.all_facts)
    g = sv.g
    formula = g.formulas.get(v)
    if formula is not None and (v not in g.values or (sv.full_calc and not isinstance(g.values[v], str))):
        if key in ("staff_quota", "staff_actual", "score"):
            num, status, _ = sv.number(v)
            if status == "ok":
                return Fact(num, sv.ref(v), sv.raw(v))
        text = "=" + formula
        form.issues.append(Issue("FORMULA_NO_RESULT", sv.ref(v), "unit", key, "", text,
                                 f"{FIELD_LABELS.get('unit.' + key, _LABELS.get(key, key))} {sv.ref(v)} "
                                 f"是公式“{text}”，文件中没有计算结果"))
        return Fact(text, sv.ref(v), text)
    text = sv.text(v)
    if not text:
        return None
    n = sv.labels.get(v, "")
    if n in lab.all_facts or v == rc:
        return None  # the next cell is another label: this one was left blank
    if lab.inline is not None and ":" in n:
        pairs = inline_pairs(text, lab.inline)
        if pairs:
            if pairs[0][2] == 0 or not text[:pairs[0][2]].strip():
                return None  # the next cell starts with another label
            text = text[:pairs[0][2]].strip(" \u3000")  # the value, cut where the next label starts
    return _typed(sv, key, Fact(text, sv.ref(v), sv.raw(v)), v if text == sv.text(v) else None)


def _typed(sv: SheetView, key: str, fact: Fact, rc) -> Fact | None:
    """rc: the value's own cell when the fact is the whole cell (numbers read through the sheet)."""
    text = str(fact.value)
    if key in ("staff_quota", "staff_actual", "score"):
        num, status, _ = sv.number(rc) if rc is not None else parse_amount(text)
        if status != "ok" and key != "score":
            num, status, _ = parse_amount(text.rstrip("人名 "))
        if status != "ok" and key == "score":
            sc = score_text(text)
            num, status = (Decimal(sc), "ok") if sc else (None, status)
        return Fact(num if status == "ok" else None, fact.cell, fact.raw)
    if key == "grade":
        word, _ = grade_value(text)
        return Fact(word, fact.cell, fact.raw)
    if key == "fill_date":
        return Fact(date_value(text) or text, fact.cell, fact.raw)
    if key == "phone":
        return Fact(phone_value(text) or text, fact.cell, fact.raw)
    if key == "year":
        y = year_line(text) or year_in(text) or (text if text.isdigit() and len(text) == 4 else None)
        return Fact(y, fact.cell, fact.raw) if y else None
    if key in ("unit", "contact", "filler"):
        text = text.strip(" \u3000*")
        if "电话" in text and key == "filler":
            return None
        return Fact(text, fact.cell, fact.raw) if text else None
    return fact
