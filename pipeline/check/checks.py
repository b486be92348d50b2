"""One runner per rule kind: (frame, check function, detail builder for a failing row, the
columns the check reads — all the check is given).

The check functions are vectorised over the whole run; the detail builders run only for failing
rows and say which cell, what was expected and what was found.
"""
from __future__ import annotations

from decimal import Decimal
from functools import cached_property

import numpy as np

from .findings import collapse_issues, make_finding, money, yuan_blocks
from .frames import Frames, Table, frame as make_frame
from ..models import BLOCK_FIELDS, BLOCK_LABELS, FIELD_LABELS
from .crossyear import cross_year
from .indicators import indicator
from .narrative import extract
from ..read.labels import norm
from ..read.records import fmt
from .ruleset import ALL_FIELDS, Rule, RulePack

ZERO = Decimal(0)

class Prepared:
    """The run's frames plus the slim frames some rule kinds share, built once on first use."""

    def __init__(self, frames: Frames, pack: RulePack, seen: dict | None = None,
                 context: dict | None = None):
        self.f = frames
        self.context = context
        self.tol = pack.tolerance
        self.pack = pack
        self.seen = {} if seen is None else seen
        self.units = {u["uid"]: u for u in frames.unit_records}
        for uid, u in self.units.items():   # tables filled in 元: messages quote them as written
            if (yb := yuan_blocks(frames.form(uid).issues)):
                u["@yuan"] = yb

    @cached_property
    def issues(self) -> Table:
        rows = [(uid, *issue) for uid, form in enumerate(self.f.forms, self.f.uid0)
                for issue in form.issues]
        return make_frame(rows, ["uid", "code", "cell", "block", "field", "org", "raw", "detail"])

    @cached_property
    def measure_groups(self) -> list[tuple[int, list[dict]]]:
        """Per unit and value-column set (measure: final, budget, …): its org records."""
        groups: dict[tuple, list[dict]] = {}
        for rec in self.f.org_records:
            groups.setdefault((rec["uid"], rec.get("measure", "final")), []).append(rec)
        return [(k[0], v) for k, v in groups.items()]

    @cached_property
    def org_groups(self) -> dict[int, list[dict]]:
        groups: dict[int, list[dict]] = {}
        for rec in self.f.org_records:
            groups.setdefault(rec["uid"], []).append(rec)
        return groups

    def unit(self, uid) -> dict:
        return self.units[int(uid)]

    def close(self) -> None:
        """Drop what the chunk's checks cached: the indicator analysis refers back to this object,
        and a run pauses Python's cyclic GC (run.py), so a cycle would keep every chunk's frames
        (about 100 KB a form) until the run ends."""
        self.__dict__.clear()


def _org(row, block: str) -> str:
    return row.get(f"{block}@org") or row.get("org") or ""


def identity(rule: Rule, P: Prepared):
    """Screened in floats over the whole frame; a row whose float difference lies within a hair
    of the tolerance is decided again in Decimal, so the verdict is always the exact one."""
    lhs, terms = rule.lhs, rule.terms
    cols = [lhs] + [c for _, c in terms]
    rhs = [c for _, c in terms]
    blocks = {c.split(".")[0] for c in cols}
    extra = ["magnitude"] if len(blocks) > 1 else []  # a table ~10,000× the others: not across tables
    frame = P.f.orgs(["_i", "is_summary"] + extra)  # cells and names: from the record, when failing
    for c in cols:
        frame[c] = P.f.num(c)
    # a cell holding text, an error value or an uncomputed formula is its own finding (TXT-001,
    # ERR-001, FML-001): an identity through it cannot be decided and is not reported
    frame["_undecided"] = undecided(P, cols) if len(frame) else False
    req = rule.require

    def exact_ok(i: int) -> bool:
        rec = P.f.org_records[i]
        total = sum(((rec.get(c) or ZERO) * s for s, c in terms), ZERO)
        return abs((rec.get(lhs) or ZERO) - total) <= P.tol

    def fn(d):
        present = {c: ~np.isnan(d[c]) for c in cols}
        if req == "all":
            need = np.logical_and.reduce([present[c] for c in rhs])
        elif isinstance(req, list):
            need = np.logical_and.reduce([present[c] for c in req])
        else:
            need = np.logical_or.reduce([present[c] for c in rhs])
        applies = present[lhs] & need & _scope(d, rule.scope) & ~np.asarray(d["_undecided"], dtype=bool)
        if extra:
            applies &= ~np.fromiter((bool(m) and bool(blocks & set(m)) for m in d["magnitude"]),
                                    dtype=bool, count=len(d))
        filled = {c: np.where(np.isnan(d[c]), 0.0, d[c]) for c in cols}
        diff = np.abs(filled[lhs] - sum(filled[c] * s for s, c in terms))
        scale = sum(np.abs(filled[c]) for c in dict.fromkeys(cols))
        return ~applies | _within(diff, P.tol, scale, applies, d["_i"], exact_ok)

    def detail(row):
        rec = P.f.org_records[row["_i"]]
        expected = sum(((rec.get(c) or ZERO) * s for s, c in terms), ZERO)
        block, field = lhs.split(".")
        others = [rec.get(c + "@cell") for _, c in terms if rec.get(c + "@cell")]
        return [make_finding(rule, P.unit(rec["uid"]), block=block, org=_org(rec, block), field=field,
                         cell=rec[lhs + "@cell"], expected=expected, actual=rec[lhs], others=others)]
    return frame, fn, detail, cols + ["_i", "is_summary", "_undecided"] + extra


