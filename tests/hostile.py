"""Hostile and broken files, written byte by byte or zip member by zip member.

Each builder writes one file into a folder and returns (name, expected reason code); a code of
"" means the file must be accepted.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

SS_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
      '</Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WB = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{SS_NS}" xmlns:r="{REL_NS}"><sheets>'
      '<sheet name="自评表" sheetId="1" r:id="rId1"/></sheets></workbook>')
WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def sheet_xml(cells: str, prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{SS_NS}"><sheetData>'
            f'{cells}</sheetData></worksheet>')


def write_package(path: Path, sheet: str | bytes, extra: dict | None = None, dup: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        if dup:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                z.writestr("xl/worksheets/sheet1.xml", sheet)


def _cell(ref: str, v: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'


def build_all(folder: Path, good_form: Path) -> dict[str, str]:
    """Write every hostile file into folder; return name → expected reason code."""
    folder.mkdir(parents=True, exist_ok=True)
    good = good_form.read_bytes()
    out: dict[str, str] = {}

    def put(name: str, data: bytes | str, code: str) -> None:
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        out[name] = code

    put("空文件.xlsx", b"", "EMPTY_FILE")
    put("网页另存.xls", "<html><head><meta charset='utf-8'></head><body><table><tr><td>收入合计</td></tr></table></body></html>",
        "NOT_A_WORKBOOK")
    put("逗号分隔.xlsx", "机构名称,收入合计\n局机关,255.18\n", "NOT_A_WORKBOOK")
    put("unicode文本.xls", "机构名称\t收入合计\r\n".encode("utf-16"), "NOT_A_WORKBOOK")
    put("excel2003xml.xls", '<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook '
        'xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"/></Workbook>', "NOT_A_WORKBOOK")
    put("扫描件.xlsx", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "NOT_A_WORKBOOK")
    put("截断.xlsx", good[: len(good) // 3], "CORRUPT_ZIP")
    put("乱码.xlsx", bytes(range(256)) * 40, "NOT_A_WORKBOOK")
    # a Word document named .xlsx
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("word/document.xml", "<w:document xmlns:w='x'/>")
    put("其实是word.xlsx", buf.getvalue(), "NOT_A_WORKBOOK")
    # zip-level attacks
    write_package(folder / "重名部件.xlsx", sheet_xml(_cell("A1", "x")), dup=True)
    out["重名部件.xlsx"] = "ZIP_DUPLICATE_MEMBER"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in (("[Content_Types].xml", CT), ("_rels/.rels", ROOT_RELS), ("xl/workbook.xml", WB),
                           ("xl/_rels/workbook.xml.rels", WB_RELS)):
            z.writestr(name, data)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b" " * (1 << 20)
            for _ in range(200):
                fh.write(chunk)
    put("压缩炸弹.xlsx", bomb.getvalue(), "ZIP_LIMIT")
    many = {f"xl/media/p{i}.xml": "<a/>" for i in range(2100)}
    write_package(folder / "部件过多.xlsx", sheet_xml(_cell("A1", "x")), extra=many)
    out["部件过多.xlsx"] = "ZIP_LIMIT"
    # XML attacks
    laughs = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    write_package(folder / "实体炸弹.xlsx", sheet_xml(_cell("A1", "&lol2;"), prolog=laughs))
    out["实体炸弹.xlsx"] = "XML_DTD_FORBIDDEN"
    xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    write_package(folder / "外部实体.xlsx", sheet_xml(_cell("A1", "&e;"), prolog=xxe))
    out["外部实体.xlsx"] = "XML_DTD_FORBIDDEN"
    giant = f'<row r="1"><c r="A1" t="inlineStr" s="{"9" * (16 << 20)}"><is><t>x</t></is></c></row>'
    write_package(folder / "超长属性.xlsx", sheet_xml(giant))
    out["超长属性.xlsx"] = "XML_TOKEN_LIMIT"
    far = f'<row r="1">{_cell("A1", "机构名称")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    write_package(folder / "极远单元格.xlsx", sheet_xml(far))
    out["极远单元格.xlsx"] = "EXTENT_LIMIT"
    junk = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 30001))
    write_package(folder / "大量垃圾行.xlsx", sheet_xml(junk))
    out["大量垃圾行.xlsx"] = "EXTENT_LIMIT"
    write_package(folder / "没有表格.xlsx", sheet_xml(f'<row r="1">{_cell("A1", "请于3月底前报送")}</row>'))
    out["没有表格.xlsx"] = "NO_FORM"
    # an ODS whose repeated cells ask the parser for gigabytes: the worker dies, the run goes on
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               '<office:spreadsheet><table:table table:name="S"><table:table-row table:number-rows-repeated="9000">'
               '<table:table-cell table:number-columns-repeated="10000" office:value-type="float" office:value="1">'
               '<text:p>1</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>'
               '</office:body></office:document-content>')
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    put("重复单元格.ods", ods.getvalue(), "PARSER_KILLED")
    # a real form with its zip renamed: content decides, not the name
    put("扩展名写错.xls", good, "")
    put("正常.xlsx", good, "")
    return out


def strict_copy(src: Path, dst: Path) -> None:
    """Rewrite a Transitional package as Strict OOXML (the namespaces Excel's Strict format uses)."""
    pairs = [(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
             (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships", b"http://purl.oclc.org/ooxml/officeDocument/relationships")]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for a, b in pairs:
                    data = data.replace(a, b)
            zout.writestr(info.filename, data)
