"""Figures in a form's texts: (measure, comparison, number, unit) for indicator targets and
completions, and (key noun, measure word, range) for counts told in several places.

Pure Python and regular expressions; the vocabulary comes from the rule pack (vocab.py).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal

from .vocab import Vocab

D = Decimal
INF = D("Infinity")
_MAG = {"万": D(10000), "千": D(1000), "亿": D(100000000), None: D(1)}
# both widths throughout: the text is never rewritten, so positions are those of the text as typed
_CLAUSE = re.compile(r"[,，;；。!！?？\n]|(?:^|(?<=[^\d.．]))\d{1,2}[、.．](?!\d)|[(（]\d{1,2}[)）]")
_STOP = re.compile(r"[,，;；。!！?？\n、:：]")
_CLAUSE_END = re.compile(r"[,，;；。!！?？\n:：]")
_RATE = re.compile(r"([\u4e00-\u9fff]{1,10}?)率")
_CJK_TAIL = re.compile(r"[\u4e00-\u9fff]+$")
_CJK_HEAD = re.compile(r"[\u4e00-\u9fff]{1,4}")
_YEARS = re.compile(r"((?:19|20)\d{2})\s*年")
_ENUM = re.compile(r"^\s*(?:\d{1,2}[、.．]|[(（]\d{1,2}[)）]|[一二三四五六七八九十]{1,3}、)\s*")
_DIGIT = re.compile(r"\d")
_TWO_CJK = re.compile(r"[\u4e00-\u9fff]{2}")


@dataclass(frozen=True, slots=True)
class Qty:
    """One figure: value (magnitude applied), unit ('%' or a measure word), cmp ('>=' '<=' '~'
    '<' '=' or ''), more (余/多), names (rate words such as 亮灯率), key (the words before it),
    span in the text, and the stretch it was read from."""
    value: D
    unit: str
    cmp: str
    more: bool
    names: tuple[str, ...]
    key: str
    start: int
    end: int
    frag: str
    written: str          # the figure as typed, with its comparison words ("≥96%", "95%以上")
    after: str = ""       # the words right after a count (3个项目 → 项目)


def head_word(head: str, v: Vocab) -> tuple[str, int]:
    """The comparison word a stretch ends with (spaces and a colon after it allowed) and how
    many characters it takes from the end, or ("", 0)."""
    h = head.rstrip(" :：\u3000")
    for n in v.word_lengths:
        w = h[-n:]
        if len(w) == n and w in v.kinds:
            return w, len(head) - len(h) + n
    return "", 0


def clauses(text: str):
    """(start, end) of each clause: split at commas, semicolons, full stops, line breaks and
    enumerations (1、 2. (3))."""
    pos = 0
    for m in _CLAUSE.finditer(text):
        if m.start() > pos:
            yield pos, m.start()
        pos = m.end()
    if pos < len(text):
        yield pos, len(text)


def rate_names(head: str, v: Vocab) -> tuple[str, ...]:
    """Rate words in a stretch (确保亮灯率 → 亮灯率): fillers off the front, at most 4 characters
    before 率."""
    out = []
    for m in _RATE.finditer(head):
        stem = m.group(1)
        changed = True
        while changed:
            changed = False
            for f in v.name_fillers:
                if stem.startswith(f) and len(stem) > len(f):
                    stem, changed = stem[len(f):], True
        out.append(stem[-4:] + "率")
    return tuple(dict.fromkeys(out))


def names_match(a: tuple[str, ...], b: tuple[str, ...], exact: bool = False) -> bool:
    for x in a:
        for y in b:
            if x == y:
                return True
            if not exact:
                short, long = (x, y) if len(x) <= len(y) else (y, x)
                if len(short) >= 3 and long.endswith(short):
                    return True
    return False


def other_year(clause: str, year: str | None) -> bool:
    """The clause names a year and not the form's own (2020年投诉350起 on a 2021 form)."""
    years = _YEARS.findall(clause)
    return bool(years) and (not year or year not in years)


