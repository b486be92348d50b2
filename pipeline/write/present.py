"""The words and number formats reviewers and units read: the 审核 vocabulary, rules' formulas in
Chinese labels, and figures as numbers with the decimals they carry.

`formula_cn(rule)` is what the 规则 sheet shows and what `selfeval rules` may call.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..models import BLOCK_FIELDS, BLOCK_LABELS, FIELD_LABELS

# 部门决算软件's 审核 words: 逻辑性 (must be fixed), 核实性 (may stand with a written 说明), 提示
SEVERITY_WORDS = {"error": "逻辑性错误", "warning": "核实性问题", "info": "提示"}
ACTION_WORDS = {"error": "必须修改", "warning": "属实的写明说明", "info": "无需处理"}
STATUS_WORDS = ("需修改", "需说明", "无问题", "已说明")   # errors, warnings, neither, every warning explained
TODO = "逻辑性错误须修改后重新报送；核实性问题如属实，请在“说明”栏写明原因"
KIND_LABELS = {"identity": "表内勾稽", "rollup": "汇总行与分机构", "nonnegative": "金额符号",
               "score_range": "得分范围", "grade": "评价等次", "cell_status": "单元格内容",
               "narrative": "报告与表内一致", "summary_blank": "汇总行填写", "required": "必填项",
               "compare": "数值比较", "duplicate": "重复报送", "reader_issue": "读表检查",
               "indicator": "绩效指标", "ratio": "比率", "cross_year": "与上年度比较"}
FACT_LABELS = {"unit": "填报单位", "year": "年度", "contact": "联系人", "score": "绩效自评综合得分",
               "grade": "评价等次", "phone": "联系电话", "staff_quota": "人员编制", "staff_actual": "实有人数"}
STATUS_TEXT = {"text": "文字", "error": "错误值（#REF! 等）", "formula": "无计算结果的公式"}
CODE_TEXT = {"HIDDEN_CONTENT": "隐藏的行、列或工作表中有数字", "BLOCK_MISSING": "四张金额表之一未找到",
             "YUAN_CONVERTED": "表头或单元格标明单位为元（千元）", "FORMULA_NO_RESULT": "文字栏是无结果的公式",
             "MAGNITUDE": "一张表的金额约为其他表的 10000 倍"}


def label(key: str) -> str:
    """'income.total' → '收入合计'; 'expenditure.total~plan' → '支出合计（调整后预算数）'."""
    base, _, measure = key.partition("~")
    text = FIELD_LABELS.get(base) or FACT_LABELS.get(base.split(".")[-1], base)
    return f"{text}（调整后预算数）" if measure == "plan" else text


def fields_cn(fields) -> str:
    """A field list in words, a whole table as '收入表各项'."""
    fields, out = list(fields), []
    for block, names in BLOCK_FIELDS.items():
        keys = [f"{block}.{n}" for n in names]
        if all(k in fields for k in keys):
            out.append(f"{BLOCK_LABELS[block]}表各项")
            fields = [f for f in fields if f not in keys]
    return "、".join(out + [label(f) for f in fields])


def formula_cn(rule) -> str:
    """The rule's test in Chinese labels, as 审核公式 are written (左边 = 右边)."""
    k, p = rule.kind, rule.params
    if k == "identity":
        rhs = "".join(f" {'-' if s < 0 else '+'} {label(c)}" for s, c in rule.terms).lstrip(" +")
        return f"{label(rule.lhs)} = {rhs}"
    if k == "compare":
        left, right = (s.strip() for s in rule.formula.split("<=", 1))
        return f"{label(left)} ≤ {label(right)}"
    if k == "rollup":
        return f"汇总行的{fields_cn(rule.fields)} = 各机构之和"
    if k == "nonnegative":
        return f"{fields_cn(rule.fields)} ≥ 0"
    if k == "score_range":
        return f"{p.get('min', 0)} ≤ 绩效自评综合得分 ≤ {p.get('max', 100)}"
    if k == "grade":
        bands = sorted(p.get("bands", []), key=lambda b: -Decimal(str(b[1])))
        return "评价等次 = " + "，".join(f"{n}（得分 ≥ {lo}）" if Decimal(str(lo)) > 0 else f"{n}（其余）"
                                          for n, lo in bands)
    if k == "cell_status":
        return f"金额单元格的内容不是{STATUS_TEXT.get(p.get('status', 'text'), '数字')}"
    if k == "narrative":
        return f"评价报告中写明的{fields_cn(rule.fields)} = 表内同项金额"
    if k == "summary_blank":
        return "分机构已填的表，汇总行不为空"
    if k == "required":
        return "、".join(FACT_LABELS.get(f, f) for f in p.get("facts", [])) + " 均已填写"
    if k == "duplicate":
        return "每个单位每个年度只报送一份"
    if k == "reader_issue":
        return f"无：{CODE_TEXT.get(p.get('code', ''), '读表时发现的问题')}"
    if k == "ratio":
        return f"{label(p['numerator'])} ÷ {label(p['denominator'])} ≥ {Decimal(str(p.get('min', 0))) * 100:.0f}%"
    if k == "cross_year":
        f = rule.fields[0] if rule.fields else ""
        if p.get("check") == "carry":
            return f"本年{label(f)} = 上年度{label(p.get('previous', f))}"
        if p.get("check") == "growth":
            return f"本年{label(f)} ≤ 上年度{label(f)}"
        return f"|本年{label(f)} − 上年度{label(f)}| ≤ 上年度 × {Decimal(str(p.get('share', 0.3))) * 100:.0f}%"
    if k == "indicator":
        return {"target": "指标完成值 达到 绩效目标值", "repeat": "同一事项各处所写数字相同",
                "points_sum": "绩效自评综合得分 = 各项指标得分之和", "points_range": "0 ≤ 指标得分 ≤ 分值",
                "full_points": "未达目标的指标 得分 < 分值"}.get(p.get("check", ""), "绩效指标检查")
    return rule.formula or fields_cn(rule.fields)


def decimal_of(text) -> Decimal | None:
    """A finding's 应为/实为 text as a number, or None ('90%', '0–100', '' stay text)."""
    if isinstance(text, Decimal):
        return text
    try:
        d = Decimal(str(text).replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def signed_diff(expected, actual) -> Decimal | None:
    """差额 = 实为 - 应为, with its sign (None unless both are numbers)."""
    e, a = decimal_of(expected), decimal_of(actual)
    return None if e is None or a is None or expected in ("", None) or actual in ("", None) else a - e


def decimals(*texts) -> int:
    """Decimals to show for these figures: two, or more where one of them has more (up to 6)."""
    n = 2
    for t in texts:
        d = decimal_of(t)
        if d is not None:
            exp = d.normalize().as_tuple().exponent
            if isinstance(exp, int):
                n = max(n, min(-exp, 6))
    return n


def num_format(places: int) -> str:
    return "#,##0." + "0" * places


def a_status(errors: int, warnings: int, explained: int = 0) -> str:
    """A unit's status in 汇总表: explained = its warnings with a 说明 long enough (a store's)."""
    if errors:
        return STATUS_WORDS[0]
    if warnings:
        return STATUS_WORDS[3] if explained >= warnings else STATUS_WORDS[1]
    return STATUS_WORDS[2]