def undecided(P: Prepared, cols: list[str]) -> np.ndarray:
    """Per org row: whether any of these amount cells holds no number (text, error, formula)."""
    statuses = P.f.orgs([c + "@status" for c in cols])
    return np.fromiter((any(v in BAD_STATUS for v in row) for row in zip(*statuses.cols.values())),
                       dtype=bool, count=len(statuses))


BAD_STATUS = ("text", "error", "formula")


def _within(diff: np.ndarray, tol: Decimal, scale: np.ndarray, applies: np.ndarray, ids,
            exact_ok) -> np.ndarray:
    """diff <= tol, in floats; where a float could be on the wrong side (within a billionth of
    the amounts involved), exact_ok(id) decides in Decimal."""
    t = float(tol)
    with np.errstate(invalid="ignore"):
        ok = diff <= t
        # amounts beyond a float's range (inf, nan) are always decided in Decimal
        near = applies & (~np.isfinite(diff) | (np.abs(diff - t) <= scale * 1e-9 + 1e-9))
    for i in np.flatnonzero(near):
        ok[i] = exact_ok(ids[i])
    return ok


def _scope(d, scope: str) -> np.ndarray:
    if scope == "summary":
        return np.asarray(d["is_summary"], dtype=bool)
    if scope == "sub":
        return ~np.asarray(d["is_summary"], dtype=bool)
    return np.ones(len(d), dtype=bool)


def _bools(values, n: int) -> np.ndarray:
    return np.fromiter(values, dtype=bool, count=n)


def none_fail(d) -> np.ndarray:
    """Every row of the frame is a finding (runners that build rows only for what fails)."""
    return np.zeros(len(d), dtype=bool)


def rollup(rule: Rule, P: Prepared):
    uids, keys, sums, subsums, gs = [], [], [], [], []
    for g, (uid, recs) in enumerate(P.measure_groups):  # each value column set on its own
        summary = next((r for r in recs if r["is_summary"]), None)
        if summary is None:
            continue
        subs = [r for r in recs if not r["is_summary"]]
        for key in rule.fields:
            s = summary.get(key)
            if s is None or any(r.get(key + "@status") in BAD_STATUS for r in recs):
                continue   # a cell with no number is its own finding: the sum cannot be decided
            vals = [v for v in (r.get(key) for r in subs) if v is not None]
            if vals:
                uids.append(uid)
                keys.append(key)
                sums.append(s)
                subsums.append(sum(vals, ZERO))
                gs.append(g)
    frame = make_frame(zip(uids, keys, sums, subsums, gs), ["uid", "key", "summary", "subsum", "g"])

    def fn(d):
        return _bools((abs(a - b) <= P.tol for a, b in zip(d["summary"], d["subsum"])), len(d))

    def detail(row):
        key = row["key"]
        block, field = key.split(".")
        recs = P.measure_groups[row["g"]][1]
        summary = next(r for r in recs if r["is_summary"])
        others = [r[key + "@cell"] for r in recs if not r["is_summary"] and r.get(key) is not None]
        return [make_finding(rule, P.unit(row["uid"]), block=block, org=_org(summary, block), field=field,
                         cell=summary[key + "@cell"], expected=row["subsum"], actual=row["summary"],
                         others=others)]
    return frame, fn, detail, ["summary", "subsum"]


