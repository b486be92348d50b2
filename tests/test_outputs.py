"""summary.xlsx, returns/ and the CSV exports, re-opened and checked for meaning."""
from __future__ import annotations

import csv
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import HAS_SOFFICE, build, fw, g, needs_soffice
from openpyxl import load_workbook

from pipeline.run import run

SHEETS = ["总览", "汇总表", "明细", "问题清单", "提交情况", "规则"]


@pytest.fixture(scope="module")
def result(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("outputs")
    inbox = tmp / "inbox"
    (inbox / "县区").mkdir(parents=True)
    seed = Path(__file__).parent.parent / "sample_workbooks" / "2021_岳阳市城管局城陵矶新港区分局.xlsx"
    shutil.copy(seed, inbox / "seed.xlsx")
    build(inbox / "县区" / "planted.xlsx", seed=21, unit="问题单位", plants=["identity", "grade", "narrative"])
    build(inbox / "clean.xlsx", seed=22, unit="干净单位")
    if HAS_SOFFICE:
        build(tmp / "old.xlsx", seed=23, unit="旧格式单位", plants=["text"])
        fw.convert([tmp / "old.xlsx"], "xls", inbox)
    (inbox / "坏文件.xlsx").write_bytes(b"PK\x03\x04broken")
    out = tmp / "out"
    report = run(inbox, out, jobs=2)
    return report, out


def read_csv(path: Path) -> list[dict]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_contracts(result):
    report, out = result
    assert list(read_csv(out / "values.csv")[0])[:10] == ["file", "sheet", "unit", "year", "org", "block",
                                                         "field", "value", "cell", "raw"]
    assert list(read_csv(out / "findings.csv")[0])[:13] == ["file", "sheet", "unit", "year", "rule", "severity",
                                                           "block", "org", "field", "cell", "expected", "actual",
                                                           "message"]
    m = read_csv(out / "manifest.csv")
    assert list(m[0]) == ["file", "sha256", "status", "units", "error", "code", "template", "returned",
                          "return_error"]
    assert len(m) == report.received == report.accepted + report.rejected
    assert {r["file"]: r["status"] for r in m}["坏文件.xlsx"] == "rejected"
    seed_rows = [r for r in read_csv(out / "values.csv") if r["file"] == "seed.xlsx"]
    assert {(r["org"], r["block"], r["field"]): (r["value"], r["cell"], r["raw"]) for r in seed_rows}[
        ("2、二级机构1", "fixed_assets", "in_use")] == ("46.48", "D34", "46.48(净值）")
    assert not list(out.glob(".*tmp"))


def test_summary_sheets_and_findings_list_match_csv(result):
    report, out = result
    wb = load_workbook(out / "summary.xlsx")
    assert wb.sheetnames == SHEETS
    ws = wb["问题清单"]
    head = [c.value for c in ws[1]]
    assert head[:11] == ["序号", "单位", "年度", "审核类型", "处理要求", "问题说明", "单元格", "应为", "实为", "差额", "规则"]
    col = {h: i for i, h in enumerate(head)}
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    csv_rows = read_csv(out / "findings.csv")
    assert len(rows) == len(csv_rows) == len(report.findings)
    for row, c in zip(rows, csv_rows):
        assert (row[col["规则"]], row[col["文件"]], row[col["单元格"]], row[col["问题说明"]]) == (
            c["rule"], c["file"], c["cell"] or None, c["message"])
        assert row[col["年度"]] == int(c["year"])          # 年度 a number
    assert ws.freeze_panes == "E2" and ws.auto_filter.ref  # 序号 单位 年度 审核类型 frozen
    assert {r[col["字段"]] for r in rows if r[col["规则"]] == "GRD-001"} == {"评价等次"}
    assert {r[col["字段"]] for r in rows if r[col["规则"]] == "NAR-001"} <= {"收入合计", "支出合计", "基本支出", "公共财政拨款"}
    # unit by unit in the order the files were read (by path), errors first within a unit
    order = [m["file"] for m in read_csv(out / "manifest.csv")]
    pos = [order.index(r[col["文件"]]) for r in rows]
    assert pos == sorted(pos) and len(set(pos)) >= 2
    words = ["逻辑性错误", "核实性问题", "提示"]
    for file in set(r[col["文件"]] for r in rows):
        sev = [r[3] for r in rows if r[col["文件"]] == file]
        assert sev == sorted(sev, key=words.index)
    assert {r[4] for r in rows if r[3] == "逻辑性错误"} == {"必须修改"}
    assert {r[4] for r in rows if r[3] == "核实性问题"} == {"属实的写明说明"}
    fills = {"逻辑性错误": "FFC7CE", "核实性问题": "FFEB9C", "提示": "DDEBF7"}
    assert all(ws.cell(row=i, column=4).fill.fgColor.rgb.endswith(fills[r[3]]) for i, r in enumerate(rows, 2))
    # 应为 / 实为 / 差额 are numbers, 差额 = 实为 - 应为 with its sign, #,##0.00
    inc = next(i for i, r in enumerate(rows, 2) if r[col["规则"]] == "INC-001")
    exp_c, act_c, diff_c = (ws.cell(row=inc, column=col[h] + 1) for h in ("应为", "实为", "差额"))
    assert all(isinstance(c.value, (int, float)) and c.number_format == "#,##0.00" for c in (exp_c, act_c, diff_c))
    assert round(act_c.value - exp_c.value, 2) == round(diff_c.value, 2) == 10.0
    sum1 = next(i for i, r in enumerate(rows, 2) if r[col["规则"]] == "SUM-001")
    assert ws.cell(row=sum1, column=col["差额"] + 1).value == -10.0
    sub = wb["提交情况"]
    bad = next(r for r in sub.iter_rows(min_row=2) if r[0].value == "坏文件.xlsx")
    assert bad[1].value == "拒收" and bad[1].fill.fgColor.rgb.endswith("FFC7CE") and bad[3].value == "CORRUPT_ZIP"
    link_row = next(i for i, r in enumerate(rows, 2) if r[col["规则"]] == "NAR-001" and r[col["文件"]] == "seed.xlsx")
    link = ws.cell(row=link_row, column=col["打开标注表"] + 1).hyperlink
    # xlsxwriter writes Windows separators, which Excel and WPS on office PCs expect
    assert link.target.replace("\\", "/") == "returns/seed.xlsx" and link.location == "'自评表'!A71"
    from pipeline.collect import finding_keys

    assert [r[col["问题编号"]] for r in rows if r[col["文件"]] == "seed.xlsx"] == finding_keys(
        [f for f in report.findings if f.file == "seed.xlsx"])


def consolidation(ws):
    """汇总表's header row, its column index by header, its per-year total rows and unit rows."""
    head_row = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "序号")
    head = {ws.cell(row=head_row, column=c).value: c for c in range(1, ws.max_column + 1)}
    totals = list(range(3, head_row))
    units = list(range(head_row + 1, ws.max_row + 1))
    return head_row, head, totals, units


