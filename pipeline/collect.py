"""The collection's logic: roster, versions, states, finding identity, diffs, 说明, coverage,
cross-year checks and the recorder a run calls after each chunk. No SQL (pipeline/store does
that) and no HTTP: the command line (collect_cli.py) and a web desk call these same functions.
"""
from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import json
import os
import queue
import re
import socket
import threading
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from . import crossyear
from .check.keys import finding_key, finding_keys, org_key  # noqa: F401  (finding_key re-exported)
from .check.ruleset import ALL_FIELDS
from .read.labels import norm
from .store import StoreError, now

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from .store.core import Store

# States of a unit-year, and who acts next.
NOT_SUBMITTED, HAS_ERRORS, NEEDS_NOTE, EXPLAINED, RETURNED, ACCEPTED = (
    "未报", "有误待改", "待说明", "已说明", "退回", "通过")
STATES = (NOT_SUBMITTED, HAS_ERRORS, NEEDS_NOTE, EXPLAINED, RETURNED, ACCEPTED)
NEXT_ACTOR = {NOT_SUBMITTED: "单位报送", HAS_ERRORS: "单位修改后重报", NEEDS_NOTE: "单位填写说明后重报",
              EXPLAINED: "审核人审核", RETURNED: "单位按审核意见修改后重报", ACCEPTED: "（已锁定）"}
RETURN_SHEET = "问题清单"
KEY_HEADER = "问题编号"
NOTE_HEADER = "说明（单位填写）"
DEFAULT_STORE = "selfeval.db"


def who() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


# ---------------------------------------------------------------------------- where the store is
def store_target(option: str | None, out: Path | None = None) -> str | None:
    """--store as given; else $SELFEVAL_STORE; else selfeval.db in the folder that holds OUT (for
    `run`) or in the current folder (every other command). "none" turns the store off."""
    target = option or os.environ.get("SELFEVAL_STORE")
    if not target:
        target = str((Path(out).resolve().parent if out else Path.cwd()) / DEFAULT_STORE)
    return None if target.lower() == "none" else target


def open_store(target: str) -> Store:
    from .store.core import Store

    return Store.open(target)


# ---------------------------------------------------------------------------- identity
def name_key(name: str) -> str:
    """A unit's name compared: NFKC, no spaces or punctuation around it."""
    return norm(str(name or "")).strip("（）()")


# ---------------------------------------------------------------------------- roster
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


# ---------------------------------------------------------------------------- 说明 in returned copies
def has_return_sheet(path: Path) -> bool:
    """Whether a workbook has a 问题清单 sheet, looked up cheaply (the workbook part only)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"PK"):
            with zipfile.ZipFile(path) as z:
                return RETURN_SHEET.encode() in z.read("xl/workbook.xml")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            from python_calamine import CalamineWorkbook

            return RETURN_SHEET in CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception:
        return False
    return False


def read_notes(path: Path) -> list[dict]:
    """Rows of a returned copy's 问题清单 that carry a 说明: key (问题编号, if the column is
    there), rule, sheet, cell, note."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_name(RETURN_SHEET).to_python(skip_empty_area=False)
    except Exception:
        return []
    head = None
    out = []
    for row in rows:
        cells = [_cell_text(v) for v in row]
        if head is None:
            if NOTE_HEADER in cells and "规则" in cells:
                head = {h: i for i, h in enumerate(cells) if h}
            continue
        get = lambda h: cells[head[h]] if h in head and head[h] < len(cells) else ""  # noqa: E731
        note = get(NOTE_HEADER)
        if note:
            out.append({"key": get(KEY_HEADER), "rule": get("规则"), "sheet": get("工作表"),
                        "cell": get("单元格"), "note": note})
    return out


def match_notes(notes: list[dict], prior: list[dict]) -> list[dict]:
    """Give each 说明 its finding key: the 问题编号 column when the copy has it, else the earlier
    finding of the same rule, sheet and cell (the copy was made from that version)."""
    by_cell = {}
    for f in prior:     # oldest first: the latest version's finding wins
        by_cell[(f["rule"], f["sheet"], f["cell"])] = f["key"]
    out = []
    for n in notes:
        key = n["key"] or by_cell.get((n["rule"], n["sheet"], n["cell"]))
        if not key:
            key = f"{n['rule']}-?{n['sheet']}!{n['cell']}"   # no such finding: kept, shown stale
        out.append(dict(n, key=key))
    return out


