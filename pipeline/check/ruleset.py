"""rules/rules.toml → Rule objects. A bad rule file is a clear error naming the rule and the key."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import UsageError, os_reason
from ..models import BLOCK_FIELDS
from ..read.labels import rules_dir
from .vocab import Vocab, rule_problem

KINDS = {"identity", "rollup", "nonnegative", "score_range", "grade", "cell_status", "narrative",
         "summary_blank", "required", "compare", "duplicate", "reader_issue", "indicator", "ratio",
         "cross_year"}
DEFAULT_MIN_CHARS = 6   # a 说明 this long (characters, spaces not counted) clears a warning
SEVERITIES = {"error", "warning", "info"}
ALL_FIELDS = [f"{b}.{f}" for b, fs in BLOCK_FIELDS.items() for f in fs]
UNIT_FIELDS = {"unit.staff_actual", "unit.staff_quota", "unit.score"}
_TERM = re.compile(r"\s*([+-])?\s*([a-z_]+\.[a-z_]+)\s*")


class RuleFileError(UsageError):
    """The rule pack cannot be used; the message says where and why (in Chinese)."""


class ToleranceError(UsageError):
    """A tolerance that is no number ≥ 0 (from --tolerance or the pack)."""


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
    vocab: Vocab = field(default_factory=Vocab, compare=False, hash=False)  # [indicators]
    explain_min_chars: int = DEFAULT_MIN_CHARS   # [collection]



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
    data = read_toml(p, "规则文件")
    pack = data.get("pack", {})
    if not isinstance(pack, dict):
        raise RuleFileError(f"规则文件 {p}：[pack] 应为一个表（name、version、tolerance）")
    if tolerance is not None:
        tol = parse_tolerance(tolerance, "容差 --tolerance ")
    else:
        try:
            tol = parse_tolerance(pack.get("tolerance", "0.01"), "容差 tolerance ")
        except ToleranceError as exc:
            raise RuleFileError(f"规则文件 {p} 的 [pack]：{exc}") from None
    entries = data.get("rules", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuleFileError(f"规则文件 {p}：每条规则应写成一个 [[rules]] 表")
    rules, seen = [], set()
    for i, entry in enumerate(entries, 1):
        rule = _rule(entry, i, p)
        if rule.id in seen:
            raise RuleFileError(f"规则文件 {p}：规则编号 {rule.id} 重复")
        seen.add(rule.id)
        if entry.get("enabled", True):
            rules.append(rule)
    try:
        vocab = Vocab.from_toml(data.get("indicators", {}))
    except ValueError as exc:
        raise RuleFileError(f"规则文件 {p} 的 [indicators]：{exc}") from None
    for r in rules:
        if r.kind == "indicator" and (problem := rule_problem(r.params)):
            raise RuleFileError(f"规则文件 {p} 的规则 {r.id}：{problem}")
    coll = data.get("collection", {})
    min_chars = coll.get("explain_min_chars", DEFAULT_MIN_CHARS) if isinstance(coll, dict) else None
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 1:
        raise RuleFileError(f"规则文件 {p} 的 [collection]：explain_min_chars 应为正整数（说明至少几个字），"
                            f"而不是 {min_chars!r}")
    return RulePack(str(pack.get("name", "")), str(pack.get("version", "")), tol, tuple(rules),
                    str(p), vocab, min_chars)


def parse_tolerance(value, what: str) -> Decimal:
    """A tolerance in 万元: a finite number ≥ 0 (a negative one would make every equal sum a finding)."""
    try:
        tol = Decimal(str(value).strip())
    except InvalidOperation:
        tol = None
    if tol is None or not tol.is_finite() or isinstance(value, bool):
        raise ToleranceError(f"{what}应为不小于 0 的数字（万元，例如 0.01），而不是“{value}”")
    if tol < 0:
        raise ToleranceError(f"{what}不能为负数（{value}）：应为不小于 0 的数字（万元，例如 0.01）")
    return tol


_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_WHAT = (  # tomllib's messages (English) → what the user did wrong, in Chinese
    ("Expected '=' after a key", "键的后面应有等号 ="),
    ("Invalid value", "值无法识别（文字要加英文引号，例如 severity = \"error\"）"),
    ("Unterminated string", "字符串缺少结束的引号"),
    ("Illegal character", "字符串中有不允许的字符"),
    ("Cannot overwrite a value", "同一个键写了两次"),
    ("Cannot declare", "同一个表或键定义了两次"),
    ("Cannot mutate", "同一个表或键定义了两次"),
    ("Expected newline or end of document", "一条语句之后应换行"),
    ("Invalid statement", "无法识别的语句"),
    ("Invalid initial character for a key", "键名以不允许的字符开头"),
    ("Unclosed array", "数组缺少结束的 ]"),
    ("Unclosed inline table", "内联表缺少结束的 }"),
    ("Expected ']' at the end of a table declaration", "表名缺少结束的 ]"),
    ("Expected ']]' at the end of an array declaration", "[[rules]] 缺少结束的 ]]"),
)


def read_toml(p: Path, what: str) -> dict:
    """A TOML file of the rule pack, every failure said in Chinese with its line and column."""
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise RuleFileError(f"找不到{what}：{p}") from None
    except IsADirectoryError:
        raise RuleFileError(f"{what} {p} 是一个文件夹，应为 .toml 文件") from None
    except OSError as exc:
        raise RuleFileError(f"无法读取{what} {p}（{os_reason(exc, '读取')}）") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleFileError(f"{what} {p} 不是 UTF-8 编码的文本：请用记事本“另存为”UTF-8 后重试") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(toml_error_message(p, what, text, exc)) from None


def toml_error_message(p: Path, what: str, text: str, exc: Exception) -> str:
    msg = str(getattr(exc, "msg", None) or exc)
    line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    m = _TOML_WHERE.search(str(exc))
    if line is None and m:
        line, col = int(m.group(1)), int(m.group(2))
    what_wrong = next((zh for en, zh in _TOML_WHAT if msg.startswith(en)), "不符合 TOML 格式")
    if msg.startswith("Illegal character") and "\\n" in msg:
        what_wrong = "字符串缺少结束的引号"
    if line is None:
        return f"{what} {p} 格式有误（文件末尾）：{what_wrong}"
    lines = text.splitlines()
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return (f"{what} {p} 第 {line} 行第 {col} 列格式有误：{what_wrong}"
            + (f"。该行内容：{shown}" if shown else ""))


def check_labels(path: str | Path | None = None) -> Path:
    """The synonym table (labels.toml) beside the pack: parsed and built once, or a RuleFileError."""
    from ..read.labels import Labels

    p = Path(path) if path else rules_dir() / "labels.toml"
    data = read_toml(p, "同义词表")
    try:
        Labels(data)
    except KeyError as exc:
        raise RuleFileError(f"同义词表 {p} 缺少 {exc.args[0]}") from None
    except (TypeError, AttributeError, ValueError):
        raise RuleFileError(f"同义词表 {p} 的结构不对：每个键下应为文字列表，与导出的 labels.toml 对照") from None
    return p


def _rule(e: dict, i: int, p: Path) -> Rule:
    where = f"规则文件 {p} 第 {i} 条规则（{e.get('id', '无编号')}）"
    for key in ("id", "name", "kind", "severity", "message"):
        if not e.get(key):
            raise RuleFileError(f"{where}缺少 {key}")
    for key in ("id", "name", "kind", "severity", "message", "basis", "formula", "scope"):
        if key in e and not isinstance(e[key], str):
            raise RuleFileError(f"{where}：{key} 应为加引号的文字，而不是 {e[key]!r}")
    if not isinstance(e.get("enabled", True), bool):
        raise RuleFileError(f"{where}：enabled 应为 true 或 false，而不是 {e['enabled']!r}")
    if not isinstance(e.get("fields", []), list):
        raise RuleFileError(f"{where}：fields 应为字段列表，例如 [\"income.*\"]")
    if e["kind"] not in KINDS:
        raise RuleFileError(f"{where}：未知的规则类型 kind = {e['kind']!r}（可用：{'、'.join(sorted(KINDS))}）")
    if e["severity"] not in SEVERITIES:
        raise RuleFileError(f"{where}：severity 应为 error、warning 或 info，而不是 {e['severity']!r}")
    formula = e.get("formula", "")
    try:
        fields = expand_fields(e.get("fields", []))
        if e["kind"] == "identity":
            if "=" not in formula:
                raise ValueError("应写成 合计字段 = 分项 + 分项")
            lhs, rhs = formula.split("=", 1)
            names = [lhs.strip()] + [f for _, f in parse_terms(rhs)]
            bad = [n for n in names if n not in ALL_FIELDS]
            if bad:
                raise ValueError(bad[0])
        elif e["kind"] == "compare":
            if "<=" not in formula:
                raise ValueError("应写成 字段 <= 字段")
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
    _check_params(e["kind"], params, where, fields)
    return Rule(e["id"], e["name"], e["kind"], e["severity"], e["message"], e.get("basis", ""),
                formula, e.get("scope", "all"), e.get("require", "any"), fields, params)


def _number(value) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return Decimal(str(value)).is_finite()
    except InvalidOperation:
        return False


def _check_params(kind: str, params: dict, where: str, fields: tuple[str, ...] = ()) -> None:
    """The extra keys a rule kind reads, checked here so that a bureau's typo is a RuleFileError
    naming the rule, never a failure in the middle of a run."""
    for key in ("min", "max", "tolerance"):
        if key in params and not _number(params[key]):
            raise RuleFileError(f"{where}：{key} 应为数字，而不是 {params[key]!r}")
    if kind == "grade":
        bands = params.get("bands", [])
        if not isinstance(bands, list) or not all(
                isinstance(b, list) and len(b) == 2 and isinstance(b[0], str) and _number(b[1]) for b in bands):
            raise RuleFileError(f"{where}：bands 应写成 [[\"优\", 90], [\"良\", 80], …]（等次和下限）")
        syn = params.get("synonyms", {})
        if not isinstance(syn, dict) or not all(isinstance(v, str) for v in syn.values()):
            raise RuleFileError(f"{where}：synonyms 应写成 {{ 优秀 = \"优\", … }}")
    if kind == "cross_year":
        from .crossyear import params_problem

        if (problem := params_problem(params, fields, ALL_FIELDS)):
            raise RuleFileError(f"{where}：{problem}")
    if kind == "required":
        facts = params.get("facts", [])
        if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
            raise RuleFileError(f"{where}：facts 应为文字列表，例如 [\"unit\", \"year\"]")
    for key in ("status", "code"):
        if key in params and not isinstance(params[key], str):
            raise RuleFileError(f"{where}：{key} 应为加引号的文字，而不是 {params[key]!r}")
