"""A cell's text as tokens: label · value · unit-of-measure declaration · year · score · grade.

The reader sees every text cell through this module. `填报单位（盖章）：X　填报日期：2023年3月24日`
is two (label, value) pairs; `金额单位：元` is a unit declaration; `（二〇二一年度）` is a year line;
`优（92分）` is a grade with a score. Nothing here looks at neighbouring cells: locate.py and
facts.py give the tokens their place on the sheet.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CN_DIGITS = str.maketrans("〇零○ＯO一二三四五六七八九", "00000123456789")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_YEAR_LINE = re.compile(r"^[（(\[【]?\s*((?:19|20)\d{2})\s*年(?:度)?\s*[）)\]】]?$")
_UNIT_DECL = re.compile(r"^[（(]?\s*(?:金额|计量|货币)?单位\s*[:：]?\s*(?:人民币)?(万元|千元|元)\s*(?:人民币)?[）)]?$")
_UNIT_IN_TEXT = re.compile(
    r"(?:(?:单位|金额)\s*(?:[:：/]|为|是)?\s*[（(]?\s*(?:人民币)?(万元|千元|元))"   # 单位：元, 金额：元, 单位为元, 单位/元
    r"|[（(\[【〔]\s*(?:人民币)?(万元|千元|元)\s*[）)\]】〕]"                  # （元）, [元], 【元】
    r"|以\s*(?:人民币)?(万元|千元|元)\s*为单位")                                 # 以元为单位
_DATE = re.compile(r"((?:19|20)\d{2})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?")
_PHONE = re.compile(r"(?:\+?86[\s\-]?)?(?:\d{3,4}[\s\-－]?)?\d{7,8}(?:[\s\-－]\d{1,4})?|1\d{10}")
_GRADE = re.compile(r"^\s*(优秀|良好|中等|较差|不合格|合格|一般|优|良|中|差)")
_SCORE_IN = re.compile(r"(\d+(?:\.\d+)?)\s*分")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*分?\s*$")

UNIT_FACTOR = {"万元": 1, "千元": 10, "元": 10000}   # divide by this to get 万元


def cn_digits(text: str) -> str:
    """二〇二一 → 2021 (only where a run of Chinese digits forms a year)."""
    return re.sub(r"[〇零○一二三四五六七八九]{4}", lambda m: m.group(0).translate(_CN_DIGITS), text)


@lru_cache(maxsize=4096)
def year_line(text: str) -> str | None:
    """The year of a cell that is only a year: （2021年度）, （2022 年度）, 2023年, （二〇二一年度）."""
    s = cn_digits(unicodedata.normalize("NFKC", text)).strip()
    m = _YEAR_LINE.match(s)
    return m.group(1) if m else None


@lru_cache(maxsize=4096)
def year_in(text: str) -> str | None:
    """A year written inside a longer text (a title: 2021年度部门整体支出绩效自评表)."""
    m = _YEAR.search(cn_digits(unicodedata.normalize("NFKC", text)))
    return m.group(1) if m else None


@lru_cache(maxsize=4096)
def unit_decl(text: str) -> str | None:
    """A cell that only declares the unit of measure: 单位：万元, 金额单位：元, （单位：元）."""
    s = unicodedata.normalize("NFKC", text).strip()
    if len(s) > 16:
        return None
    m = _UNIT_DECL.match(s)
    return m.group(1) if m else None


@lru_cache(maxsize=8192)
def unit_in(text: str) -> str | None:
    """A unit stated inside a title or header cell: 收入情况（元）, 金额（万元）, …单位：元."""
    s = unicodedata.normalize("NFKC", text)
    found = {a or b or c for a, b, c in _UNIT_IN_TEXT.findall(s)}
    if "万元" in found:
        return "万元"
    if "千元" in found:
        return "千元"
    return "元" if "元" in found else None


@lru_cache(maxsize=8192)
def inline_pairs(text: str, pattern: re.Pattern) -> list[tuple[str, str, int]]:
    """(label as written, value text, label's start) for every `label：value` in one cell."""
    hits = list(pattern.finditer(text))
    out = []
    for i, m in enumerate(hits):
        end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
        value = text[m.end():end].strip(" \t\r\n\u3000:：")
        out.append((m.group("lab"), value, m.start()))
    return out


def label_pattern(words: list[str]) -> re.Pattern:
    """A regex for any of the label words followed by a colon, spaces allowed between the
    characters and an optional remark in brackets (（盖章）, （签名）) before the colon."""
    alts = []
    for w in sorted(set(words), key=len, reverse=True):
        w = unicodedata.normalize("NFKC", w)
        parts = []
        for ch in w:
            if ch in "()":
                parts.append(r"[（(]" if ch == "(" else r"[）)]")
            else:
                parts.append(re.escape(ch))
        alts.append(r"\s*".join(parts))
    return re.compile(r"(?P<lab>" + "|".join(alts) + r")\s*(?:[（(][^（()）]{0,8}[）)])?\s*[:：]")


def date_value(text: str) -> str | None:
    """2023年3月24日, 2023-03-24, 2023.3.24, a date cell's text → 2023-03-24."""
    m = _DATE.search(unicodedata.normalize("NFKC", text))
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def phone_value(text: str) -> str | None:
    """The telephone number in a text (mobile, 0730-1234567, with an extension)."""
    s = unicodedata.normalize("NFKC", text)
    m = _PHONE.search(s)
    return m.group(0).strip() if m else None


def grade_value(text: str) -> tuple[str, str | None]:
    """(grade word, score written with it): 优（92分） → (优, 92); 良好 → (良好, None)."""
    s = unicodedata.normalize("NFKC", text).strip()
    m = _GRADE.match(s)
    sc = _SCORE_IN.search(s)
    return (m.group(1) if m else s), (sc.group(1) if sc else None)


def score_text(text: str) -> str | None:
    """A score typed as text: 96分, 92.5, 优（92分）, 92分（优）."""
    s = unicodedata.normalize("NFKC", text)
    m = _NUMBER.match(s) or _SCORE_IN.search(s)
    return m.group(1) if m else None