def note_counts(text: str, min_chars: int) -> bool:
    return len(re.sub(r"\s+", "", text or "")) >= min_chars


# ---------------------------------------------------------------------------- versions and states
@dataclass
class UnitYear:
    """One unit-year as the collection sees it."""
    key: str
    year: str
    unit: dict                                    # the unit's row (roster entry or name only)
    id: int | None = None                         # None: on the roster, nothing received
    versions: list[dict] = field(default_factory=list)     # in the order received
    actions: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)        # every 说明 received
    current: dict | None = None
    findings: list[dict] = field(default_factory=list)     # the current version's
    state: str = NOT_SUBMITTED
    locked_by: dict | None = None                 # the accept action that locks it
    returned_by: dict | None = None               # the return action in force
    valid_notes: dict = field(default_factory=dict)         # key → the 说明 in force
    stale_notes: list[dict] = field(default_factory=list)   # 说明 whose finding no longer exists

    @property
    def name(self) -> str:
        return self.unit.get("name", self.key)

    @property
    def number(self) -> int:
        """The current version's place among the versions (第 N 版)."""
        return self.versions.index(self.current) + 1 if self.current in self.versions else 0

    def counts(self) -> Counter:
        return Counter(f["severity"] for f in self.findings)


def settings() -> dict:
    return crossyear.load()[1]


def derive(uy: UnitYear, min_chars: int) -> UnitYear:
    """Current version and state from versions, reviewer actions and 说明 (uy.findings set)."""
    uy.locked_by = uy.returned_by = None
    for a in uy.actions:
        if a["kind"] == "accept":
            uy.locked_by, uy.returned_by = a, None
        elif a["kind"] == "reopen":
            uy.locked_by = uy.returned_by = None
        elif a["kind"] == "return":
            uy.returned_by, uy.locked_by = a, None
    if uy.locked_by is not None:
        uy.current = next((v for v in uy.versions if v["id"] == uy.locked_by["version_id"]), None)
    else:
        uy.current = uy.versions[-1] if uy.versions else None
    keys = {f["key"]: f for f in uy.findings}
    uy.valid_notes, latest = {}, {}
    for n in uy.notes:          # the latest 说明 per finding counts, unless a reviewer rejected it
        latest[n["key"]] = n
    for k, n in latest.items():
        if n.get("rejected_by") is None and k in keys:
            uy.valid_notes[k] = n
    uy.stale_notes = [n for k, n in latest.items() if k not in keys]
    if uy.current is None:
        uy.state = NOT_SUBMITTED
    elif uy.locked_by is not None:
        uy.state = ACCEPTED
    elif uy.returned_by is not None and not _after(uy.versions[-1], uy.returned_by):
        uy.state = RETURNED
    elif any(f["severity"] == "error" for f in uy.findings):
        uy.state = HAS_ERRORS
    elif any(f["severity"] == "warning" and not (
            k in uy.valid_notes and note_counts(uy.valid_notes[k]["text"], min_chars))
             for k, f in keys.items()):
        uy.state = NEEDS_NOTE
    else:
        uy.state = EXPLAINED
    return uy


def explained(uy: UnitYear, f: dict, min_chars: int) -> bool:
    """A warning with a 说明 long enough; an error is never explained away."""
    n = uy.valid_notes.get(f["key"])
    return f["severity"] != "error" and n is not None and note_counts(n["text"], min_chars)


