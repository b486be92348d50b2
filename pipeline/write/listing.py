"""What a returned copy says, apart from how it is written: the comment and fill of each flagged
cell and the 问题清单 sheet's rows, heights and formats. Two writers draw it — the unit's package
edited in place (repack.py) and openpyxl (returns.py, for what that cannot edit) — so the two
copies say the same thing (tests/test_returns_fast.py compares them)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .present import SEVERITY_WORDS, TODO, decimal_of, decimals, num_format, signed_diff

FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
HEAD_FILL, NOTE_FILL, LINK_COLOR, TODO_COLOR = "DDEBF7", "FFFFF2", "0563C1", "C00000"
RETURN_SHEET = "问题清单"
RETURN_HEADER = ["序号", "审核类型", "问题说明", "说明（单位填写）", "工作表", "单元格", "应为", "实为", "差额",
                 "规则", "问题编号"]
WIDTHS = (5, 11, 48, 30, 11, 8, 12, 12, 11, 9, 17)
FONT = "等线"
OWN_PROPERTY = "selfeval"   # custom document property: "return" here, "summary" on summary.xlsx
HEADER_ROW = 6              # four heading lines, a blank row, then the header
LINK_COL = 6                # 单元格: a link to the flagged cell
NUMBER_COLS = (7, 8, 9)     # 应为 / 实为 / 差额
SEVERITY_ORDER = ("error", "warning", "info")
COMMENT_MAX = 30000          # characters of a comment (Excel holds 32,767)
FILL_ORDER = tuple(FILLS[s] for s in SEVERITY_ORDER)   # worst first: a cell of two marks takes the worst
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")   # what no workbook part may hold (openpyxl's set)


def quoted(sheet: str) -> str:
    """A sheet's name as a link or a defined name writes it: in quotes, its own quotes doubled."""
    return "'" + sheet.replace("'", "''") + "'"


@dataclass
class Mark:
    sheet: str
    cell: str
    color: str            # FILLS of the worst finding at the cell
    text: str             # the comment: one line per finding


@dataclass
class Listing:
    lines: list[tuple[str, str]]          # (text, "title" | "plain" | "todo") for rows 1–4
    heights: dict[int, float]             # row → height (rows 1–4 and each finding's row)
    body: list[list] = field(default_factory=list)   # per finding: 11 values (None: empty cell)
    formats: list[str] = field(default_factory=list)  # per finding: the number format of 应为/实为/差额
    colors: list[str] = field(default_factory=list)   # per finding: the fill of 审核类型
    spots: list[tuple[str, str]] = field(default_factory=list)  # per finding: (sheet, cell) flagged
    print_title: str = ""
    print_right: str = ""

    @property
    def last_row(self) -> int:
        return HEADER_ROW + len(self.body)


def marks(content: dict) -> list[Mark]:
    """One mark per flagged cell, in the order the findings name them."""
    notes: dict[tuple[str, str], list] = {}
    for x in content["rows"]:
        if x["cell"]:
            notes.setdefault((x["sheet"], x["cell"]), []).append(x)
    out = []
    for (sheet, cell), hits in notes.items():
        worst = min(hits, key=lambda h: SEVERITY_ORDER.index(h["severity"]))["severity"]
        text = "\n".join(f"[{SEVERITY_WORDS[h['severity']]}] {h['message']}" for h in hits)
        out.append(Mark(sheet, cell, FILLS[worst], text[:COMMENT_MAX]))
    return out


def spot(sheet: str, cell: str) -> tuple[str, str]:
    """A finding's (sheet, cell): a cell written 'other sheet'!A1 names its own sheet."""
    if "!" in cell:
        sheet, cell = cell.split("!", 1)
        sheet = sheet.strip("'")
    return sheet, cell


def per_cell(items) -> dict:
    """(key, text, color) of the marks → key → (text, color): the marks that land on one cell
    (a merge's cells share its top-left) make one comment, with the worst of their fills."""
    out: dict = {}
    for key, text, color in items:
        if key in out:
            old_text, old_color = out[key]
            out[key] = (old_text + "\n" + text, min(old_color, color, key=FILL_ORDER.index))
        else:
            out[key] = (text, color)
    return out


def listing(content: dict) -> Listing:
    rows, head = content["rows"], content["head"]
    e, w, i = head["counts"]
    lines = [
        (f"{head['unit']} {head['year']}年度部门（单位）整体支出绩效自评表 审核问题清单", "title"),
        (f"单位：{head['unit']}　　年度：{head['year'] or '未填写'}　　审核日期：{head['date']}　　审核：{head['checker']}", "plain"),
        (f"处理要求：{TODO}。", "todo"),
        (f"共 {len(rows)} 条：逻辑性错误 {e} 条（必须修改），核实性问题 {w} 条（属实的写明说明），提示 {i} 条（无需处理）。"
         "金额单位：万元；点“单元格”可跳到表中该格，标色的单元格带批注。", "plain"),
    ]
    heights = {1: 24.0}
    for r in (2, 3, 4):
        heights[r] = 14 * lines_of(lines[r - 1][0], sum(WIDTHS))
    title = f"{head['unit']} {head['year']}年度 审核问题清单"
    out = Listing(lines, heights, print_title=_ILLEGAL.sub("", title),   # a print header holds no escapes
                  print_right=_ILLEGAL.sub("", f"审核日期 {head['date']}"))
    for n, x in enumerate(rows, 1):
        diff = signed_diff(x["expected"], x["actual"])
        vals = [n, SEVERITY_WORDS[x["severity"]], x["message"], x.get("note", ""), x["sheet"], x["cell"],
                x["expected"], x["actual"], diff, x["rule"], x["key"]]
        cells = []
        for c, v in enumerate(vals, 1):
            if c in NUMBER_COLS and v != "" and decimal_of(v) is not None:
                cells.append(float(decimal_of(v)))
            elif isinstance(v, int):
                cells.append(v)
            else:
                cells.append(str(v) if v not in ("", None) else None)
        out.body.append(cells)
        out.formats.append(num_format(decimals(x["expected"], x["actual"])))
        out.colors.append(FILLS[x["severity"]])
        out.spots.append((x["sheet"], x["cell"]))
        out.heights[HEADER_ROW + n] = 14 * max(lines_of(x["message"], WIDTHS[2]),
                                               lines_of(x.get("note") or "", WIDTHS[3]))
    return out


def sheet_name(existing) -> str:
    """问题清单, or with （审核） appended while the unit's workbook already has that name."""
    taken = {s.casefold() for s in existing}
    name = RETURN_SHEET
    while name.casefold() in taken:
        name += "（审核）"
    return name


def width_of(text: str) -> float:
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def lines_of(text: str, width: float) -> int:
    """Lines a wrapped cell of this width takes (a CJK character is about two units)."""
    room = max(int(width * 1.15) - 1, 1)   # a CJK character prints narrower than 2.1
    return sum(max(1, -(-int(width_of(part)) // room)) for part in str(text).split("\n"))


def escaped(value: str) -> str:
    """Control characters no workbook part may hold (cells, comments) as Excel's _xHHHH_."""
    return _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
