"""summary.xlsx and the returned copies as a 财政局 hands them out (issue 14): print settings,
numbers as numbers, the 审核 vocabulary, 总览's picture, 汇总表's totals per year and units counted
once, one problem one finding, and the returned 问题清单 a unit can work from. Printed through
LibreOffice and the pages counted."""
from __future__ import annotations

import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import build, fw, g, needs_soffice
from openpyxl import load_workbook

from pipeline.collect import finding_keys
from pipeline.run import run

PAGE = "第 &P 页 共 &N 页"


def make(path: Path, unit: str, *, seed: int, year: int = 2021, drift=None, edit=None) -> None:
    form = g.random_form(random.Random(seed), unit, year=year, subs=3)
    form.drift = drift or g.Drift()
    if edit:
        edit(form)
    fw.save_xlsxwriter(g.layout(form, random.Random(seed + 1)), path)


def hide_row(path: Path, row: int) -> None:
    wb = load_workbook(path)
    wb.worksheets[0].row_dimensions[row].hidden = True
    wb.save(path)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """45 units of 2021 (one sent twice), 2 of 2022, a 元 table with an error, a 元 table without,
    "待定" in an amount cell, #REF! in another, a hidden row with figures."""
    tmp = tmp_path_factory.mktemp("deliverables")
    inbox = tmp / "inbox"
    inbox.mkdir()
    for i in range(39):
        build(inbox / f"u{i:02d}.xlsx", seed=200 + i, unit=f"第{i:02d}测试单位",
              plants=["identity"] if i % 7 == 0 else ())
    build(inbox / "u03_again.xlsx", seed=300, unit="第03测试单位")            # the later file counts
    build(inbox / "u40_text.xlsx", seed=240, unit="待定单位", plants=["text"])
    make(inbox / "u41_yuan_bad.xlsx", "元表错误单位", seed=241, drift=g.Drift(yuan_block="income"),
         edit=lambda f: f.cell_overrides.__setitem__(("income", 1, "total"),
                                                       f.amounts["income"]["total"][0] + g.D("10")))
    make(inbox / "u42_yuan_ok.xlsx", "元表单位", seed=242, drift=g.Drift(yuan_block="income"))
    build(inbox / "u43_hidden.xlsx", seed=243, unit="隐藏行单位")
    hide_row(inbox / "u43_hidden.xlsx", 15)
    build(inbox / "u44.xlsx", seed=244, unit="第44测试单位")
    form = build(inbox / "u45_ref.xlsx", seed=245, unit="错误值单位")
    ref = next(c["cell"] for c in form.cells if (c["block"], c.get("row"), c["field"]) == ("income", 1, "other"))
    wb = load_workbook(inbox / "u45_ref.xlsx")
    wb.worksheets[0][ref] = "#REF!"     # openpyxl stores it as an error value
    wb.save(inbox / "u45_ref.xlsx")
    make(inbox / "y2022_a.xlsx", "第01测试单位", seed=250, year=2022)
    make(inbox / "y2022_b.xlsx", "第02测试单位", seed=251, year=2022)
    out = tmp / "out"
    report = run(inbox, out, jobs=2)
    return report, out, tmp


def findings_of(report, file):
    return [f for f in report.findings if f.file == file]


def test_one_problem_one_finding(batch):
    report, out, _ = batch
    text = findings_of(report, "u40_text.xlsx")
    assert [f.rule for f in text if f.severity == "error"] == ["TXT-001"]   # no TPF/SUM through 待定
    ref = findings_of(report, "u45_ref.xlsx")
    assert [f.rule for f in ref if f.severity == "error"] == ["ERR-001"]    # no INC/SUM through #REF!
    hidden = [f for f in findings_of(report, "u43_hidden.xlsx") if f.rule == "HID-001"]
    assert len(hidden) == 1 and "第 15 行被隐藏" in hidden[0].message
    for file in ("u41_yuan_bad.xlsx", "u42_yuan_ok.xlsx"):
        assert sum(f.rule == "CNV-001" for f in findings_of(report, file)) == 1
    # a 元 table: its cells quoted as written, with the conversion
    inc = next(f for f in findings_of(report, "u41_yuan_bad.xlsx") if f.rule == "INC-001")
    assert re.search(r"= [\d,]+\.\d\d 元（折合 [\d,]+\.\d\d 万元）", inc.message), inc.message
    assert "−" not in "".join(f.message for f in report.findings)   # one minus sign style
    assert not any("汇总表已按" in f.message for f in report.findings)


