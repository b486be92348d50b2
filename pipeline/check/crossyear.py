"""Rule kind cross_year: a unit's form against its own form of the year before.

The rules are data in rules.toml like every other kind; the previous year's figures come from the
collection's store, handed to the rule engine per chunk as its context (collect/context.py). A run
without a store has no last year, and these rules find nothing. Pure functions: no SQL, no files.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Finding

# numpy and the frames are imported where the rules run: load_pack checks a rule file's
# cross_year keys with params_problem, and `selfeval check` loads its pack before it reads

KIND = "cross_year"
CHECKS = ("carry", "growth", "change")


def params_problem(params: dict, fields: tuple[str, ...], all_fields: list[str]) -> str | None:
    """What is wrong with a cross_year rule's keys (for ruleset's RuleFileError), or None."""
    if params.get("check") not in CHECKS:
        return f"check 应为 {'、'.join(CHECKS)} 之一，而不是 {params.get('check')!r}"
    if len(fields) != 1:
        return "fields 应为一个字段，例如 [\"income.carryover\"]"
    prev = params.get("previous", fields[0])
    if prev not in all_fields:
        return f"previous 字段无法识别：{prev!r}"
    if params.get("severity_unapproved", "warning") not in ("error", "warning", "info"):
        return "severity_unapproved 应为 error、warning 或 info"
    if "share" in params:
        try:
            ok = Decimal(str(params["share"])) > 0 and not isinstance(params["share"], bool)
        except InvalidOperation:
            ok = False
        if not ok:
            return f"share 应为大于 0 的数字（例如 0.3），而不是 {params['share']!r}"
    return None


def _dec(v) -> Decimal | None:
    if v is None or v == "":
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def check(rule, unit: dict, this: dict, last: dict, *, last_year: str, last_approved: bool,
          tolerance: Decimal = Decimal("0.01")) -> Finding | None:
    """One rule on one unit's form (unit: file, sheet, unit, year, uid; this: block.field → amount,
    block.field@cells → cells) against last year's figures (block.field → amount text)."""
    fld = rule.fields[0]
    p = rule.params
    now_v, prev_v = _dec(this.get(fld)), _dec(last.get(p.get("previous", fld)))
    if now_v is None or prev_v is None:
        return None
    severity = rule.severity
    extra = {"previous_year": last_year}
    if p["check"] == "carry":
        if abs(now_v - prev_v) <= tolerance:
            return None
        if not last_approved:
            severity = p.get("severity_unapproved", "warning")
    elif p["check"] == "growth":
        if now_v - prev_v <= tolerance:
            return None
    else:
        share = Decimal(str(p.get("share", "0.3")))
        if prev_v == 0 or abs(now_v - prev_v) <= abs(prev_v) * share:
            return None
        extra.update(share=f"{share:.0%}", change=f"{(now_v - prev_v) / abs(prev_v):+.1%}")
    from .findings import make_finding

    block, field = fld.split(".", 1)
    cell = str(this.get(f"{fld}@cells") or this.get(f"{fld}@cell") or "").split("、")[0].split(",")[0]
    f = make_finding(rule, unit, block=block, org="", field=field, cell=cell,
                     expected=prev_v, actual=now_v, extra=extra)
    f.severity = severity
    return f


def cross_year(rule, P):
    """The runner (check/checks.py's protocol): one row per unit that breaks the rule; the
    context's "previous" maps a unit's uid to (last year's figures, last year, 通过 or not)."""
    import numpy as np

    from .frames import frame as make_frame

    rows = []
    for uid, (last, year, approved) in ((P.context or {}).get("previous") or {}).items():
        if uid in P.units and (f := check(rule, P.unit(uid), P.units[uid], last, last_year=year,
                                          last_approved=approved, tolerance=P.tol)):
            rows.append((uid, f))
    frame = make_frame(rows, ["uid", "finding"])
    return frame, (lambda d: np.zeros(len(d), dtype=bool)), (lambda row: [row["finding"]]), ["uid"]