def _after(version: dict, act: dict) -> bool:
    return _utc(version["received_at"]) > _utc(act["at"])


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def collection(store: Store, year: str | None = None, *, unit_key: str | None = None,
               roster_only: bool = False, ids: list[int] | None = None) -> list[UnitYear]:
    """Every unit-year (of one year, or all; or just those ids), roster units with nothing
    received as 未报 (unless ids or unit_key are given)."""
    min_chars = int(settings()["explain_min_chars"])
    with store.transaction() as tx:
        units = store.units(tx)
        given = ids
        rows = store.unit_years(tx, year, unit_key) if ids is None else store.unit_years_by_id(tx, ids)
        ids = [r["id"] for r in rows]
        versions, actions, notes = defaultdict(list), defaultdict(list), defaultdict(list)
        for v in store.versions(tx, ids):
            versions[v["unit_year_id"]].append(v)
        for a in store.actions(tx, ids):
            actions[a["unit_year_id"]].append(a)
        for n in store.explanations(tx, ids):
            notes[n["unit_year_id"]].append(n)
        out = []
        for r in rows:
            unit = units.get(r["unit_key"], {"key": r["unit_key"], "name": r["unit_key"], "on_roster": False})
            out.append(UnitYear(r["unit_key"], r["year"], unit, r["id"], versions[r["id"]],
                                actions[r["id"]], notes[r["id"]]))
        for uy in out:
            derive(uy, min_chars)    # current version first, for its findings
        cur = {uy.current["id"]: uy for uy in out if uy.current}
        for f in store.findings(tx, cur):
            cur[f["version_id"]].findings.append(f)
    for uy in out:
        derive(uy, min_chars)
    # a unit-year of a name off the roster whose versions a failed run took back is no unit-year
    out = [uy for uy in out if uy.versions or uy.unit.get("on_roster")]
    years = sorted({uy.year for uy in out} | ({str(year)} if year else set()))
    if unit_key is None and given is None:
        have = {(uy.key, uy.year) for uy in out}
        for y in years:
            for k, u in units.items():
                if u["on_roster"] and (k, y) not in have:
                    out.append(UnitYear(k, y, u))
    if roster_only:
        out = [uy for uy in out if uy.unit.get("on_roster")]
    out.sort(key=lambda uy: (uy.year, uy.unit.get("dept", ""), uy.key))
    return out


def find(store: Store, unit: str, year: str) -> UnitYear | None:
    """A unit-year by 单位编码, roster name or alias, or the name as written."""
    with store.transaction() as tx:
        aliases = store.aliases(tx)
        units = store.units(tx)
    key = unit if unit in units else aliases.get(name_key(unit), name_key(unit))
    found = collection(store, str(year), unit_key=key)
    return found[0] if found else None


# ---------------------------------------------------------------------------- reviewer actions
class ActionRefused(Exception):
    """The action does not fit the unit-year's state (message in Chinese)."""


def act(store: Store, unit: str, year: str, kind: str, *, reason: str = "", by: str | None = None,
        reject_notes: list[str] = ()) -> UnitYear:
    """accept (通过, locks) · return (退回, with 审核意见; may reject 说明 by 问题编号) · reopen."""
    uy = find(store, unit, year)
    if uy is None or uy.id is None or uy.current is None:
        raise ActionRefused(f"{unit}（{year}年度）尚未报送，无法审核")
    if kind == "accept":
        if uy.state == ACCEPTED:
            raise ActionRefused(f"{uy.name}（{year}年度）已通过")
        if uy.state == HAS_ERRORS:
            raise ActionRefused(f"{uy.name}（{year}年度）仍有逻辑性错误，错误不能以说明代替，不能通过")
        if uy.state == NEEDS_NOTE and not reason:
            raise ActionRefused(f"{uy.name}（{year}年度）尚有核实性问题未说明；如确需通过，请用 --reason 写明理由")
    elif kind == "return":
        if uy.state == ACCEPTED:
            raise ActionRefused(f"{uy.name}（{year}年度）已通过并锁定，请先 reopen 重新打开")
        if not reason:
            raise ActionRefused("退回须写明审核意见（--reason）")
    elif kind == "reopen":
        if uy.state not in (ACCEPTED, RETURNED):
            raise ActionRefused(f"{uy.name}（{year}年度）状态为{uy.state}，无需重新打开")
    else:
        raise ValueError(kind)
    with store.transaction() as tx:
        aid = store.add_action(tx, unit_year_id=uy.id, kind=kind, version_id=uy.current["id"],
                               reason=reason, who=by or who())
        if reject_notes:
            ids = [n["id"] for n in uy.notes if n["key"] in set(reject_notes)]
            if len(ids) == 0:
                raise ActionRefused(f"没有编号为 {'、'.join(reject_notes)} 的说明")
            store.reject_explanations(tx, uy.id, ids, aid)
    return find(store, unit, year)


# ---------------------------------------------------------------------------- diffs
NEW, RESOLVED, PERSISTING, EXPLAINED_F = "新增", "已解决", "仍存在", "已说明"


def diff_findings(prev: list[dict], cur: list[dict], uy: UnitYear | None = None,
                  min_chars: int = crossyear.DEFAULT_MIN_CHARS) -> list[tuple[str, dict]]:
    """Each finding of two versions as new, resolved, persisting or explained (by its key)."""
    before = {f["key"]: f for f in prev}
    out = []
    for f in cur:
        if f["key"] not in before:
            out.append((NEW, f))
        elif uy is not None and explained(uy, f, min_chars):
            out.append((EXPLAINED_F, f))
        else:
            out.append((PERSISTING, f))
    now_keys = {f["key"] for f in cur}
    out += [(RESOLVED, f) for k, f in before.items() if k not in now_keys]
    return out


