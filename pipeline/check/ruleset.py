"""rules/rules.toml → Rule objects. A bad rule file is a clear error naming the rule and the key."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import UsageError
from ..models import BLOCK_FIELDS
from ..read.labels import rules_dir

KINDS = {"identity", "rollup", "nonnegative", "score_range", "grade", "cell_status", "narrative",
         "summary_blank", "required", "compare", "duplicate", "reader_issue"}
SEVERITIES = {"error", "warning", "info"}
ALL_FIELDS = [f"{b}.{f}" for b, fs in BLOCK_FIELDS.items() for f in fs]
UNIT_FIELDS = {"unit.staff_actual", "unit.staff_quota", "unit.score"}
_TERM = re.compile(r"\s*([+-])?\s*([a-z_]+\.[a-z_]+)\s*")


class RuleFileError(UsageError):
    """The rule pack cannot be used; the message says where and why (in Chinese)."""


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    kind: str
    severity: str
    message: str
    basis: str = ""
    formula: str = ""
    scope: str = "all"
    require: object = "any"
    fields: tuple[str, ...] = ()
    params: dict = field(default_factory=dict, hash=False, compare=False)

    # identity rules: the left-hand field and the signed right-hand terms
    @property
    def lhs(self) -> str:
        return self.formula.split("=", 1)[0].strip()

    @property
    def terms(self) -> list[tuple[int, str]]:
        return parse_terms(self.formula.split("=", 1)[1])


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    tolerance: Decimal
    rules: tuple[Rule, ...]
    path: str



def parse_terms(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(text[pos:])
        out.append((-1 if m.group(1) == "-" else 1, m.group(2)))
        pos = m.end()
    return out


def expand_fields(patterns) -> tuple[str, ...]:
    out = []
    for p in patterns:
        if p.endswith(".*"):
            out += [f for f in ALL_FIELDS if f.startswith(p[:-1])]
        elif p in ALL_FIELDS:
            out.append(p)
        else:
            raise ValueError(p)
    return tuple(out)


def load_pack(path: str | Path | None = None, tolerance: str | None = None) -> RulePack:
    p = Path(path) if path else rules_dir() / "rules.toml"
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RuleFileError(f"找不到规则文件：{p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"规则文件 {p} 格式错误：{exc}") from None
    pack = data.get("pack", {})
    try:
        tol = Decimal(str(tolerance if tolerance is not None else pack.get("tolerance", "0.01")))
    except InvalidOperation:
        raise RuleFileError(f"规则文件 {p}：容差 tolerance 不是数字") from None
    rules, seen = [], set()
    for i, entry in enumerate(data.get("rules", []), 1):
        rule = _rule(entry, i, p)
        if rule.id in seen:
            raise RuleFileError(f"规则文件 {p}：规则编号 {rule.id} 重复")
        seen.add(rule.id)
        if entry.get("enabled", True):
            rules.append(rule)
    return RulePack(pack.get("name", ""), str(pack.get("version", "")), tol, tuple(rules), str(p))


def _rule(e: dict, i: int, p: Path) -> Rule:
    where = f"规则文件 {p} 第 {i} 条规则（{e.get('id', '无编号')}）"
    for key in ("id", "name", "kind", "severity", "message"):
        if not e.get(key):
            raise RuleFileError(f"{where}缺少 {key}")
    if e["kind"] not in KINDS:
        raise RuleFileError(f"{where}：未知的规则类型 kind = {e['kind']!r}（可用：{'、'.join(sorted(KINDS))}）")
    if e["severity"] not in SEVERITIES:
        raise RuleFileError(f"{where}：severity 应为 error、warning 或 info，而不是 {e['severity']!r}")
    formula = e.get("formula", "")
    try:
        fields = expand_fields(e.get("fields", []))
        if e["kind"] == "identity":
            lhs, rhs = formula.split("=", 1)
            names = [lhs.strip()] + [f for _, f in parse_terms(rhs)]
            bad = [n for n in names if n not in ALL_FIELDS]
            if bad:
                raise ValueError(bad[0])
        elif e["kind"] == "compare":
            left, right = formula.split("<=", 1)
            for n in (left.strip(), right.strip()):
                if n not in ALL_FIELDS and n not in UNIT_FIELDS:
                    raise ValueError(n)
    except ValueError as exc:
        raise RuleFileError(f"{where}：公式或字段无法识别（{exc}）：{formula or e.get('fields')}") from None
    if e.get("scope", "all") not in ("all", "summary", "sub"):
        raise RuleFileError(f"{where}：scope 应为 all、summary 或 sub")
    known = {"id", "name", "kind", "severity", "message", "basis", "formula", "scope", "require",
             "fields", "enabled"}
    params = {k: v for k, v in e.items() if k not in known}
    return Rule(e["id"], e["name"], e["kind"], e["severity"], e["message"], e.get("basis", ""),
                formula, e.get("scope", "all"), e.get("require", "any"), fields, params)
