"""The indicator rules (kind "indicator"): completions that miss their targets, the same count told
twice with two numbers, and 分值/得分 against the indicators and the overall score.

Per unit, in pure Python over the texts a FormPack carries (read/indicators.py); every check of a
chunk is computed once and shared by the rules of this kind (rule.params["check"] picks one).
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from .findings import make_finding
from .frames import frame as make_frame
from .quantities import Qty, misses, names_match, overlap, quantities, related, told
from .vocab import Vocab
from ..read.records import fmt

from .vocab import CHECKS
# sections of a form, most trusted first: a disagreement without a majority is flagged on the later
SECTIONS = {"indicator": "定量指标完成情况", "goals": "定性目标完成情况", "work": "年度主要工作内容",
            "overall": "总体运行情况", "report": "评价报告"}
_ORDER = {s: i for i, s in enumerate(SECTIONS)}


def _texts_of(pack) -> tuple:
    texts = getattr(pack, "texts", None)
    return texts if texts else ((), (), None, None)


# ---------------------------------------------------------------- targets

def target_misses(inds: tuple, v: Vocab, tol: Decimal, year: str | None = None) -> list[dict]:
    """Each completion figure that misses its target: the target in its own row, or (for a rate
    named in the completion and absent from its row's target) the one row whose target names it."""
    rows = []
    for ind in inds:
        target, result = ind[3], ind[5]
        rows.append((ind, quantities(target, v, year) if target else [],
                     quantities(result, v, year) if result else []))
    by_name: dict[str, list[tuple]] = {}
    for ind, tq, _ in rows:
        for q in tq:
            if q.unit == "%":
                for n in q.names:
                    by_name.setdefault(n, []).append((ind, q))
    out = []
    for ind, tq, cq in rows:
        for c in cq:
            hit = _same_row(c, tq, cq)
            if hit is None and c.unit == "%" and c.names:
                cands = {(i[2], q.start): (i, q) for n in c.names for i, q in by_name.get(n, ()) if i is not ind}
                if len(cands) == 1 and not any(q.unit == "%" and names_match(q.names, c.names) for q in tq):
                    t_ind, t = next(iter(cands.values()))
                    hit = (t_ind, t)
            elif hit is not None:
                hit = (ind, hit)
            if hit is None:
                continue
            t_ind, t = hit
            if misses(t, c, v, tol):
                out.append({"ind": ind, "t_ind": t_ind, "target": t, "done": c})
    return out


def _same_row(c: Qty, tq: list[Qty], cq: list[Qty]) -> Qty | None:
    same = [t for t in tq if t.unit == c.unit]
    if not same:
        return None
    if c.names:
        exact = [t for t in same if names_match(t.names, c.names, exact=True)]
        if len(exact) == 1:
            return exact[0]
        named = [t for t in same if t.names and names_match(t.names, c.names)]
        if len(named) == 1 and not exact:
            t = named[0]
            # 群众满意率95%、企业满意率88% against 满意率≥90%: the figure named exactly answers it
            if any(o is not c and names_match(t.names, o.names, exact=True) for o in cq):
                return None
            return t
        if named or exact or any(t.names for t in same):
            return None
    if c.unit != "%" and c.key:
        keyed = [t for t in same if t.key and (t.key.endswith(c.key) or c.key.endswith(t.key))
                 and min(len(t.key), len(c.key)) >= 2 and related(t.after, c.after)]
        if len(keyed) == 1:
            return keyed[0]
    if len(same) == 1 and sum(1 for q in cq if q.unit == c.unit) == 1:
        t = same[0]
        if c.unit == "%" or (related(t.key, c.key) and related(t.after, c.after)):
            return t
    return None


# ---------------------------------------------------------------- told twice

def sections(pack, report: tuple | None) -> list[tuple[str, str, str]]:
    """(section, cell, text) of every text that states what was done."""
    goals, inds, work, overall = _texts_of(pack)
    out = [("indicator", i[4], i[5]) for i in inds if i[5]]
    out += [("goals", g[2], g[3]) for g in goals if g[3]]
    if work:
        out.append(("work", *work))
    if overall:
        out.append(("overall", *overall))
    if report and report[1]:
        out.append(("report", *report))
    return out


def contradictions(texts: list[tuple[str, str, str]], v: Vocab, year: str | None = None) -> list[dict]:
    """Counts of one key noun and measure word told with ranges that cannot both hold, in
    different cells. A text with one figure (or several that agree) for that noun is compared as
    a whole; a text with several different figures only by the words just before the noun
    (日常考核 · 错时考核). The figure most texts agree on stands; the others are flagged."""
    groups: dict[tuple, list] = {}
    for order, (section, cell, text) in enumerate(texts):
        for s in told(text, v, year):
            groups.setdefault((s.noun, s.measure), []).append((order, section, cell, s))
    out, flagged = [], set()
    for key, items in groups.items():
        per_text: dict[int, list] = {}
        for it in items:
            per_text.setdefault(it[0], []).append(it)
        if len(per_text) < 2:
            continue
        single: dict[str, list] = {}
        by_qual: dict[str, list] = {}
        for its in per_text.values():
            agree = all(overlap(its[0][3], o[3]) for o in its[1:])
            if agree:
                single.setdefault(its[0][3].mark, []).append(its[0])
            quals: dict[str, list] = {}
            for it in its:
                if it[3].qualifier:
                    quals.setdefault(it[3].qualifier, []).append(it)
            for q, qi in quals.items():
                if all(overlap(qi[0][3], o[3]) for o in qi[1:]):
                    by_qual.setdefault(q, []).append(qi[0])
        for members in list(single.values()) + list(by_qual.values()):
            for bad, refs in _disagreeing(members):
                ident = (bad[2], key)
                if ident not in flagged:
                    flagged.add(ident)
                    out.append({"bad": bad, "refs": refs, "noun": key[0], "measure": key[1]})
    return out


def _disagreeing(members: list) -> list:
    if len(members) < 2 or all(overlap(members[0][3], m[3]) for m in members[1:]):
        return []
    support = [sum(overlap(m[3], o[3]) for o in members) for m in members]
    best = max(range(len(members)), key=lambda i: (support[i], -_ORDER[members[i][1]], -members[i][0]))
    ref = members[best]
    refs = [m for m in members if overlap(m[3], ref[3])]
    return [(m, refs) for m in members if not overlap(m[3], ref[3])]


# ---------------------------------------------------------------- 分值 / 得分

def points(inds: tuple) -> list[tuple]:
    """(indicator, weight, points) of the rows that carry a 得分; a 小计/合计 row sums the others."""
    return [(i, i[7], i[9]) for i in inds if i[8] and i[9] is not None
            and not any(w in f"{i[0]}{i[1]}{i[3]}" for w in ("小计", "合计", "总计"))]


# ---------------------------------------------------------------- the rule kind

class _Analysis:
    """Every check's hits for one chunk, computed on first use."""

    def __init__(self, P, v: Vocab):
        self.P, self.v, self.done = P, v, {}

    def hits(self, check: str, tol: Decimal) -> list[tuple[int, dict]]:
        key = (check, tol)
        if key not in self.done:
            self.done[key] = [(uid, h) for uid, u in self.P.units.items()
                              for h in self._guarded(check, uid, u, tol)]
        return self.done[key]

    def _guarded(self, check: str, uid: int, u: dict, tol: Decimal) -> list[dict]:
        """A text these checks cannot make sense of costs its own form these findings, never the
        run (no such text is known: the figures are fuzzed in the tests)."""
        try:
            return self._unit(check, uid, u, tol)
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError):
            return []

    def _unit(self, check: str, uid: int, u: dict, tol: Decimal) -> list[dict]:
        pack = self.P.f.form(uid)
        goals, inds, work, overall = _texts_of(pack)
        if check == "target":
            return target_misses(inds, self.v, tol, u.get("year") or None)
        if check == "repeat":
            report = (u.get("f_report@cell", ""), str(u.get("f_report") or ""))
            return contradictions(sections(pack, report), self.v, u.get("year") or None)
        pts = points(inds)
        if check == "points_sum":
            score = u.get("f_score")
            if not pts or not isinstance(score, Decimal):
                return []
            total = sum((p for _, _, p in pts), Decimal(0))
            return [{"total": total, "score": score, "pts": pts}] if abs(total - score) > tol else []
        if check == "points_range":
            return [{"ind": i, "w": w, "p": p} for i, w, p in pts
                    if p < 0 or (w is not None and p > w + tol)]
        if check == "full_points":
            if not pts:
                return []
            missed = {h["ind"][4]: h for h in target_misses(inds, self.v, tol, u.get("year") or None)}
            return [{"ind": i, "w": w, "p": p, "miss": missed[i[4]]} for i, w, p in pts
                    if w is not None and w > 0 and abs(p - w) <= tol and i[4] in missed]
        return []


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def _fig(value: Decimal, unit: str) -> str:
    return fmt(value) + unit


