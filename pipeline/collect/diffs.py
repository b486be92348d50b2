"""A version against the one before it: findings new/resolved/persisting/explained, amounts changed."""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import TYPE_CHECKING

from ..check.ruleset import DEFAULT_MIN_CHARS
from ..check.keys import org_key
from .states import UnitYear, collection, explained, settings

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


NEW, RESOLVED, PERSISTING, EXPLAINED_F = "新增", "已解决", "仍存在", "已说明"


def diff_findings(prev: list[dict], cur: list[dict], uy: UnitYear | None = None,
                  min_chars: int = DEFAULT_MIN_CHARS) -> list[tuple[str, dict]]:
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


def changes(store: Store, year: str | None = None, view: list[UnitYear] | None = None) -> list[dict]:
    """changes.csv / the 变化 sheet: for each unit-year with more than one version (of the year,
    or of the view given), the current version against the one before it, finding by finding
    and amount by amount."""
    min_chars = int(settings()["explain_min_chars"])
    view = [uy for uy in (collection(store, year) if view is None else view) if uy.current and uy.number > 1]
    out = []
    with store.reading() as tx:
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