def test_consolidation_totals_are_live_and_right(result):
    report, out = result
    ws = load_workbook(out / "summary.xlsx")["汇总表"]
    head_row, head, totals, units = consolidation(ws)
    assert ws.freeze_panes == f"C{head_row + 1}"
    col = head["收入·收入合计"]
    letter = ws.cell(row=head_row, column=col).column_letter
    n = report.units
    assert len(units) == n and len(totals) == 1     # one year: one total row
    assert ws.cell(row=totals[0], column=2).value == f"2021 年度合计（{n} 个单位）"
    assert ws.cell(row=totals[0], column=col).value == f"=SUBTOTAL(9,{letter}{units[0]}:{letter}{units[-1]})"
    expected = sum((Decimal(str(u["income.total"])) for u in report.unit_rows
                    if u["income.total"] is not None), Decimal(0))
    col_values = [ws.cell(row=r, column=col).value or 0 for r in units]
    assert Decimal(str(round(sum(col_values), 2))) == expected
    seed_row = next(r for r in units if ws.cell(row=r, column=head["文件"]).value == "seed.xlsx")
    assert ws.cell(row=seed_row, column=col).value == 255.18
    assert "各机构之和" in ws.cell(row=seed_row, column=head["数据来源"]).value
    assert ws.cell(row=seed_row, column=col).number_format == "#,##0.00"
    by_file = {ws.cell(row=r, column=head["文件"]).value: r for r in units}
    planted = by_file["县区/planted.xlsx"]
    row = {h: ws.cell(row=planted, column=c) for h, c in head.items()}
    assert (row["状态"].value, row["综合得分"].value, row["评价等次"].value) == ("需修改", 89.5, "优")
    assert row["逻辑性错误"].value == sum(f.file == "县区/planted.xlsx" and f.severity == "error" for f in report.findings)
    assert row["联系人"].value
    assert row["收入·收入合计"].fill.fgColor.rgb.endswith("FFC7CE")   # SUM-001 on the summary row's cell
    assert row["问题清单"].hyperlink.location.startswith("'问题清单'!A")
    assert row["标注表"].hyperlink.target.replace("\\", "/") == "returns/县区/planted.xlsx"
    clean = {h: ws.cell(row=by_file["clean.xlsx"], column=c).value for h, c in head.items()}
    assert clean["状态"] == "无问题" and clean["标注表"] is None and clean["年度"] == 2021
    assert {ws.cell(row=r, column=head["状态"]).value for r in units} <= {"需修改", "需说明", "无问题"}