def quantities(text: str, v: Vocab, year: str | None = None) -> list[Qty]:
    """Every figure with a unit in text, with its comparison; figures in a clause that speaks of a
    change, an average or a rate per period (skip words) and ordinals (第3次) are left out."""
    if not _DIGIT.search(text):
        return []   # most completions are words (均达到预期管理要求)
    t = text
    out = []
    for cs, ce in clauses(t):
        clause = t[cs:ce]
        if (v.skip_re is not None and v.skip_re.search(clause)) or other_year(clause, year):
            continue
        prev = 0
        for m in v.qty.finditer(clause):
            head = clause[prev:m.start()]
            prev = m.end()
            if head.endswith("第"):
                continue
            cmp = ""
            tail = v.tail_cmp.match(clause, m.end()) if v.tail_cmp is not None else None
            if tail:
                cmp = v.kinds[tail.group(1)]
            hw, hlen = head_word(head, v)
            if hw and (not cmp or cmp == "="):
                cmp = v.kinds[hw]
            w_start = m.start() - (hlen if hw and v.kinds[hw] != "=" else 0)
            w_end = tail.end() if tail else m.end()
            value = D(m.group(1).replace("．", ".")) * _MAG[m.group(2)]
            unit = "%" if m.group(4) == "％" else m.group(4)
            key_head = head[:len(head) - hlen] if hw else head
            kt = _CJK_TAIL.search(key_head.rstrip(": "))
            key = kt.group(0)[-4:] if kt else ""
            am = _CJK_HEAD.match(clause, w_end) if unit != "%" else None
            out.append(Qty(value, unit, cmp, bool(m.group(3)), rate_names(head, v) if unit == "%" else (),
                           key, cs + m.start(), cs + m.end(), text[cs:ce].strip(),
                           text[cs + w_start:cs + w_end].strip(), am.group(0) if am else ""))
    return out


def related(a: str, b: str) -> bool:
    """Two stretches of words about the same thing: empty, or sharing two characters in a row
    (业务培训 · 培训; not 业务培训 · 安全检查)."""
    if not a or not b:
        return True
    return any(a[i:i + 2] in b for i in range(len(a) - 1)) or (len(a) == 1 and a in b)


def direction(q: Qty, v: Vocab) -> str:
    """A target's direction: its own comparison word, else ≤ for measures where lower is better
    (故障率, 事故率), else ≥ (a bare 100% or 300次 is a floor to reach)."""
    if q.cmp in (">=", "<="):
        return q.cmp
    if q.cmp == "<":
        return "<="
    return "<=" if v.lower_better(" ".join(q.names) + " " + q.key) else ">="


def misses(target: Qty, done: Qty, v: Vocab, tol: D) -> bool:
    """A completion misses its target when its figure lies on the wrong side: 95%以上 does not
    establish ≥96%; 0.6% breaks ≤0.5%."""
    if direction(target, v) == ">=":
        return done.value < target.value - tol
    return done.value > target.value + tol


# ---------------------------------------------------------------- figures told twice

@dataclass(frozen=True, slots=True)
class Told:
    """A count stated about a key noun: its range [lo, hi] (hi_open: below hi), as typed."""
    noun: str
    measure: str
    lo: D
    hi: D
    hi_open: bool
    qualifier: str        # the two characters before the noun (日常 in 日常考核300次)
    mark: str             # the qualifier when the pack lists it as one that sets figures apart
    frag: str
    written: str


def _range(num: str, mag: str | None, more: bool, head_word: str, tail_word: str, v: Vocab):
    num = num.replace("．", ".")
    value = D(num) * _MAG[mag]
    if more:
        digits = num.split(".")
        if len(digits) == 2:
            step = D(1).scaleb(-len(digits[1]))
        else:
            stripped = num.rstrip("0")
            step = D(10) ** (len(num) - len(stripped)) if stripped else D(1)
        return value, value + step * _MAG[mag], True
    kind = v.kinds.get(tail_word) or v.kinds.get(head_word) or ""
    if kind == ">=":
        return value, INF, False
    if kind in ("<=", "<"):
        return D(0), value, kind == "<"
    if kind == "~":
        tol = v.approx_tolerance
        return value * (1 - tol), (value if head_word in ("近", "将近", "接近") else value * (1 + tol)), False
    return value, value, False


