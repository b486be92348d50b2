"""The records the reader produces: cells, facts, org rows and one unit's form."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache


# The contract's field words, per block, in the form's column order.
BLOCK_FIELDS: dict[str, tuple[str, ...]] = {
    "income": ("total", "carryover", "appropriation", "fund", "special_account", "other"),
    "expenditure": ("total", "basic", "personnel", "public", "project",
                    "surplus_current", "surplus_cumulative"),
    "three_public": ("total", "reception", "vehicle_operation", "vehicle_purchase", "overseas"),
    "fixed_assets": ("total", "in_use", "rented", "other"),
}

# Chinese names a reviewer reads, keyed "block.field".
FIELD_LABELS: dict[str, str] = {
    "income.total": "收入合计", "income.carryover": "上年结转", "income.appropriation": "公共财政拨款",
    "income.fund": "政府基金拨款", "income.special_account": "纳入专户管理的非税收入拨款",
    "income.other": "其他收入",
    "expenditure.total": "支出合计", "expenditure.basic": "基本支出",
    "expenditure.personnel": "人员支出", "expenditure.public": "公用支出",
    "expenditure.project": "项目支出", "expenditure.surplus_current": "当年结余",
    "expenditure.surplus_cumulative": "累计结余",
    "three_public.total": "三公经费合计", "three_public.reception": "公务接待费",
    "three_public.vehicle_operation": "公务用车运维费",
    "three_public.vehicle_purchase": "公务用车购置费", "three_public.overseas": "因公出国费",
    "fixed_assets.total": "固定资产合计", "fixed_assets.in_use": "在用固定资产",
    "fixed_assets.rented": "出租固定资产", "fixed_assets.other": "其他固定资产",
    "unit.unit": "填报单位", "unit.year": "年度", "unit.contact": "联系人", "unit.phone": "联络电话",
    "unit.score": "绩效自评综合得分", "unit.grade": "评价等次", "unit.staff_quota": "人员编制",
    "unit.staff_actual": "实有人数", "unit.sheet": "工作表",
}

BLOCK_LABELS = {"income": "收入", "expenditure": "支出和结余", "three_public": "三公经费",
                "fixed_assets": "固定资产", "unit": "基本信息", "report": "评价报告", "file": "文件",
                "indicator": "绩效指标", "goals": "定性目标", "work": "年度主要工作内容",
                "overall": "总体运行情况"}


SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}


def col_letter(col: int) -> str:
    """0-based column index to Excel letters."""
    s = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


@lru_cache(maxsize=1 << 16)
def a1(row: int, col: int) -> str:
    """0-based (row, col) to an A1 reference."""
    return f"{col_letter(col)}{row + 1}"


@dataclass(frozen=True, slots=True)
class Fact:
    """A scalar found on the form, with the cell it came from and the text as typed."""
    value: object
    cell: str
    raw: str


@dataclass(slots=True)
class Amount:
    """One amount cell of one org row. status: ok | blank | text | error | formula."""
    block: str
    field: str
    value: Decimal | None
    cell: str
    raw: str
    status: str = "ok"
    note: str = ""


@dataclass(slots=True)
class OrgRow:
    block: str
    org: str
    org_cell: str
    is_summary: bool
    position: int
    amounts: dict[str, Amount] = field(default_factory=dict)
    measure: str = "final"   # final | budget | adjusted_budget | opening (a table's value column)
    role: str = ""           # "subtotal": a 小计 row inside the table, neither summary nor sub-unit

    def filled(self) -> bool:
        return any(a.value is not None for a in self.amounts.values())


@dataclass(slots=True)
class Issue:
    """A problem the reader saw; becomes a finding through the rule pack."""
    code: str
    cell: str
    block: str
    field: str
    org: str
    raw: str
    detail: str = ""


@dataclass(slots=True)
class UnitForm:
    file: str
    sheet: str
    unit: Fact | None = None
    year: Fact | None = None
    fill_date: Fact | None = None
    contact: Fact | None = None
    phone: Fact | None = None
    staff_quota: Fact | None = None
    staff_actual: Fact | None = None
    duties: Fact | None = None
    work: Fact | None = None
    overall: Fact | None = None
    score: Fact | None = None
    grade: Fact | None = None
    filler: Fact | None = None
    report: Fact | None = None
    goals: list[tuple[Fact, Fact | None]] = field(default_factory=list)
    indicators: list[dict] = field(default_factory=list)
    evaluators: list[dict] = field(default_factory=list)
    rows: list[OrgRow] = field(default_factory=list)
    block_cells: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    report_figures: list | None = None   # (block.field, 万元, fragment) stated in the report
    template: str = ""                   # the layout's fingerprint (read/book.py)
    joined: list[str] = field(default_factory=list)      # continuation sheets joined to this form
    magnitude: list[str] = field(default_factory=list)   # tables ~10,000× the others (元 as 万元)

    @property
    def unit_name(self) -> str:
        return str(self.unit.value) if self.unit else ""

    @property
    def year_value(self) -> str:
        return str(self.year.value) if self.year else ""


@dataclass(slots=True)
class FileResult:
    """What reading one input file gave: its forms, or the reason it was rejected."""
    file: str
    sha256: str
    status: str  # accepted | rejected | skipped (no submission: junk, own outputs)
    code: str = ""
    error: str = ""
    forms: list = field(default_factory=list)   # UnitForm; FormPack from a run's workers
    units: int = 0           # forms read (a run lets go of the forms once they are written)
    source_format: str = ""
    full_calc: bool = False
    guard_s: float = 0.0     # seconds in sniffing and the byte guard
    read_s: float = 0.0      # seconds in the whole read (guard included)
    path: str = ""           # where the run found it (set by the run, not the reader)
    return_name: str = ""    # its marked-up copy under OUT/returns/, once written
    return_error: str = ""   # why no marked-up copy could be written
    template: str = ""       # the forms' layout fingerprints (standard, budget_actual, split_sheet, …)


FINDING_COLUMNS = ["file", "sheet", "unit", "year", "rule", "severity", "block", "org", "field",
                   "cell", "expected", "actual", "message", "diff", "cells", "name", "key", "explanation"]


@dataclass(slots=True)
class Finding:
    file: str
    sheet: str
    unit: str
    year: str
    rule: str
    severity: str
    block: str
    org: str
    field: str
    cell: str
    expected: str
    actual: str
    message: str
    diff: str = ""
    cells: str = ""      # the other cells involved
    name: str = ""       # the rule's Chinese name
    uid: int = -1        # index of the unit form in the run; -1 for file-level findings
    key: str = ""        # 问题编号: its identity across versions (check/keys.py), set by validate()
    explanation: str = ""   # the unit's 说明 in force for it (a run with a store)

    def row(self) -> list[str]:
        return [getattr(self, c) for c in FINDING_COLUMNS]
