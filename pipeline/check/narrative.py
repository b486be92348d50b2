"""Figures stated in the narrative report (五、评价报告综述), found by keyword before an amount."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

# field → keywords; when a stretch holds several, the earliest names the figure
# ("“三公经费”支出总额为0万元" is about 三公经费, not about 支出).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "income.total": ("收入合计", "收入总计", "总收入", "收入总额", "全年收入", "本年收入", "年度收入"),
    "income.appropriation": ("一般公共预算财政拨款", "公共财政拨款", "财政拨款收入", "财政拨款", "财政拨付"),
    "income.other": ("其他收入",),
    "income.carryover": ("上年结转", "上年结余", "年初结转"),
    "expenditure.total": ("支出合计", "实际支出", "总支出", "支出总计", "全年支出", "本年支出", "年度支出", "支出总额"),
    "expenditure.basic": ("基本支出",),
    "expenditure.project": ("项目支出",),
    "expenditure.personnel": ("人员支出", "人员经费"),
    "expenditure.public": ("公用支出", "公用经费"),
    "three_public.total": ("三公经费", "三公”经费", "三公\"经费"),
}
_ALL = sorted(((k, f) for f, ks in KEYWORDS.items() for k in ks), key=lambda x: -len(x[0]))
_AMOUNT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(万元|元)")
_STOP = re.compile(r"[,，。；;！!？?\n、]")
WINDOW = 14


# A stretch that speaks of a change ("比上年增加5万元") states a difference, not the figure.
_CHANGE = re.compile(r"增加|减少|增长|下降|增幅|降幅|节约|超支|同比|比上年|较上年|相比|差额")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")


def extract(text: str, year: str | None = None) -> list[tuple[str, Decimal, str]]:
    """Return (field, value in 万元, the sentence fragment) for each figure the report states.
    A figure next to another year than the form's own (year), or one stated as a change, is not
    the form's figure and is left out: it would raise a false NAR-001."""
    text = unicodedata.normalize("NFKC", text or "")
    out = []
    last_end = 0
    for m in _AMOUNT.finditer(text):
        start = max(last_end, m.start() - WINDOW)
        before = text[start:m.start()]
        stops = list(_STOP.finditer(before))
        if stops:
            before = before[stops[-1].end():]
        last_end = m.end()
        field = _earliest(before)
        if field is None or _CHANGE.search(before):
            continue
        years = _YEAR.findall(before)
        if year and years and year not in years:
            continue
        value = Decimal(m.group(1).replace(",", ""))
        if m.group(2) == "元":
            value = value / Decimal(10000)
        frag_start = max(0, m.start() - len(before))
        out.append((field, value, text[frag_start:m.end()].lstrip(",:：“\" ")))
    return out


_KEYWORD = re.compile("|".join(re.escape(k) for k, _ in _ALL))  # longest first at a position
_FIELD_OF = dict(_ALL)


def _earliest(stretch: str) -> str | None:
    m = _KEYWORD.search(stretch)
    return _FIELD_OF[m.group(0)] if m else None
