"""Unit-years as the collection sees them: current version, state, 说明 in force; reviewer actions."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .base import ACCEPTED, EXPLAINED, HAS_ERRORS, NEEDS_NOTE, NOT_SUBMITTED, RETURNED, name_key, who
from .notes import note_counts

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


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
    """The collection's settings of the rule pack in use ([collection] in rules.toml)."""
    from ..check.ruleset import load_pack

    return {"explain_min_chars": load_pack().explain_min_chars}


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
    with store.reading() as tx:   # reads only: beside a run's writes, not behind them
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
    with store.reading() as tx:
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