def amounts(values_csv: str) -> dict[tuple[str, str, str], str]:
    """(block, org, field) → value text from a version's values.csv rows."""
    out = {}
    for row in csv.reader(io.StringIO(values_csv)):
        if len(row) >= 8:
            out[(row[5], org_key(row[4].lstrip("'")), row[6])] = row[7]
    return out


def diff_amounts(prev_csv: str, cur_csv: str) -> list[tuple[tuple[str, str, str], str, str]]:
    """Amounts that differ between two versions: ((block, org, field), before, after)."""
    a, b = amounts(prev_csv), amounts(cur_csv)
    out = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k, ""), b.get(k, "")
        if _num(x) != _num(y):
            out.append((k, x, y))
    return out


def _num(s: str):
    try:
        return Decimal(s)
    except Exception:
        return s


def changes(store: Store, year: str | None = None) -> list[dict]:
    """changes.csv / the 变化 sheet: for each unit-year with more than one version, the current
    version against the one before it, finding by finding and amount by amount."""
    min_chars = int(settings()["explain_min_chars"])
    view = [uy for uy in collection(store, year) if uy.current and uy.number > 1]
    out = []
    with store.transaction() as tx:
        for uy in view:
            prev = uy.versions[uy.number - 2]
            pf = [f for f in store.findings(tx, [prev["id"]])]
            vals = store.version_values(tx, [prev["id"], uy.current["id"]])
            base = {"unit_key": uy.key, "unit": uy.name, "year": uy.year, "version": uy.number,
                    "file": uy.current["path"], "previous_file": prev["path"]}
            for kind, f in diff_findings(pf, uy.findings, uy, min_chars):
                out.append(dict(base, change=kind, rule=f["rule"], key=f["key"], block=f["block"],
                                org=f["org"], field=f["field"], before="", after="", message=f["message"]))
            for (b, o, fl), x, y in diff_amounts(vals[prev["id"]][1], vals[uy.current["id"]][1]):
                out.append(dict(base, change="金额变化", rule="", key="", block=b, org=o, field=fl,
                                before=x, after=y, message=""))
    return out


CHANGE_COLUMNS = ["unit_key", "unit", "year", "version", "file", "previous_file", "change", "rule",
                  "key", "block", "org", "field", "before", "after", "message"]


def version_notes(view: list[UnitYear]) -> dict[tuple[str, str], str]:
    """(path, sheet) → '第 N 版，替代 …' for versions that replace earlier ones (DUP-001 as info)."""
    out = {}
    for uy in view:
        for i, v in enumerate(uy.versions[1:], 2):
            earlier = "、".join(dict.fromkeys(x["path"] for x in uy.versions[: i - 1]))
            out[(v["path"], v["sheet"])] = f"第 {i} 版，替代 {earlier}"
    return out


def current_forms(view: list[UnitYear]) -> set[tuple[str, str]]:
    """(path, sheet) of every current version: what summary.xlsx totals count."""
    return {(uy.current["path"], uy.current["sheet"]) for uy in view if uy.current}


def notes_for(uy: UnitYear) -> dict[str, str]:
    """finding key → the 说明 in force (for 问题清单 beside each finding)."""
    return {k: n["text"] for k, n in uy.valid_notes.items()}


# ---------------------------------------------------------------------------- coverage and 催报
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

    from .write.atomic import atomic_path

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


# ---------------------------------------------------------------------------- recording a run
@dataclass
class Recorded:
    """What a run added to the store (for the run's report)."""
    run_id: int = 0
    versions: int = 0           # new versions
    unchanged: int = 0          # forms already in the store (same content)
    files: int = 0              # new file contents stored
    notes: int = 0              # 说明 read from returned copies
    cross_year: int = 0         # cross-year findings
    unmatched: list = field(default_factory=list)   # (path, name as written, year)
    unassigned: list = field(default_factory=list)  # (path, sheet): no unit name or year
    replaced: list = field(default_factory=list)    # (path, 第 N 版)
    cpu_s: float = 0.0          # CPU seconds the recording cost (the run's thread and the writer)


