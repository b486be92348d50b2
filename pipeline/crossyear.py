"""Cross-year rules (kind "cross_year"): a unit's form against its own form of the year before.

Data in rules/collect.toml (or in the rule pack, once its loader knows the kind); the previous
year's figures come from the store through collect.py. Pure functions: no SQL, no files but the
rule data.
"""
from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .check.findings import make_finding
from .check.ruleset import ALL_FIELDS, Rule, RuleFileError
from .models import Finding
from .read.labels import rules_dir

KIND = "cross_year"
CHECKS = ("carry", "growth", "change")
DEFAULT_MIN_CHARS = 6


def settings_path() -> Path:
    return rules_dir() / "collect.toml"


def load(path: str | Path | None = None) -> tuple[list[Rule], dict]:
    """The cross-year rules and the [collection] settings."""
    p = Path(path) if path else settings_path()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], {"explain_min_chars": DEFAULT_MIN_CHARS}
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"规则文件 {p} 格式错误：{exc}") from None
    settings = {"explain_min_chars": DEFAULT_MIN_CHARS, **data.get("collection", {})}
    rules = []
    for i, e in enumerate(data.get("rules", []), 1):
        where = f"规则文件 {p} 第 {i} 条规则（{e.get('id', '无编号')}）"
        for key in ("id", "name", "kind", "check", "field", "severity", "message"):
            if not e.get(key):
                raise RuleFileError(f"{where}缺少 {key}")
        if e["kind"] != KIND or e["check"] not in CHECKS:
            raise RuleFileError(f"{where}：kind 应为 cross_year，check 应为 {'、'.join(CHECKS)}")
        fields = (e["field"], e.get("previous", e["field"]))
        if any(f not in ALL_FIELDS for f in fields):
            raise RuleFileError(f"{where}：字段无法识别：{fields}")
        if not e.get("enabled", True):
            continue
        params = {k: v for k, v in e.items() if k not in ("id", "name", "kind", "severity", "message",
                                                          "basis", "enabled")}
        rules.append(Rule(e["id"], e["name"], KIND, e["severity"], e["message"], e.get("basis", ""),
                          fields=fields, params=params))
    return rules, settings


def rules_of(pack) -> list[Rule]:
    """Cross-year rules of the rule pack if it has any, else those of collect.toml."""
    own = [r for r in getattr(pack, "rules", ()) if r.kind == KIND] if pack is not None else []
    return own or load()[0]


def _dec(v) -> Decimal | None:
    if v is None or v == "":
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def check(rules: list[Rule], unit: dict, this: dict, last: dict, *, last_year: str,
          last_approved: bool, tolerance: Decimal = Decimal("0.01")) -> list[Finding]:
    """Findings of one unit's form (unit: file, sheet, unit, year, uid; this: block.field →
    amount, block.field@cells → cells) against last year's figures (block.field → amount)."""
    out = []
    for rule in rules:
        fld, prev_fld = rule.fields
        now_v, prev_v = _dec(this.get(fld)), _dec(last.get(prev_fld))
        if now_v is None or prev_v is None:
            continue
        p = rule.params
        severity = rule.severity
        extra = {"previous_year": last_year}
        if p["check"] == "carry":
            if abs(now_v - prev_v) <= tolerance:
                continue
            if not last_approved:
                severity = p.get("severity_unapproved", rule.severity)
        elif p["check"] == "growth":
            if now_v - prev_v <= tolerance:
                continue
        else:
            share = Decimal(str(p.get("share", "0.3")))
            if prev_v == 0 or abs(now_v - prev_v) <= abs(prev_v) * share:
                continue
            extra.update(share=f"{share:.0%}", change=f"{(now_v - prev_v) / abs(prev_v):+.1%}")
        block, field = fld.split(".", 1)
        cell = str(this.get(f"{fld}@cells") or "").split("、")[0].split(",")[0]
        f = make_finding(rule, unit, block=block, org="", field=field, cell=cell,
                         expected=prev_v, actual=now_v, extra=extra)
        f.severity = severity
        out.append(f)
    return out