def indicator(rule, P):
    """The runner of kind "indicator" (see checks.py): one slim row per hit, all failing."""
    v: Vocab = P.pack.vocab
    tol = Decimal(str(rule.params.get("tolerance", "0")))
    check = rule.params.get("check", "")
    cache = P.__dict__.setdefault("_indicator_analysis", _Analysis(P, v))
    hits = cache.hits(check, tol) if check in CHECKS else []
    frame = make_frame([(uid, i) for i, (uid, _) in enumerate(hits)], ["uid", "k"])

    def detail(row):
        uid, h = hits[row["k"]]
        return [_finding(rule, check, P.unit(uid), h)]
    return frame, (lambda d: np.zeros(len(d), dtype=bool)), detail, ["uid"]


def _finding(rule, check: str, unit: dict, h: dict):
    if check == "target":
        t, c, ind, t_ind = h["target"], h["done"], h["ind"], h["t_ind"]
        name = (c.names or t.names or (c.key,))[0] or ind[1] or "指标"
        return make_finding(rule, unit, block="indicator", org="", field=name, cell=ind[4] or ind[2],
                            expected=t.written, actual=c.written, others=[t_ind[2]], raw=_clip(c.frag),
                            extra={"measure": name, "target_raw": _clip(t.frag), "target_cell": t_ind[2]})
    if check == "repeat":
        (_, section, cell, s), refs = h["bad"], h["refs"]
        ref_cells = list(dict.fromkeys(r[2] for r in refs))
        ref_sections = "、".join(dict.fromkeys(SECTIONS[r[1]] for r in refs))
        return make_finding(rule, unit, block=section, org="", field=h["noun"], cell=cell,
                            expected=refs[0][3].written, actual=s.written, others=ref_cells,
                            raw=_clip(s.frag), label=h["noun"],
                            extra={"section": SECTIONS[section], "other_sections": ref_sections,
                                   "other_raw": _clip(refs[0][3].frag), "noun": h["noun"],
                                   "measure": h["measure"]})
    if check == "points_sum":
        cells = [i[8] for i, _, _ in h["pts"]]
        return make_finding(rule, unit, block="unit", org="", field="score", cell=unit.get("f_score@cell", ""),
                            expected=h["total"], actual=h["score"], others=cells,
                            extra={"count": len(cells)})
    ind = h["ind"]
    name = ind[1] or ind[0] or "指标"
    if check == "points_range":
        return make_finding(rule, unit, block="indicator", org="", field=name, cell=ind[8],
                            expected=f"0–{fmt(h['w'])}" if h["w"] is not None else "≥0", actual=h["p"],
                            others=[ind[6]] if ind[6] else [], raw=ind[10], label=name,
                            extra={"weight": fmt(h["w"]) if h["w"] is not None else "",
                                   "target_raw": _clip(ind[3])})
    miss = h["miss"]
    return make_finding(rule, unit, block="indicator", org="", field=name, cell=ind[8],
                        expected=miss["target"].written, actual=h["p"],
                        others=[ind[4], miss["t_ind"][2]], raw=_clip(miss["done"].frag), label=name,
                        extra={"weight": fmt(h["w"]), "target_raw": _clip(miss["target"].frag),
                               "result_cell": ind[4], "target_cell": miss["t_ind"][2]})