@dataclass
class RunView:
    """The store's word on a run's forms, keyed (file, sheet) as the run's outputs name them."""
    current: set            # forms that are their unit-year's current version (count in totals)
    replaces: dict          # form → '第 N 版，替代 …' (DUP-001 as information)
    notes: dict             # form → {finding key (问题编号) → 说明 in force}
    superseded: set         # this run's forms that a later version replaces (history only)
    unit_years: list        # the UnitYears the run touched


def _figures_json(figures: dict) -> str:
    """The consolidated amounts (and facts) of a version as stored: text, never 1E+2."""
    return json.dumps({k: format(v, "f") if isinstance(v, Decimal) else str(v)
                       for k, v in figures.items() if "@" not in k}, ensure_ascii=False)


DUP_RULE = "DUP-001"


def _as_versions(found: list, paths: list[str], path: str) -> list:
    """DUP-001 once the store knows the order: information '第 N 版，替代 …', not a warning."""
    import dataclasses

    earlier = "、".join(dict.fromkeys(paths)) or "（本次汇总中的前一份）"
    out = [dataclasses.replace(x, severity="info", message=f"第 {len(paths) + 1} 版，替代 {earlier}")
           if x.rule == DUP_RULE else x for x in found]
    paths.append(path)
    return out


@dataclass(slots=True)
class _Form:
    file: str
    sheet: str
    unit: str
    year: str
    figures: dict
    values_csv: str
    findings: list     # Finding