def nonnegative(rule: Rule, P: Prepared):
    """On the org rows: a row fails when any listed amount is negative; one finding per cell.
    (A Decimal's sign survives the float.)"""
    keys = list(rule.fields)
    frame = P.f.orgs(["_i"])
    frame["negative"] = np.any([P.f.num(k) < 0 for k in keys], axis=0) if keys and len(frame) else False

    def bad(v) -> bool:
        return v is not None and v < 0

    return frame, (lambda d: ~np.asarray(d["negative"], dtype=bool)), _cells_detail(rule, P, keys, bad), ["negative"]


def cell_status(rule: Rule, P: Prepared):
    """On the org rows: a row fails when any amount cell has this status (text, error, formula)."""
    status = rule.params.get("status", "text")
    cols = [k + "@status" for k in ALL_FIELDS]

    def fn(d):
        return _bools((status not in row for row in zip(*(d[c] for c in cols))), len(d))

    return P.f.orgs(["_i"] + cols), fn, _cells_detail(rule, P, ALL_FIELDS, None, status), cols


def _cells_detail(rule: Rule, P: Prepared, keys, bad=None, status=None):
    def detail(row):
        row = P.f.org_records[row["_i"]]
        out = []
        for key in keys:
            v = row.get(key)
            if (bad is not None and bad(v)) or (status is not None and row.get(key + "@status") == status):
                block, field = key.split(".")
                raw = row.get(key + "@raw") or ""
                out.append(make_finding(rule, P.unit(row["uid"]), block=block, org=_org(row, block),
                                    field=field, cell=row[key + "@cell"], expected="",
                                    actual=v if v is not None else raw, raw=raw))
        return out
    return detail


def score_range(rule: Rule, P: Prepared):
    lo, hi = Decimal(str(rule.params.get("min", 0))), Decimal(str(rule.params.get("max", 100)))
    frame = P.f.units(["uid", "f_score", "f_score@cell", "f_score@raw"])

    def fn(d):
        return _bools((not (v is not None and (v < lo or v > hi)) for v in d["f_score"]), len(d))

    def detail(row):
        return [make_finding(rule, P.unit(row["uid"]), block="unit", org="", field="score",
                         cell=row["f_score@cell"], expected=f"{lo}–{hi}", actual=row["f_score"],
                         raw=row["f_score@raw"])]
    return frame, fn, detail, ["f_score"]


def grade_for(score: Decimal, bands) -> str:
    for name, low in bands:
        if score >= Decimal(str(low)):
            return name
    return bands[-1][0]


def grade(rule: Rule, P: Prepared):
    bands = sorted(rule.params.get("bands", []), key=lambda b: -Decimal(str(b[1])))
    syn = {norm(k): v for k, v in rule.params.get("synonyms", {}).items()}
    names = {b[0] for b in bands}
    frame = P.f.units(["uid", "f_score", "f_score@cell", "f_grade", "f_grade@cell"])
    frame["expected"] = [grade_for(s, bands) if s is not None and 0 <= s <= 100 else None
                         for s in frame["f_score"]]
    frame["written"] = [None if g is None else syn.get(norm(str(g)), norm(str(g))) for g in frame["f_grade"]]

    def fn(d):
        return _bools((e is None or w is None or w == e for e, w in zip(d["expected"], d["written"])), len(d))

    def detail(row):
        return [make_finding(rule, P.unit(row["uid"]), block="unit", org="", field="grade",
                         cell=row["f_grade@cell"], expected=row["expected"], actual=str(row["f_grade"]),
                         others=[row["f_score@cell"]], extra={"score": _fmt(row["f_score"]),
                                                              "known": "、".join(sorted(names))})]
    return frame, fn, detail, ["expected", "written"]


def _fmt(v):
    return fmt(v) if isinstance(v, Decimal) else str(v)


def required(rule: Rule, P: Prepared):
    facts = rule.params.get("facts", ["unit", "year", "contact", "score", "grade"])
    rows = [(uid, fact, u.get("f_" + fact) not in (None, "")) for uid, u in P.units.items() for fact in facts]
    frame = make_frame(rows, ["uid", "fact", "present"])

    def detail(row):
        return [make_finding(rule, P.unit(row["uid"]), block="unit", org="", field=row["fact"], cell="",
                         expected="", actual="")]
    return frame, (lambda d: np.asarray(d["present"], dtype=bool)), detail, ["present"]


