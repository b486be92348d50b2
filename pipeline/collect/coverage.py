"""Completeness against the roster (expected, received, on time) and the 催报 list."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .base import ACCEPTED, NOT_SUBMITTED, RETURNED
from .states import UnitYear, _utc


@dataclass
class Coverage:
    year: str
    expected: int       # units on the roster
    received: int       # of them, with at least one version
    current: int        # of them, with a current version in force (not 退回)
    on_time: int        # of them, first received by the deadline
    accepted: int       # of them, 通过
    deadline: dt.datetime | None
    by_state: Counter

    def rate(self, n: int) -> str:
        return f"{n / self.expected:.1%}" if self.expected else "—"


def coverage(view: list[UnitYear], year: str, deadline: dt.datetime | None = None) -> Coverage:
    rows = [uy for uy in view if uy.year == str(year) and uy.unit.get("on_roster")]
    received = [uy for uy in rows if uy.versions]
    on_time = received if deadline is None else [
        uy for uy in received if _utc(uy.versions[0]["received_at"]) <= _utc(deadline)]
    return Coverage(str(year), len(rows), len(received),
                    sum(uy.state not in (NOT_SUBMITTED, RETURNED) for uy in rows),
                    len(on_time), sum(uy.state == ACCEPTED for uy in rows), deadline,
                    Counter(uy.state for uy in rows))


def parse_deadline(text: str | None) -> dt.datetime | None:
    """'2027-03-31' (the end of that day, local time) or '2027-03-31T12:00'."""
    if not text:
        return None
    t = dt.datetime.fromisoformat(text)
    if len(text) <= 10:
        t = t.replace(hour=23, minute=59, second=59)
    return t if t.tzinfo else t.astimezone()


REMIND_HEADER = ["单位编码", "单位名称", "主管部门", "联系人", "电话", "年度", "状态", "审核意见", "最近报送"]


def reminders(view: list[UnitYear]) -> list[list[str]]:
    """Rows of the 催报 list: 未报 and 退回 units of the roster."""
    out = []
    for uy in view:
        if uy.state in (NOT_SUBMITTED, RETURNED) and uy.unit.get("on_roster"):
            last = uy.versions[-1]["received_at"] if uy.versions else None
            out.append([uy.key, uy.name, uy.unit.get("dept", ""), uy.unit.get("contact", ""),
                        uy.unit.get("phone", ""), uy.year, uy.state,
                        uy.returned_by["reason"] if uy.returned_by else "",
                        _local(last) if last else ""])
    return out


def write_reminders(rows: list[list[str]], path: Path) -> None:
    """催报.xlsx: one sheet, every cell text (names and phones stay as written)."""
    import xlsxwriter

    from ..write.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False,
                                            "strings_to_urls": False})
        ws = wb.add_worksheet("催报")
        bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        for c, h in enumerate(REMIND_HEADER):
            ws.write_string(0, c, h, bold)
        for r, row in enumerate(rows, 1):
            for c, v in enumerate(row):
                ws.write_string(r, c, str(v))
        ws.set_column(0, 0, 12)
        ws.set_column(1, 2, 28)
        ws.set_column(3, 8, 14)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(REMIND_HEADER) - 1)
        wb.close()


def _local(t: dt.datetime) -> str:
    return _utc(t).astimezone().strftime("%Y-%m-%d %H:%M")