def test_only_info_gets_no_returned_copy_unless_asked(batch):
    report, out, tmp = batch
    assert {f.severity for f in findings_of(report, "u42_yuan_ok.xlsx")} == {"info"}
    assert not (out / "returns" / "u42_yuan_ok.xlsx").exists()
    assert (out / "returns" / "u41_yuan_bad.xlsx").exists()
    inbox = tmp / "one"
    inbox.mkdir()
    shutil.copy(report.inbox / "u42_yuan_ok.xlsx", inbox)
    run(inbox, tmp / "all", jobs=1, every_return=True)
    assert (tmp / "all" / "returns" / "u42_yuan_ok.xlsx").exists()


def test_every_sheet_prints_on_a4_with_titles_and_page_numbers(batch):
    _, out, _ = batch
    wb = load_workbook(out / "summary.xlsx")
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.paperSize == 9, ws.title
        assert ws.oddFooter.center.text == PAGE and "&A" in ws.oddHeader.center.text, ws.title
        assert "汇总日期" in ws.oddHeader.right.text
    assert wb["总览"].page_setup.orientation == "portrait"
    for name in ("汇总表", "问题清单", "提交情况", "规则"):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth in (None, 1)  # 1: the default
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows, name
    assert wb["明细"].print_title_cols.replace("$", "") == "A:B"   # wide: unit and org on every page
    # title, note, a total row per year, header
    assert wb["汇总表"].print_title_rows.replace("$", "") == "1:5"


def test_consolidation_counts_each_unit_once_and_never_adds_years(batch):
    report, out, _ = batch
    ws = load_workbook(out / "summary.xlsx")["汇总表"]
    head_row = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value == "序号")
    head = {ws.cell(row=head_row, column=c).value: c for c in range(1, ws.max_column + 1)}
    totals = {ws.cell(row=r, column=2).value: r for r in range(3, head_row)}
    assert list(totals) == ["2021 年度合计（45 个单位）", "2022 年度合计（2 个单位）"]
    rows = list(range(head_row + 1, ws.max_row + 1))
    status = {ws.cell(row=r, column=head["文件"]).value: ws.cell(row=r, column=head["状态"]).value for r in rows}
    assert status["u03.xlsx"] == "已被替代" and status["u03_again.xlsx"] == "需说明"   # DUP-001 on the later file
    assert status["u00.xlsx"] == "需修改" and status["u40_text.xlsx"] == "需修改"
    assert status["u42_yuan_ok.xlsx"] == "无问题" and status["u43_hidden.xlsx"] == "需说明"
    col = head["收入·收入合计"]
    years = {ws.cell(row=r, column=head["文件"]).value: r for r in rows}
    formula = ws.cell(row=totals["2021 年度合计（45 个单位）"], column=col).value
    spans = re.fullmatch(r"=SUBTOTAL\(9,(.*)\)", formula).group(1).split(",")
    counted = {r for s in spans for a, b in [re.findall(r"\d+", s)] for r in range(int(a), int(b) + 1)}
    assert years["u03.xlsx"] not in counted and years["u03_again.xlsx"] in counted
    assert years["y2022_a.xlsx"] not in counted and len(counted) == 45
    assert rows[-1] == years["u03.xlsx"]              # the superseded row stands after the list
    f2022 = ws.cell(row=totals["2022 年度合计（2 个单位）"], column=col).value
    letter = ws.cell(row=head_row, column=col).column_letter
    assert f2022 == f"=SUBTOTAL(9,{letter}{years['y2022_a.xlsx']}:{letter}{years['y2022_b.xlsx']})"