def compare(rule: Rule, P: Prepared):
    left, right = (s.strip() for s in rule.formula.split("<=", 1))
    on_units = left.startswith("unit.")
    if on_units:
        lc, rc = "f_" + left.split(".")[1], "f_" + right.split(".")[1]
        src = P.f.units(["uid", lc, rc, lc + "@cell", rc + "@cell"])
        names = {lc: "L", rc: "R", lc + "@cell": "Lcell", rc + "@cell": "Rcell"}
    else:
        src = P.f.orgs(["uid", "org", left, right, left + "@cell", right + "@cell"])
        names = {left: "L", right: "R", left + "@cell": "Lcell", right + "@cell": "Rcell"}
    frame = Table({names.get(c, c): v for c, v in src.cols.items()}, len(src))
    if on_units:
        frame["org"] = ""

    def fn(d):
        return _bools((not (a is not None and b is not None and a - b > P.tol)
                       for a, b in zip(d["L"], d["R"])), len(d))

    def detail(row):
        block, field = left.split(".")
        return [make_finding(rule, P.unit(row["uid"]), block=block, org=row["org"], field=field,
                         cell=row["Lcell"], expected=row["R"], actual=row["L"], others=[row["Rcell"]])]
    return frame, fn, detail, ["L", "R"]


def duplicate(rule: Rule, P: Prepared):
    """A unit (name and year) met before in the run: flagged where it comes again, with the
    count and the first file only (a message naming every copy grows with the square of the
    copies). The run's memory of earlier units is P.seen, kept per rule across chunks."""
    versions = (P.context or {}).get("versions")
    if versions is not None:
        return _versions(rule, P, versions)
    met: dict[str, list] = P.seen.setdefault(rule.id, {})   # key → [first file, copies so far]
    frame = P.f.units(["uid", "file", "unit", "year", "f_unit@cell"])
    before = []
    for unit, year, file in zip(frame["unit"], frame["year"], frame["file"]):
        if not unit:
            before.append((0, ""))
            continue
        seen = met.setdefault(norm(unit) + "|" + str(year), [file, 0])
        before.append((seen[1], seen[0]))
        seen[1] += 1
    frame["before"] = before

    def detail(row):
        count, first = row["before"]
        return [make_finding(rule, P.unit(row["uid"]), block="unit", org="", field="unit",
                         cell=row["f_unit@cell"], expected="", actual=row["unit"],
                         extra={"count": count + 1, "first": first})]
    return frame, (lambda d: _bools((b[0] == 0 for b in d["before"]), len(d))), detail, ["before"]


def _versions(rule: Rule, P: Prepared, versions: dict):
    """With the collection's store, which knows the order of every submission: a form that is
    not its unit-year's first is information (version_message, version_severity), not a warning;
    a copy of a form met earlier in the run (the same bytes) is the same version (same_message).
    versions: uid → (第 N 版, the earlier versions' files, that copy's first file or "")."""
    import dataclasses

    sev = rule.params.get("version_severity", "info")
    later = dataclasses.replace(rule, severity=sev,
                                message=rule.params.get("version_message", "第 {version} 版，替代 {earlier}"))
    copy = dataclasses.replace(rule, severity=sev,
                               message=rule.params.get("same_message", "与 {first} 内容相同，是同一版本（第 {version} 版）"))
    rows = [(uid, n, "、".join(earlier), same) for uid, (n, earlier, same) in versions.items() if uid in P.units]
    frame = make_frame(rows, ["uid", "version", "earlier", "same"])

    def detail(row):
        u = P.unit(row["uid"])
        return [make_finding(copy if row["same"] else later, u, block="unit", org="", field="unit",
                             cell=u.get("f_unit@cell", ""), expected="", actual=u.get("unit", ""),
                             extra={"version": row["version"], "earlier": row["earlier"], "first": row["same"]})]
    return frame, none_fail, detail, ["uid"]


def reader_issue(rule: Rule, P: Prepared):
    code = rule.params.get("code", "")

    def detail(row):
        return [make_finding(rule, P.unit(row["uid"]), block=row["block"], org=row["org"], field=row["field"],
                         cell=row["cell"], expected="", actual=row["raw"], raw=row["raw"],
                         extra={"detail": row["detail"]})]
    return collapse_issues(P.issues, code), (lambda d: _bools((c != code for c in d["code"]), len(d))), detail, ["code"]


