"""Read .xlsx/.xlsm (Transitional and Strict) into Grids, formulas and error cells included.

Every part goes through guard.PartReader first (sizes, DTDs, giant tokens, extent) and is parsed
by defusedxml. Namespaces are ignored so that Strict OOXML reads like Transitional.
"""
from __future__ import annotations

import posixpath
from functools import lru_cache
import re
import zipfile

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from .grid import Book, Grid
from .guard import MAX_COLS, MAX_ROWS, PartReader, Rejected

_REF = re.compile(r"([A-Z]{1,3})(\d+)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(el, name: str):
    """An attribute by local name, whatever its namespace (r:id in either OOXML flavour)."""
    for k, v in el.attrib.items():
        if k == name or k.endswith("}" + name):
            return v
    return None


def _parse(data: bytes, name: str, fast: bool = False):
    """defusedxml for the package parts. Sheets and shared strings (fast=True) go to the C parser:
    PartReader has already rejected any DTD or entity declaration in them, byte for byte, which is
    all defusedxml guards against, and the C parser is several times faster on the large parts."""
    try:
        if fast:
            parser = ET.XMLParser()
            parser.feed(data)
            return parser.close()
        return DET.fromstring(data)
    except DefusedXmlException:
        raise Rejected("XML_DTD_FORBIDDEN", f"部件 {name} 含有 DTD 或实体声明，出于安全原因拒收") from None
    except Exception as exc:  # ParseError and friends: the part is not well-formed XML
        pos = getattr(exc, "position", None)   # the parser's words are English: say where, in Chinese
        where = f"第 {pos[0]} 行第 {pos[1]} 列起" if pos else "其中"
        raise Rejected("CORRUPT_XML", f"部件 {name} 不是完整合法的 XML（{where}有错），文件已损坏；"
                                      "请在 Excel/WPS 中打开后重新保存再报送") from None


@lru_cache(maxsize=1 << 16)
def ref_to_rc(ref: str) -> tuple[int, int]:
    m = _REF.fullmatch(ref.replace("$", ""))
    if not m:
        raise ValueError(ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def _text_of(si) -> str:
    """Text of a shared/inline string: plain <t> or rich runs <r><t>; phonetic <rPh> skipped."""
    parts = []
    for child in si:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


_NEEDS_OWN_PARSER = (b"</f>", b"<f ", b":f>", b":f ", b't="e"', b'hidden="1"', b'hidden="true"')


def _needs_own_parser(data: bytes) -> bool:
    """Formulas, error cells or hidden rows/columns: plain substring tests, cheaper than a regex."""
    return any(marker in data for marker in _NEEDS_OWN_PARSER)


def read_xlsx(path, zf: zipfile.ZipFile | None = None) -> Book:
    """Guard every part, then read. Sheets without formulas, error cells or hidden rows/columns
    (most forms) go to python-calamine for speed; the others, and Strict files, to the own parser
    below, which sees formula text and error cells."""
    from .guard import open_zip

    zf = zf or open_zip(path)
    with zf:
        parts = PartReader(zf)
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            wb_name = _find_workbook_part(zf, parts, names)
        else:
            wb_name = "xl/workbook.xml"
        wb = _parse(parts.read(wb_name), wb_name)
        base = posixpath.dirname(wb_name)
        rels_name = posixpath.join(base, "_rels", posixpath.basename(wb_name) + ".rels")
        targets = {}
        if rels_name in names:
            for rel in _parse(parts.read(rels_name), rels_name):
                target = rel.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
                targets[rel.get("Id")] = (target, rel.get("Type", ""))
        shared_part = next((t for t, typ in targets.values() if typ.endswith("/sharedStrings") and t in names), None)
        shared_bytes = parts.read(shared_part) if shared_part else b""
        full_calc = False
        listed = []
        for el in wb.iter():
            tag = _local(el.tag)
            if tag == "calcPr" and el.get("fullCalcOnLoad") in ("1", "true"):
                full_calc = True
            if tag != "sheet":
                continue
            target, typ = targets.get(_attr(el, "id"), (None, ""))
            if not target or target not in names or not typ.endswith("/worksheet"):
                continue  # chart sheets and dialog sheets hold no form
            listed.append((el.get("name", ""), el.get("state", "visible") != "visible", target,
                           parts.read(target, sheet=True)))
        if not listed:
            raise Rejected("NO_SHEETS", "工作簿中没有可读取的工作表")
        strict = "purl.oclc.org" in wb.tag
        sheets = None
        if not strict and not any(_needs_own_parser(data) for *_, data in listed):
            sheets = _calamine_sheets(path, listed)
        if sheets is None:
            shared = [_text_of(si) for si in _parse(shared_bytes, shared_part, fast=True)] if shared_bytes else []
            sheets = []
            for name, hidden, target, data in listed:
                grid = _read_sheet(data, target, name, shared)
                grid.hidden = hidden
                sheets.append(grid)
        return Book(sheets=sheets, source_format="xlsx", full_calc=full_calc, guard_s=parts.seconds)


def _calamine_sheets(path, listed) -> list[Grid] | None:
    """Cached values and merged ranges from python-calamine; None to fall back to the own parser."""
    import python_calamine as pc

    from .grid import grid_from_rows

    try:
        if hasattr(path, "read"):   # the bytes that were hashed, in memory
            path.seek(0)
            wb = pc.CalamineWorkbook.from_filelike(path)
        else:
            with open(path, "rb") as fh:
                wb = pc.CalamineWorkbook.from_filelike(fh)
        if list(wb.sheet_names) != [name for name, *_ in listed]:
            return None
        out = []
        for name, hidden, _, _ in listed:
            sh = wb.get_sheet_by_name(name)
            out.append(grid_from_rows(name, sh.to_python(skip_empty_area=False), sh.merged_cell_ranges, hidden))
        wb.close()
        return out
    except Exception:
        return None


def _find_workbook_part(zf: zipfile.ZipFile, parts: PartReader, names: set[str]) -> str:
    """Locate the workbook part through the package relationships (Strict files may move it)."""
    if "_rels/.rels" in names:
        for rel in _parse(parts.read("_rels/.rels"), "_rels/.rels"):
            if rel.get("Type", "").endswith("/officeDocument"):
                target = rel.get("Target", "").lstrip("/")
                if target in names:
                    return target
    if any(n.startswith("word/") for n in names):
        raise Rejected("NOT_A_WORKBOOK", "这是 Word 文档，不是电子表格")
    if any(n.startswith("ppt/") for n in names):
        raise Rejected("NOT_A_WORKBOOK", "这是 PowerPoint 文档，不是电子表格")
    raise Rejected("NOT_A_WORKBOOK", "压缩包中没有工作簿，不是 Excel 文件")


def _read_sheet(data: bytes, part: str, name: str, shared: list[str]) -> Grid:
    root = _parse(data, part, fast=True)
    g = Grid(name=name)
    values, formulas, errors = g.values, g.formulas, g.errors
    shared_f: dict[str, tuple[str, int, int]] = {}
    for el in root:
        tag = _local(el.tag)
        if tag == "sheetData":
            for row in el:
                if row.get("hidden") in ("1", "true"):
                    r_attr = row.get("r")
                    if r_attr:
                        g.hidden_rows.add(int(r_attr) - 1)
                for c in row:
                    if len(c):  # styled empty cells (no <v>, <f> or <is>) are most of a sheet
                        _read_cell(c, values, formulas, errors, shared, shared_f)
        elif tag == "mergeCells":
            for mc in el:
                ref = mc.get("ref", "")
                if ":" in ref:
                    a, b = ref.split(":", 1)
                    (r1, c1), (r2, c2) = ref_to_rc(a), ref_to_rc(b)
                    if r2 < MAX_ROWS and c2 < MAX_COLS:
                        g.merged.append((r1, c1, r2, c2))
        elif tag == "cols":
            for col in el:
                if col.get("hidden") in ("1", "true"):
                    lo, hi = int(col.get("min", 1)), int(col.get("max", 1))
                    g.hidden_cols.update(range(lo - 1, min(hi, MAX_COLS)))
    return g.finish()


def _read_cell(c, values, formulas, errors, shared, shared_f) -> None:
    ref = c.get("r")
    if not ref:
        return  # cells without refs do not occur in files from Excel, WPS or LibreOffice
    rc = ref_to_rc(ref)
    t = c.get("t", "n")
    v = f = None
    text = None
    for child in c:
        tag = _local(child.tag)
        if tag == "v":
            v = child.text
        elif tag == "f":
            f = child
        elif tag == "is":
            text = _text_of(child)
    if f is not None:
        ftext = f.text
        if f.get("t") == "shared":
            si = f.get("si")
            if ftext:
                shared_f[si] = (ftext, rc[0], rc[1])
            elif si in shared_f:
                ftext = _translate(shared_f[si], rc)
        if ftext:
            formulas[rc] = ftext
    if t == "inlineStr":
        if text:
            values[rc] = text
        return
    if v is None or (v == "" and t != "str"):
        return  # a formula with no cached value stays unknown, never 0
    if t == "s":
        try:
            values[rc] = shared[int(v)]
        except (ValueError, IndexError):
            values[rc] = ""
    elif t == "e":
        errors[rc] = v
    elif t == "b":
        values[rc] = v in ("1", "true")
    elif t in ("str", "d"):
        values[rc] = v
    else:
        try:
            values[rc] = float(v)
        except ValueError:
            values[rc] = v


def _translate(master: tuple[str, int, int], rc: tuple[int, int]) -> str:
    """Shift a shared formula from its master cell to this one."""
    from openpyxl.formula.translate import Translator
    from openpyxl.utils import get_column_letter

    text, r0, c0 = master
    origin = f"{get_column_letter(c0 + 1)}{r0 + 1}"
    dest = f"{get_column_letter(rc[1] + 1)}{rc[0] + 1}"
    try:
        return Translator("=" + text, origin=origin).translate_formula(dest)[1:]
    except Exception:
        return ""
