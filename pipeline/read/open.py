"""Open any input: sniff its bytes, then hand it to the one reader that fits its content."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from .grid import Book, grid_from_rows
from .guard import MAX_COLS, MAX_FILE_BYTES, MAX_ROWS, PartReader, Rejected, cfb_kind, open_zip, sniff
from .ooxml import read_xlsx

ACCEPTED_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".et", ".ett", ".xltx", ".xlt"}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their sha256, read once: what is checked is what was hashed."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        sniff(b"", size)   # raises FILE_TOO_LARGE without reading it
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def read_book(path: Path, data: bytes | None = None) -> Book:
    """Raise Rejected for anything that is not a readable workbook. data: the file's bytes,
    when the caller has them (they, not the file as it is now, are read)."""
    if data is None:
        data, _ = read_bytes(path)
    kind = sniff(data[:4096], len(data))
    if kind == "cfb":
        cfb_kind(data)
        return _read_calamine(data, "xls")
    zf = open_zip(io.BytesIO(data))
    names = set(zf.namelist())
    if "mimetype" in names:
        with zf:
            mime = PartReader(zf).read("mimetype")[:100]
            if b"opendocument.spreadsheet" not in mime:
                raise Rejected("NOT_A_WORKBOOK", "这是 OpenDocument 文本或演示文件，不是电子表格")
            _guard_rest(zf, set())   # size, DTD and token checks of every part before calamine
        return _read_calamine(data, "ods")
    if "EncryptionInfo" in names or "EncryptedPackage" in names:
        zf.close()
        raise Rejected("ENCRYPTED", "工作簿设置了打开密码，无法读取；请去除密码后重新报送")
    origin = _guard_rest(zf, READER_PARTS)
    if origin == "summary":
        zf.close()
        raise Rejected("OWN_OUTPUT", "这是本工具生成的汇总表（summary.xlsx），不是单位报送的自评表；已跳过",
                       status="skipped")
    book = read_xlsx(io.BytesIO(data), zf)
    if origin == "return":   # a returned copy: the unit's form, without the 问题清单 added to it
        book.sheets = [g for g in book.sheets if not _is_return_sheet(g)] or book.sheets
    return book


# Parts the xlsx reader itself inflates through PartReader; _guard_rest checks all the others.
READER_PARTS = re.compile(r"^(?:xl/worksheets/[^/]+\.xml|xl/sharedStrings\.xml|xl/workbook\.xml"
                          r"|xl/_rels/workbook\.xml\.rels|_rels/\.rels)$")
_XMLISH = (".xml", ".rels", ".vml")


def _guard_rest(zf, skip) -> str:
    """Every other XML part (styles, document properties, drawings, content types…) goes
    through the same bounds and DTD/entity check, since other libraries parse them later
    (python-calamine the styles, openpyxl all of them for returned copies). Returns the
    selfeval custom property ("summary" | "return" | "")."""
    parts, origin = PartReader(zf), ""
    for name in zf.namelist():
        low = name.lower()
        if not low.endswith(_XMLISH) or (skip and skip.match(name)):
            continue
        data = parts.read(name)
        if low == "docprops/custom.xml" and b"selfeval" in data:
            m = _OWN.search(data)
            origin = m.group(1).decode() if m else ""
    return origin


_OWN = re.compile(rb'name="selfeval"[^>]*>\s*<vt:lpwstr>(summary|return)</vt:lpwstr>')


def _is_return_sheet(grid) -> bool:
    """The 问题清单 a returned copy carries: its header names the unit's explanation column."""
    return grid.name.startswith("问题清单") and any(
        v == "说明（单位填写）" for (r, _), v in grid.values.items() if r < 12)


def _read_calamine(data: bytes, fmt: str) -> Book:
    import python_calamine as pc

    try:
        with io.BytesIO(data) as fh:  # from a file object calamine goes by content, not by name
            wb = pc.CalamineWorkbook.from_filelike(fh)
        metas = {m.name: m for m in wb.sheets_metadata}
        sheets = []
        for name in wb.sheet_names:
            meta = metas.get(name)
            if meta is not None and "Work" not in str(meta.typ):
                continue
            sh = wb.get_sheet_by_name(name)
            if sh.height > MAX_ROWS or sh.width > MAX_COLS:
                raise Rejected("EXTENT_LIMIT", f"工作表 {name} 的使用区域远超自评表（{sh.height} 行、{sh.width} 列），疑似异常文件")
            rows = sh.to_python(skip_empty_area=False)
            hidden = meta is not None and "Visible" not in str(meta.visible)
            sheets.append(grid_from_rows(name, rows, sh.merged_cell_ranges, hidden))
        wb.close()
    except Rejected:
        raise
    except pc.PasswordError:
        raise Rejected("ENCRYPTED", "工作簿设置了打开密码，无法读取；请去除密码后重新报送") from None
    except Exception as exc:  # calamine raises its own types for corrupt BIFF/ODS
        msg = str(exc)
        if "cell limit" in msg.lower():
            raise Rejected("EXTENT_LIMIT", "工作表的使用区域远超自评表（单元格数超出读取上限），疑似异常文件；"
                                           "请删除多余的行列后重新报送") from None
        if "password" in msg.lower() or "encrypt" in msg.lower():
            raise Rejected("ENCRYPTED", "工作簿设置了打开密码，无法读取；请去除密码后重新报送") from None
        # calamine's own words are English and technical: the unit needs what to do
        raise Rejected("CORRUPT_FILE", "文件已损坏，无法读取；请在 Excel/WPS 中打开确认，另存为 .xlsx 后重新报送") from None
    if not sheets:
        raise Rejected("NO_SHEETS", "工作簿中没有可读取的工作表")
    return Book(sheets=sheets, source_format=fmt)