def test_overview_is_a_picture_of_every_rule(batch):
    report, out, _ = batch
    ws = load_workbook(out / "summary.xlsx")["总览"]
    cells = [[c.value for c in r] for r in ws.iter_rows()]
    head = next(i for i, r in enumerate(cells) if r[:8] == ["规则", "规则名称", "审核类型", "检查单位数", "通过",
                                                             "未通过", "通过率", "问题数"])
    table = {r[0]: r for r in cells[head + 1:] if r[0]}
    assert list(table) == [r.id for r in report.pack.rules]
    n = report.units
    inc = table["INC-001"]
    failed = len({f.uid for f in report.findings if f.rule == "INC-001"})
    assert (inc[3], inc[4], inc[5]) == (n, n - failed, failed) and abs(inc[6] - (n - failed) / n) < 1e-9
    assert table["SCO-001"][5] == 0                   # rules that never fired are listed too
    with zipfile.ZipFile(out / "summary.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        kinds = "".join(z.read(n).decode() for n in charts)
    assert len(charts) == 3 and "<c:barChart>" in kinds and "<c:pieChart>" in kinds


def test_rules_sheet_speaks_the_review_vocabulary(batch):
    report, out, _ = batch
    ws = load_workbook(out / "summary.xlsx")["规则"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["INC-001"][1:6] == ("收入合计不等于各项收入之和", "逻辑性错误", "必须修改", "表内勾稽",
                                    "收入合计 = 上年结转 + 公共财政拨款 + 政府基金拨款 + 纳入专户管理的非税收入拨款 + 其他收入")
    assert rows["EXP-003"][5] == "当年结余 = 收入合计 - 上年结转 - 支出合计"
    assert rows["NAR-001"][2:4] == ("核实性问题", "属实的写明说明")
    assert not any(re.search(r"[a-z_]+\.[a-z_]+", str(r[5])) for r in rows.values())   # no field words


def test_returned_list_says_what_to_do(batch):
    report, out, _ = batch
    wb = load_workbook(out / "returns" / "u41_yuan_bad.xlsx")
    ws = wb["问题清单"]
    top = [ws.cell(row=r, column=1).value for r in range(1, 5)]
    assert top[0].startswith("元表错误单位 2021年度")
    assert "审核日期：" in top[1] and "审核：" in top[1]
    assert "逻辑性错误须修改后重新报送；核实性问题如属实，请在“说明”栏写明原因" in top[2]
    header = [c.value for c in ws[6]]
    assert header == ["序号", "审核类型", "问题说明", "说明（单位填写）", "工作表", "单元格", "应为", "实为",
                      "差额", "规则", "问题编号"]
    fs = findings_of(report, "u41_yuan_bad.xlsx")
    rows = list(ws.iter_rows(min_row=7))
    assert [r[10].value for r in rows] == finding_keys(fs)
    inc = next(r for r in rows if r[9].value == "INC-001")
    assert inc[1].value == "逻辑性错误" and isinstance(inc[6].value, float) and inc[6].number_format == "#,##0.00"
    assert round(inc[8].value, 2) == round(inc[7].value - inc[6].value, 2)
    assert inc[5].hyperlink.location == f"'自评表'!{inc[5].value}"
    assert ws.freeze_panes == "C7" and ws.print_title_rows.replace("$", "") == "6:6"
    assert ws.page_setup.orientation == "landscape" and ws.oddFooter.center.text == PAGE
    # the unit's own sheets keep the unit's own print settings
    src = load_workbook(report.inbox / "u41_yuan_bad.xlsx")
    assert wb["自评表"].page_setup.orientation == src["自评表"].page_setup.orientation


def headers(pdf: Path) -> list[str]:
    """Each printed page's header line."""
    n = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                         text=True).stdout).group(1))
    out = []
    for i in range(1, n + 1):
        text = subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
                              capture_output=True, text=True).stdout
        out.append(next((line for line in text.splitlines() if line.strip()), ""))
    return out


