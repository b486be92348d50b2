"""What summary.xlsx says of the collection when a run has a store: the 变化 sheet (each touched
unit-year's current version against the one before it, as changes.csv) and 总览's completeness
rows (expected, received, on time, 通过 against the roster)."""
from __future__ import annotations

from ..models import BLOCK_LABELS, FIELD_LABELS
from .printing import xlsx_print
from .xlsheet import Sheet, fit_widths

CHANGE_HEADER = ["单位编码", "单位", "年度", "版本", "变化", "规则", "表", "机构", "字段", "原值", "新值",
                 "问题说明", "本版文件", "上一版文件", "问题编号"]
CHANGE_FILLS = {"新增": "warning", "仍存在": "warning", "已解决": "ok", "已说明": "info", "金额变化": None}


def change_cells(r: dict) -> list:
    field = FIELD_LABELS.get(f"{r['block']}.{r['field']}", r["field"])
    return [r["unit_key"], r["unit"], int(r["year"]) if str(r["year"]).isdigit() else r["year"],
            f"第 {r['version']} 版", r["change"], r["rule"], BLOCK_LABELS.get(r["block"], r["block"]),
            r["org"], field, _num(r["before"]), _num(r["after"]), r["message"], r["file"],
            r["previous_file"], r["key"]]


def _num(s):
    try:
        return float(s) if s not in ("", None) else None
    except ValueError:
        return s


def write_changes(wb, fmts: dict, rows: list[dict], *, title: str, right: str) -> None:
    """The 变化 sheet: one row per finding compared and per amount changed (changes.csv's rows)."""
    from .summary import lines

    sh = Sheet(wb, "变化", fmts)
    cells = [change_cells(r) for r in rows]
    widths = fit_widths(CHANGE_HEADER, cells, hi=40)
    widths[11] = 56
    sh.start(CHANGE_HEADER, widths, (1, 2))
    fill = {"warning": fmts["warning"], "info": fmts["info"], "ok": fmts["ok"]}
    for r, row in zip(rows, cells):
        col_fmt = {11: fmts["wrap"], 9: fmts["amount"], 10: fmts["amount"]}
        if (kind := CHANGE_FILLS.get(r["change"])):
            col_fmt[4] = fill[kind]
        if (n := lines(row[11], widths[11])) > 1:
            sh.ws.set_row(sh.row, 13.5 * n)
        sh.line(row, fmts["top"], col_fmt=col_fmt)
    if not rows:
        sh.put(0, "本次汇总的单位都只有一个版本，没有可比较的变化")
        sh.row += 1
    sh.filter(len(CHANGE_HEADER))
    # printed: 单位 … 问题说明 (the files and the key are for the screen and the filter)
    xlsx_print(sh.ws, title=title, right=right, rows=(0, 0), area=(0, 0, max(sh.row - 1, 0), 11))


def coverage_rows(view) -> list[list]:
    """总览's completeness rows, one per year of the run (the store's roster coverage)."""
    out = []
    for c in (view.coverage if view is not None else ()):
        missing = c.expected - c.received
        out.append([f"报送情况（{c.year}年度）",
                    f"应报 {c.expected} · 已报 {c.received}（{c.rate(c.received)}）· 未报 {missing}"
                    + (f" · 按时 {c.on_time}" if c.deadline else "") + f" · 已通过 {c.accepted}"])
    return out