def test_detail_cells_are_filled_and_commented(result):
    report, out = result
    ws = load_workbook(out / "summary.xlsx")["明细"]
    header = [c.value for c in ws[1]]
    f = next(x for x in report.findings if x.rule == "INC-001")
    row = next(r for r in ws.iter_rows(min_row=2) if r[header.index("文件")].value == f.file
               and r[header.index("机构")].value == f.org)
    cell = row[header.index("收入·收入合计")]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert f.message in cell.comment.text


def test_returns_mark_every_finding(result):
    report, out = result
    by_file: dict[str, list] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    assert "clean.xlsx" not in by_file and not (out / "returns" / "clean.xlsx").exists()
    for file, fs in by_file.items():
        target = out / "returns" / (str(Path(file).with_suffix(".xlsx")))
        wb = load_workbook(target)
        assert wb.sheetnames[0] == "问题清单"
        listed = list(wb["问题清单"].iter_rows(min_row=7, values_only=True))
        assert [r[2] for r in listed] == [f.message for f in fs]
        for f in fs:
            if not f.cell:
                continue
            sheet, cell = (f.cell.split("!") if "!" in f.cell else (f.sheet, f.cell))
            c = wb[sheet.strip("'")][cell]
            assert c.comment is not None and f.message in c.comment.text, (file, f.cell)
            assert c.fill.fgColor.rgb[-6:] in ("FFC7CE", "FFEB9C", "DDEBF7")
    if HAS_SOFFICE:
        assert (out / "returns" / "old.xlsx").exists()
        ws = load_workbook(out / "returns" / "old.xlsx")["自评表"]
        txt = next(f for f in report.findings if f.file == "old.xls" and f.rule == "TXT-001")
        assert ws[txt.cell].value in ("待定", "见附表", "暂无数据") and ws[txt.cell].comment


def test_rerun_replaces_outputs_cleanly(result, tmp_path):
    report, out = result
    before = (out / "findings.csv").read_bytes()
    again = run(report.inbox, out, jobs=1)
    assert (out / "findings.csv").read_bytes() == before
    assert [f.message for f in again.findings] == [f.message for f in report.findings]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


@needs_soffice
def test_libreoffice_opens_the_summary(result, tmp_path):
    report, out = result
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    proc = subprocess.run([exe, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                           "--convert-to", "ods", "--outdir", str(tmp_path), str(out / "summary.xlsx")],
                          capture_output=True, timeout=300)
    assert proc.returncode == 0
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(tmp_path / "summary.ods"))
    assert wb.sheet_names == SHEETS
    rows = wb.get_sheet_by_name("问题清单").to_python()
    assert len(rows) == len(report.findings) + 1