def overlap(a: Told, b: Told) -> bool:
    lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
    if lo < hi:
        return True
    if lo > hi:
        return False
    open_at_hi = (a.hi == hi and a.hi_open) or (b.hi == hi and b.hi_open)
    return not open_at_hi


def told(text: str, v: Vocab, year: str | None = None) -> list[Told]:
    """Counts about the key nouns: 投诉403起 (noun, then its figure within a few words) or
    3667个行道树窝补绿 (figure, measure word, noun)."""
    if v.noun_re is None or not text:
        return []
    present = [n for n in v.nouns if n in text]
    if not present or not _DIGIT.search(text):
        return []
    t = text
    out = []
    stops = None
    reach = v.window + 12
    for m in v.nouns_re(present).finditer(t):
        if not _DIGIT.search(t, max(0, m.start() - 16), m.end() + reach):
            continue   # no figure near this mention (most of a report's)
        noun = m.group(0)
        measures = v.nouns[noun]
        got = _before(t, m.start(), measures, v) or _after(t, m.end(), measures, v)
        if got is None:
            continue
        q_start, q_end, num, mag, more, measure, head_word, tail_word = got
        if stops is None:
            stops = [s.start() for s in _CLAUSE_END.finditer(t)]
        i0 = bisect_left(stops, min(m.start(), q_start))
        c0 = stops[i0 - 1] + 1 if i0 else 0
        i1 = bisect_left(stops, max(m.end(), q_end))
        c1 = stops[i1] if i1 < len(stops) else len(t)
        clause = t[c0:c1]
        if (v.skip_re is not None and v.skip_re.search(clause)) or other_year(clause, year):
            continue
        if q_start > 0 and t[q_start - 1] == "第":
            continue
        lo, hi, hi_open = _range(num, mag, more, head_word, tail_word, v)
        qual = t[max(c0, m.start() - 2):m.start()] if q_start > m.start() else ""
        qual = qual if _TWO_CJK.fullmatch(qual) else ""
        before = t[max(c0, m.start() - 4):m.start()]
        mark = next((w for w in v.qualifiers if before.endswith(w)), "")
        out.append(Told(noun, measure, lo, hi, hi_open, qual, mark, _ENUM.sub("", text[c0:c1].strip()),
                        text[min(m.start(), q_start):max(m.end(), q_end)]))
    return out


def _before(t: str, at: int, measures, v: Vocab):
    """3667个行道树窝补绿: a figure and one of the noun's measure words just before the noun."""
    stretch = t[max(0, at - 16):at]
    for m in v.qty.finditer(stretch):
        gap = stretch[m.end():]
        if m.group(4) in measures and len(gap) <= 2 and not _STOP.search(gap) and not _DIGIT.search(gap):
            off = at - len(stretch)
            return off + m.start(), off + m.end(), m.group(1), m.group(2), bool(m.group(3)), m.group(4), "", ""
    return None


def _after(t: str, at: int, measures, v: Vocab):
    """投诉403起 · 接待……视察来访120余次: the first figure after the noun within the window, with
    no stop, digit or other key noun between."""
    stretch = t[at:at + v.window + 12]
    m = v.qty.search(stretch)
    if m is None or m.start() > v.window:
        return None
    gap = stretch[:m.start()]
    if _STOP.search(gap) or _DIGIT.search(gap) or v.noun_re.search(gap) or m.group(4) not in measures:
        return None
    hw, _ = head_word(gap, v)
    tm = v.tail_cmp.match(stretch, m.end()) if v.tail_cmp is not None else None
    end = tm.end() if tm else m.end()
    return (at + m.start(), at + end, m.group(1), m.group(2), bool(m.group(3)), m.group(4),
            hw, tm.group(1) if tm else "")
