"""上报 on the web desk: what blocks a submission, and the page's 说明 recorded."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..store import now
from .notes import note_counts
from .states import UnitYear, settings

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


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