class Recorder:
    """on_chunk for pipeline.run: each written chunk's versions, findings, 说明 and files go into
    the store, in a writer thread (the run goes on meanwhile) and one transaction per chunk.
    finish() waits for the writer and closes the run; fail() removes what the run recorded."""

    def __init__(self, store: Store, inbox: Path, out: Path, *, pack=None, by: str | None = None):
        self.store, self.inbox = store, Path(inbox)
        self.paths: dict[str, Path] = {}   # rel as reported → where it is
        self.pack = pack
        self.tolerance = getattr(pack, "tolerance", Decimal("0.01"))
        # the rule engine runs the pack's own cross_year rules; the recorder only those of
        # collect.toml, and only while the pack has none (never both)
        own = any(r.kind == crossyear.KIND for r in getattr(pack, "rules", ()))
        self.cross_rules = [] if own else crossyear.load()[0]
        self.result = Recorded()
        self.error: BaseException | None = None
        self.files_seen = self.units_seen = 0
        self.touched: dict[tuple[str, str], int] = {}    # (path, sheet) → unit-year id
        with store.transaction() as tx:
            self.run_id = store.start_run(tx, inbox=str(self.inbox.resolve()), out=str(Path(out).resolve()),
                                          who=by or who(), rules_version=getattr(pack, "version", ""))
            self.aliases = store.aliases(tx)
            self.has_roster = store.roster_size(tx) > 0
        self.result.run_id = self.run_id
        self._q: queue.Queue = queue.Queue(maxsize=3)
        self._t = threading.Thread(target=self._loop, name="selfeval-store", daemon=True)
        self._t.start()

    # -- the run's thread: keep it short
    def __call__(self, frames, findings, unit_rows, files) -> None:
        t0 = time.thread_time()
        try:
            self._hand_over(frames, findings, files)
        finally:
            self.result.cpu_s += time.thread_time() - t0

    def _hand_over(self, frames, findings, files) -> None:
        by_uid = defaultdict(list)
        for f in findings:
            by_uid[f.uid].append(f)
        forms = []
        for p in (frames.forms if frames is not None else ()):
            rec = p.unit_rec
            figs = {}
            for k in ALL_FIELDS:
                v = rec.get(k)
                if v is not None:
                    figs[k] = v
                    figs[k + "@cells"] = rec.get(k + "@cells", "")
            for k in ("contact", "score", "grade"):
                if rec.get("f_" + k) is not None:
                    figs["unit." + k] = rec["f_" + k]
            forms.append(_Form(p.file, p.sheet, p.unit, p.year, figs, p.values_csv, by_uid.get(rec["uid"], [])))
        self.files_seen += len(files)
        self.units_seen += len(forms)
        if self.error is not None:
            raise StoreError(f"收集库写入失败：{self.error}")
        for r in files:   # the file system's path: a name shown decoded (GBK) is not the one to open
            self.paths[r.file] = Path(r.path) if r.path else self.inbox / r.file
        self._q.put((forms, [(r.file, r.sha256, r.status, r.code, r.error) for r in files]))

    def settle(self) -> "RunView":
        """Wait until every chunk so far is in the store, then what the run's outputs need to
        know of it (see RunView): for summary.xlsx's totals, DUP-001 and 问题清单's 说明."""
        done = threading.Event()
        self._q.put(done.set)
        done.wait()
        if self.error is not None:
            raise StoreError(f"收集库写入失败：{self.error}") from self.error
        view = collection(self.store, ids=sorted(set(self.touched.values())))
        current = current_forms(view)
        notes = {}
        for uy in view:
            for v in uy.versions:
                notes[(v["path"], v["sheet"])] = notes_for(uy)
        return RunView(current, version_notes(view), notes, set(self.touched) - current, view)

    def finish(self) -> Recorded:
        self._q.put(None)
        self._t.join()
        if self.error is not None:
            self.fail()
            raise StoreError(f"收集库写入失败：{self.error}") from self.error
        with self.store.transaction() as tx:
            self.store.finish_run(tx, self.run_id, "done", self.files_seen, self.units_seen)
        return self.result

    def fail(self) -> None:
        """The run did not complete: its versions leave the store (its files and receipts stay)."""
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()
        with self.store.transaction() as tx:
            self.store.drop_run_versions(tx, self.run_id)
            self.store.finish_run(tx, self.run_id, "failed", self.files_seen, self.units_seen)

    # -- the writer thread
    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if callable(item):      # settle(): everything before it is written
                item()
                continue
            if self.error is None:
                t0 = time.thread_time()
                try:
                    self._write(*item)
                except BaseException as exc:   # reported by the run's thread
                    self.error = exc
                self.result.cpu_s += time.thread_time() - t0

    def _write(self, forms: list[_Form], files: list[tuple]) -> None:
        st, res, at = self.store, self.result, now()
        sizes, notes = {}, {}
        for rel, *_ in files:
            try:
                sizes[rel] = os.lstat(self.paths.get(rel, self.inbox / rel)).st_size
            except OSError:
                sizes[rel] = 0
        # which unit-year each form is a version of
        keyed, unmatched = [], []
        for f in forms:
            nk = name_key(f.unit)
            if not nk or not f.year:
                res.unassigned.append((f.file, f.sheet))
                continue
            key = self.aliases.get(nk)
            if key is None and self.has_roster:
                unmatched.append((f.file, f.unit, f.year))
            keyed.append((key or nk, key is not None or not self.has_roster, f))
        with st.transaction() as tx:
            missing = st.missing_blobs(tx, {sha for _, sha, *_ in files if sha})
            st.add_blobs(tx, [(sha, sizes[rel], self.paths.get(rel, self.inbox / rel))
                              for rel, sha, *_ in files if sha in missing])
            res.files += len(missing)
            st.add_receipts(tx, [dict(run_id=self.run_id, path=rel, sha256=sha, size=sizes[rel],
                                      received_at=at, status=status, code=code, error=err)
                                 for rel, sha, status, code, err in files])
            st.ensure_units(tx, [dict(key=k, name=f.unit) for k, matched, f in keyed
                                 if not self.has_roster or not matched])
            st.add_unmatched(tx, [dict(run_id=self.run_id, path=p, name=n, year=y) for p, n, y in unmatched])
            ids = st.unit_year_ids(tx, {(k, f.year) for k, _, f in keyed})
            self.touched.update({(f.file, f.sheet): ids[(k, f.year)] for k, _, f in keyed})
            sha_of = {rel: sha for rel, sha, *_ in files}
            known = st.existing_versions(tx, ids.values())
            fresh = [(k, m, f) for k, m, f in keyed if (ids[(k, f.year)], sha_of.get(f.file, ""), f.sheet) not in known]
            res.unchanged += len(keyed) - len(fresh)
            # 说明 answer an earlier version's findings: only a new version of a unit-year that
            # already has one (in the store, or earlier in this chunk) can be a returned copy
            had = {u for u, _, _ in known} | {u for u, n in Counter(
                ids[(k, f.year)] for k, _, f in fresh).items() if n > 1}
            for k, _, f in fresh:
                if ids[(k, f.year)] in had and f.file not in notes:
                    p = self.paths.get(f.file, self.inbox / f.file)
                    notes[f.file] = read_notes(p) if has_return_sheet(p) else []
            last = self._last_year(tx, {(k, f.year) for k, _, f in fresh})
            history = self._history(tx, [ids[(k, f.year)] for k, _, f in fresh
                                         if any(x.rule == DUP_RULE for x in f.findings)])
            rows, per_form = [], []
            for k, matched, f in fresh:
                found = list(f.findings)
                if ids[(k, f.year)] in history:
                    if any(x.rule == DUP_RULE for x in found):
                        found = _as_versions(found, history[ids[(k, f.year)]], f.file)
                    else:
                        history[ids[(k, f.year)]].append(f.file)
                prev = last.get((k, f.year))
                if prev is not None and self.cross_rules:
                    unit = {"file": f.file, "sheet": f.sheet, "unit": f.unit, "year": f.year}
                    extra = crossyear.check(self.cross_rules, unit, f.figures, prev[0], last_year=prev[1],
                                            last_approved=prev[2], tolerance=self.tolerance)
                    res.cross_year += len(extra)
                    found += extra
                sev = Counter(x.severity for x in found)
                rows.append(dict(unit_year_id=ids[(k, f.year)], sha256=sha_of.get(f.file, ""), sheet=f.sheet,
                                 path=f.file, run_id=self.run_id, received_at=at, unit_name=f.unit,
                                 matched=matched, errors=sev["error"], warnings=sev["warning"],
                                 infos=sev["info"], figures=_figures_json(f.figures),
                                 values_csv=f.values_csv))
                per_form.append((f, found))
            vid = st.add_versions(tx, rows)
            res.versions += len(vid)
            frows = []
            noted = []
            for row, (f, found) in zip(rows, per_form):
                v = vid.get((row["unit_year_id"], row["sha256"], row["sheet"]))
                if v is None:      # another run recorded it a moment ago
                    continue
                for fd, key in zip(found, finding_keys(found)):
                    frows.append(dict(version_id=v, key=key, rule=fd.rule, severity=fd.severity,
                                      block=fd.block, org=fd.org, field=fd.field, sheet=fd.sheet,
                                      cell=fd.cell, expected=fd.expected, actual=fd.actual, message=fd.message))
                if notes.get(f.file):
                    noted.append((row["unit_year_id"], v, f))
            st.add_findings(tx, frows)
            self._notes(tx, noted, notes, at)
        res.unmatched += unmatched

    def _history(self, tx, uy_ids) -> dict[int, list[str]]:
        """unit-year id → the paths of its versions so far, in order (for DUP-001 as 第 N 版)."""
        out = {i: [] for i in uy_ids}
        for v in self.store.versions(tx, uy_ids):
            out[v["unit_year_id"]].append(v["path"])
        return out

    def _notes(self, tx, noted, notes, at) -> None:
        """说明 of returned copies, keyed against the unit-year's earlier findings."""
        if not noted:
            return
        st = self.store
        uy_ids = {u for u, _, _ in noted}
        versions = st.versions(tx, uy_ids)
        prior = defaultdict(list)
        for f in st.findings(tx, [v["id"] for v in versions]):
            prior[f["version_id"]].append(f)
        by_uy = defaultdict(list)
        for v in versions:
            by_uy[v["unit_year_id"]].append(v)
        rows = []
        sheets_in_file = Counter(f.file for _, _, f in noted)
        for uy_id, vid, form in noted:
            earlier = [x for v in by_uy[uy_id] if v["id"] != vid for x in prior[v["id"]]]
            mine = [n for n in notes[form.file]
                    if sheets_in_file[form.file] == 1 or not n["sheet"] or n["sheet"] == form.sheet]
            for n in match_notes(mine, earlier):
                rows.append(dict(unit_year_id=uy_id, version_id=vid, key=n["key"], rule=n["rule"],
                                 text=n["note"], received_at=at))
        st.add_explanations(tx, rows)
        self.result.notes += len(rows)

    def _last_year(self, tx, pairs) -> dict:
        if not self.cross_rules:
            return {}
        return _previous_year(self.store, tx, pairs)