def test_returned_copy_keeps_the_units_layout(result):
    report, out = result
    src = load_workbook(report.inbox / "seed.xlsx")["自评表"]
    ret = load_workbook(out / "returns" / "seed.xlsx")["自评表"]
    assert {str(r) for r in src.merged_cells.ranges} == {str(r) for r in ret.merged_cells.ranges}
    assert [[c.value for c in row] for row in src.iter_rows()] == [[c.value for c in row] for row in ret.iter_rows()]
    assert src.column_dimensions["B"].width == ret.column_dimensions["B"].width
    assert ret["B3"].font.b == src["B3"].font.b and ret["A1"].font.sz == src["A1"].font.sz


def test_values_and_findings_are_the_same_on_a_second_run(result, tmp_path):
    report, out = result
    again = tmp_path / "again"
    run(report.inbox, again, jobs=1, returns=False)
    for name in ("values.csv", "findings.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    # the manifest says which returned copies were written: only there may the runs differ
    first, second = (list(csv.reader((o / "manifest.csv").open(encoding="utf-8-sig"))) for o in (out, again))
    cut = first[0].index("returned")
    assert [r[:cut] for r in first] == [r[:cut] for r in second]
    assert [r[cut] for r in second[1:]] == [""] * (len(second) - 1)
    assert {r[cut] for r in first[1:]} - {""}


def test_no_links_to_returns_that_were_not_written(result, tmp_path):
    report, _ = result
    out = tmp_path / "noreturns"
    run(report.inbox, out, jobs=1, returns=False)
    ws = load_workbook(out / "summary.xlsx")["问题清单"]
    assert ws.max_row > 1 and all(ws.cell(row=r, column=19).hyperlink is None for r in range(2, ws.max_row + 1))
    assert not (out / "returns").exists()


def test_stale_returns_are_removed_on_rerun(tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    build(inbox / "a.xlsx", seed=41, plants=["identity"])
    run(inbox, out, jobs=1)
    assert (out / "returns" / "a.xlsx").exists()
    build(inbox / "a.xlsx", seed=41)  # resubmitted, now correct
    run(inbox, out, jobs=1)
    assert not (out / "returns" / "a.xlsx").exists()


def test_detail_rows_say_which_value_column_they_hold(tmp_path):
    """A form with 预算数/决算数 columns: the checked (final) rows and the budget rows both stand in
    明细, each saying what it holds; 汇总表 carries the final figures only."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    build(inbox / "v.xlsx", g.Drift(measures=("预算数", "决算数")), seed=61, subs=2)
    run(inbox, tmp_path / "out", jobs=1, returns=False)
    ws = load_workbook(tmp_path / "out" / "summary.xlsx")["明细"]
    kinds = [r[3] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert kinds.count("汇总行") == 1 and kinds.count("汇总行·预算数") == 1
    assert kinds.count("预算数") == 2 and kinds.count(None) == 2


def test_consolidation_lists_contact_and_phone(seed_path, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(seed_path, inbox / "seed.xlsx")
    run(inbox, tmp_path / "out", jobs=1, returns=False)
    ws = load_workbook(tmp_path / "out" / "summary.xlsx")["汇总表"]
    header = next(r for r in ws.iter_rows(values_only=True) if r and "联系电话" in r)
    row = next(r for r in ws.iter_rows(values_only=True) if r and any("城陵矶" in str(v) for v in r if v))
    contact, phone = row[header.index("联系人")], row[header.index("联系电话")]
    assert contact and phone and any(ch.isdigit() for ch in str(phone))


def test_a_run_without_summary_writes_the_csvs_only(tmp_path):
    """run(summary=False), the web desk's self-check: the same findings, no summary.xlsx."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build(inbox / "planted.xlsx", seed=21, unit="问题单位", plants=["identity"])
    full = run(inbox, tmp_path / "full", jobs=1, returns=False)
    lean = run(inbox, tmp_path / "lean", jobs=1, returns=False, summary=False)
    assert sorted(p.name for p in (tmp_path / "lean").iterdir() if not p.name.startswith(".")) == \
        ["findings.csv", "manifest.csv", "values.csv"]
    assert [f.row() for f in lean.findings] == [f.row() for f in full.findings] and lean.findings
    assert (tmp_path / "lean" / "findings.csv").read_bytes() == (tmp_path / "full" / "findings.csv").read_bytes()