def narrative(rule: Rule, P: Prepared):
    wanted = set(rule.fields)
    rows, seen = [], set()
    for uid, u in P.units.items():
        figures = P.f.form(uid).report_figures
        if figures is None:  # forms read outside a run
            figures = extract(str(u.get("f_report") or ""), u.get("year") or None)
        for field, stated, frag in figures:
            table = u.get(field)
            if field.split(".")[0] in (u.get("magnitude") or ()):
                continue  # the table is ~10,000× its report: one MAG-001 instead
            if field not in wanted or table is None or (uid, field, stated) in seen:
                continue
            seen.add((uid, field, stated))
            rows.append((uid, field, stated, table, u.get(field + "@cells", ""), frag, u.get("f_report@cell", "")))
    frame = make_frame(rows, ["uid", "key", "stated", "table", "cells", "frag", "cell"])

    def fn(d):
        return _bools((abs(a - b) <= P.tol for a, b in zip(d["stated"], d["table"])), len(d))

    def detail(row):
        return [make_finding(rule, P.unit(row["uid"]), block="report", org="", field=row["key"],
                         cell=row["cell"], expected=row["table"], actual=row["stated"],
                         others=[c for c in str(row["cells"]).split(",") if c], raw=row["frag"],
                         label=FIELD_LABELS[row["key"]])]
    return frame, fn, detail, ["stated", "table"]


def summary_blank(rule: Rule, P: Prepared):
    rows = []
    for uid, recs in P.measure_groups:
        summary = next((r for r in recs if r["is_summary"]), None)
        if summary is None:
            continue
        for block, fields in BLOCK_FIELDS.items():
            cols = [f"{block}.{f}" for f in fields]
            if summary.get(f"{block}@org") is None or any(summary.get(c) is not None or
                                                          summary.get(c + "@status") in BAD_STATUS for c in cols):
                # a summary cell with text or an error value is filled: its TXT-001 / ERR-001 is the finding
                continue
            filled = [r[f"{block}.total@cell"] for r in recs if not r["is_summary"]
                      and any(r.get(c) is not None for c in cols)]
            if filled:
                rows.append((uid, block, summary[f"{block}.total@cell"], filled, _org(summary, block)))
    frame = make_frame(rows, ["uid", "block", "cell", "others", "org"])

    def detail(row):
        return [make_finding(rule, P.unit(row["uid"]), block=row["block"], org=row["org"], field="total",
                         cell=row["cell"], expected="", actual="", others=row["others"],
                         label=BLOCK_LABELS[row["block"]])]
    return frame, none_fail, detail, ["block"]


def ratio(rule: Rule, P: Prepared):
    """On the org rows: numerator ÷ denominator below min, both filled and the denominator above
    0 (预算执行率 = 执行数 ÷ 调整后预算数; the denominator a budget column, see read/records.py)."""
    num, den = rule.params["numerator"], rule.params["denominator"]
    lo = Decimal(str(rule.params.get("min", "0.9")))
    src = P.f.orgs(["_i", "uid", num, den])
    frame = Table({"_i": src["_i"], "uid": src["uid"], "N": src[num], "D": src[den]}, len(src))

    def fn(d):
        return _bools((not (n is not None and q is not None and q > 0 and n / q < lo)
                       for n, q in zip(d["N"], d["D"])), len(d))

    def detail(row):
        rec = P.f.org_records[row["_i"]]
        block, field = num.split(".")
        rate = (row["N"] / row["D"] * 100).quantize(Decimal("0.1"))
        return [make_finding(rule, P.unit(rec["uid"]), block=block, org=_org(rec, block), field=field,
                             cell=rec.get(num + "@cell", ""), expected=f"{lo * 100:.0f}%",
                             actual=f"{rate}%", others=[rec.get(den + "@cell", "")],
                             extra={"rate": f"{rate}%", "plan": money(row["D"]), "final": money(row["N"]),
                                    "min": f"{lo * 100:.0f}%"})]
    return frame, fn, detail, ["N", "D"]


RUNNERS = {"identity": identity, "rollup": rollup, "nonnegative": nonnegative,
           "cell_status": cell_status, "score_range": score_range, "grade": grade,
           "required": required, "compare": compare, "duplicate": duplicate,
           "reader_issue": reader_issue, "narrative": narrative, "summary_blank": summary_blank, "ratio": ratio,
           "indicator": indicator, "cross_year": cross_year}