def _previous_year(st: Store, tx, pairs) -> dict:
    """(unit key, year) → (last year's figures, last year, whether 通过) for the cross-year rules:
    last year's 通过 version, else its current one."""
    want = {}
    for k, y in pairs:
        if str(y).isdigit():
            want[(k, str(int(y) - 1))] = (k, str(y))
    if not want:
        return {}
    rows = st.find_unit_years(tx, want)
    ids = {r["id"]: (r["unit_key"], r["year"]) for r in rows}
    vers, acts = defaultdict(list), defaultdict(list)
    for v in st.versions(tx, ids):
        vers[v["unit_year_id"]].append(v)
    for a in st.actions(tx, ids):
        acts[a["unit_year_id"]].append(a)
    chosen = {}
    for i in ids:
        uy = derive(UnitYear(*ids[i], {}, i, vers[i], acts[i]), 0)
        if uy.current is not None:
            chosen[i] = (uy.current["id"], uy.state == ACCEPTED)
    figs = st.version_values(tx, [v for v, _ in chosen.values()])
    out = {}
    for i, (v, ok) in chosen.items():
        k, y = ids[i]
        out[want[(k, y)]] = (json.loads(figs[v][0]), y, ok)
    return out


def previous_year(store: Store, pairs) -> dict:
    """For the rule engine's kind cross_year: (unit key, year) → (last year's figures
    {block.field: amount text}, last year, whether last year is 通过). Keys from VersionBook.key."""
    with store.transaction() as tx:
        return _previous_year(store, tx, pairs)


