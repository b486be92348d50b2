"""The roster: 单位编码, names and 曾用名 mapped to one stable key (名单.xlsx|csv)."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..read.labels import norm
from .base import name_key

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


@dataclass
class Roster:
    units: list[dict]            # key, name, dept, contact, phone
    aliases: dict[str, str]      # normalised name → key
    problems: list[str]          # Chinese, one per bad row


ROSTER_COLUMNS = {"单位编码": "key", "单位名称": "name", "曾用名/别名": "aliases", "曾用名": "aliases",
                  "别名": "aliases", "主管部门": "dept", "联系人": "contact", "电话": "phone",
                  "联系电话": "phone"}


def read_roster(path: Path) -> Roster:
    """名单.xlsx|xls|csv: 单位编码, 单位名称, 曾用名/别名 (separated by 、，;/), 主管部门, 联系人, 电话."""
    rows = _table_rows(Path(path))
    if not rows:
        return Roster([], {}, ["名单是空的"])
    header = [ROSTER_COLUMNS.get(norm(str(h or "")).replace("／", "/"), "") for h in rows[0]]
    missing = [c for c, k in (("单位编码", "key"), ("单位名称", "name")) if k not in header]
    if missing:
        return Roster([], {}, [f"名单缺少列：{'、'.join(missing)}（第一行应为列名）"])
    units, aliases, problems, owner = [], {}, [], {}
    for i, raw in enumerate(rows[1:], 2):
        rec = {"aliases": ""}
        for k, v in zip(header, raw):
            if k:
                rec[k] = _cell_text(v)
        if not any(rec.values()):
            continue
        if not rec.get("key") or not rec.get("name"):
            problems.append(f"第 {i} 行缺少单位编码或单位名称，已跳过")
            continue
        if rec["key"] in owner:
            problems.append(f"第 {i} 行：单位编码 {rec['key']} 重复，已跳过")
            continue
        owner[rec["key"]] = i
        names = [rec["name"]] + [a for a in re.split(r"[、，,;；/／\n]+", rec.get("aliases", "")) if a.strip()]
        for n in names:
            k = name_key(n)
            if k in aliases and aliases[k] != rec["key"]:
                problems.append(f"第 {i} 行：名称“{n}”已属于单位编码 {aliases[k]}，未重复使用")
                continue
            aliases[k] = rec["key"]
        units.append({"key": rec["key"], "name": rec["name"], "dept": rec.get("dept", ""),
                      "contact": rec.get("contact", ""), "phone": rec.get("phone", "")})
    return Roster(units, aliases, problems)


def import_roster(store: Store, path: Path) -> tuple[Roster, int]:
    roster = read_roster(path)
    moved = 0
    if roster.units:
        with store.transaction() as tx:
            moved = store.import_roster(tx, roster.units, roster.aliases)
    return roster, moved


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _table_rows(path: Path) -> list[list]:
    if path.suffix.lower() in (".csv", ".txt"):
        data = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return list(csv.reader(io.StringIO(data.decode(enc))))
            except UnicodeDecodeError:
                continue
        raise ValueError("名单不是 UTF-8 或 GB18030 编码的 CSV")
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