def sheet_pages(pdf: Path) -> list[str]:
    """The sheet each printed page of summary.pdf belongs to (header: title · sheet · date)."""
    return [h.split()[1] if len(h.split()) > 2 else h.strip() for h in headers(pdf)]


@needs_soffice
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_printed_pages(batch):
    """LibreOffice prints 总览 on one page, 汇总表 of 45 units on at most 4 pages one page wide
    (its header names the sheet on each), a returned copy's 问题清单 on one page."""
    report, out, tmp = batch
    pdf = tmp / "pdf"
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    files = [out / "summary.xlsx", out / "returns" / "u00.xlsx", out / "returns" / "u41_yuan_bad.xlsx"]
    subprocess.run([exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to", "pdf",
                    "--outdir", str(pdf)] + [str(f) for f in files], capture_output=True, timeout=300, check=True)
    summary = sheet_pages(pdf / "summary.pdf")
    assert summary.count("总览") == 1
    assert 1 <= summary.count("汇总表") <= 4
    assert summary.count("问题清单") == 1 and summary.count("规则") <= 2
    # 1 page wide: every page of 汇总表 carries the 序号/单位 columns and the print titles
    first = summary.index("汇总表")
    for k in range(summary.count("汇总表")):
        text = subprocess.run(["pdftotext", "-layout", "-f", str(first + k + 1), "-l", str(first + k + 1),
                               str(pdf / "summary.pdf"), "-"], capture_output=True, text=True).stdout
        assert "序号" in text and "收入·收入合计" in text.replace(" ", "") or "收入·收入合" in text
    for name in ("u00", "u41_yuan_bad"):
        ret = headers(pdf / f"{name}.pdf")
        assert "审核问题清单" in ret[0] and sum("审核问题清单" in h for h in ret) == 1, ret


def test_a_returned_form_keeps_the_units_print_settings(tmp_path):
    """Print titles, print area, orientation, fit and footer of the unit's own sheet survive the
    sanitising and marking of its returned copy."""
    from openpyxl import Workbook

    src = tmp_path / "own.xlsx"
    form = build(src, seed=260, unit="打印设置单位", plants=["identity"])
    wb = load_workbook(src)
    ws = wb.worksheets[0]
    ws.print_title_rows, ws.print_area = "1:3", "A1:I60"
    ws.page_setup.orientation, ws.page_setup.fitToWidth = "landscape", 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "本单位页脚 &P"
    wb.save(src)
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(src, inbox / "own.xlsx")
    run(inbox, tmp_path / "out", jobs=1)
    ret = load_workbook(tmp_path / "out" / "returns" / "own.xlsx")
    own = ret[ws.title]
    assert ret.sheetnames[0] == "问题清单" and form.planted
    assert (own.print_title_rows.replace("$", ""), own.page_setup.orientation, own.oddFooter.center.text) == (
        "1:3", "landscape", "本单位页脚 &P")
    assert own.print_area.replace("$", "").endswith("A1:I60")
    assert isinstance(ret, Workbook)


def test_text_in_a_blank_summary_row_is_one_finding(tmp_path):
    """待定 typed in the summary row of an otherwise blank summary: TXT-001, not also SUM-002."""
    from pipeline.check import frames
    from pipeline.check.ruleset import load_pack
    from pipeline.check.validate import validate
    from pipeline.read.parse import read_file

    form = g.random_form(random.Random(5), "汇总行文字单位", subs=3)
    form.drift = g.Drift(summary_blank=True)
    form.cell_text[("income", 0, "total")] = "待定"
    path = tmp_path / "s.xlsx"
    fw.save_xlsxwriter(g.layout(form, random.Random(6)), path)
    fs = validate(frames.build(read_file(path, path.name).forms), load_pack())
    income = [(f.rule, f.cell) for f in fs if f.block == "income"]
    assert income == [("TXT-001", "C13")]
    assert sorted(f.rule for f in fs if f.block != "income") == ["SUM-002"] * 3