class VersionBook:
    """What a run needs to know, before it writes a chunk, of the versions the store already has:
    a unit's key from the name it wrote, and '第 N 版，替代 …' for a form that is not the unit-
    year's first (DUP-001 as information). Loaded once at the start of a run; no SQL after that."""

    def __init__(self, store: Store, years: list[str] | None = None):
        with store.transaction() as tx:
            self.aliases = store.aliases(tx)
            self.has_roster = store.roster_size(tx) > 0
            rows = store.unit_years(tx) if not years else [r for y in years for r in store.unit_years(tx, y)]
            by_id = {r["id"]: (r["unit_key"], r["year"]) for r in rows}
            self.paths: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
            for v in store.versions(tx, by_id):
                self.paths[by_id[v["unit_year_id"]]].append((v["path"], v["sheet"], v["sha256"]))

    def key(self, name: str) -> str | None:
        """The unit's key (roster code, or the normalised name without a roster); None when a
        roster exists and the name is on none of its entries."""
        nk = name_key(name)
        k = self.aliases.get(nk)
        return k if k is not None or self.has_roster else nk

    def note(self, name: str, year: str, path: str, sheet: str, sha256: str = "") -> str | None:
        """'第 N 版，替代 …' when the unit-year has earlier versions (None for its first); the form
        is counted in, so call it once per form in the order received."""
        k = self.key(name) or name_key(name)
        seen = self.paths[(k, str(year))]
        for i, (p, sh, sha) in enumerate(seen):
            if (sha and sha == sha256 and sh == sheet) or (p == path and sh == sheet and not sha256):
                return f"第 {i + 1} 版，替代 {'、'.join(dict.fromkeys(x[0] for x in seen[:i]))}" if i else None
        seen.append((path, sheet, sha256))
        n = len(seen)
        return f"第 {n} 版，替代 {'、'.join(dict.fromkeys(x[0] for x in seen[:-1]))}" if n > 1 else None


# ---------------------------------------------------------------------------- 上报 on the web desk
def submission_problems(findings: list[dict], notes: dict[str, str], min_chars: int | None = None) -> list[str]:
    """Why a checked form cannot be submitted (上报) yet, in Chinese; empty when it can. Every error
    blocks (an error is never explained away); every warning needs a 说明 long enough."""
    if min_chars is None:
        min_chars = int(settings()["explain_min_chars"])
    out = []
    errors = sum(f["severity"] == "error" for f in findings)
    if errors:
        out.append(f"有 {errors} 个逻辑性错误：请修改表格后重新上传（错误不能以说明代替）")
    short = sum(f["severity"] == "warning" and not note_counts(notes.get(f["key"], ""), min_chars)
                for f in findings)
    if short:
        out.append(f"有 {short} 个核实性问题尚未填写说明（每条至少 {min_chars} 个字）")
    return out


def explain(store: Store, uy: UnitYear, version_id: int, notes: dict[str, str]) -> int:
    """说明 written on the web desk (finding key → text) for a version's findings, recorded as a
    returned copy's 说明 would be; a text equal to the 说明 in force is not recorded again."""
    rules = {f["key"]: f["rule"] for f in uy.findings}
    rows = []
    for key, text in notes.items():
        text = (text or "").strip()
        have = uy.valid_notes.get(key)
        if text and key in rules and not (have and have["text"] == text):
            rows.append(dict(unit_year_id=uy.id, version_id=version_id, key=key, rule=rules[key],
                             text=text, received_at=now()))
    with store.transaction() as tx:
        store.add_explanations(tx, rows)
    return len(rows)
