"""Open any input: sniff its bytes, then hand it to the one reader that fits its content."""
from __future__ import annotations

import hashlib
from pathlib import Path

from .grid import Book, grid_from_rows
from .guard import MAX_COLS, MAX_ROWS, PartReader, Rejected, cfb_kind, open_zip, sniff
from .ooxml import read_xlsx

ACCEPTED_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".et", ".ett", ".xltx", ".xlt"}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_book(path: Path) -> Book:
    """Raise Rejected for anything that is not a readable workbook."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4096)
    kind = sniff(head, size)
    if kind == "cfb":
        data = path.read_bytes()
        cfb_kind(data)
        return _read_calamine(path, "xls")
    zf = open_zip(path)
    names = set(zf.namelist())
    if "mimetype" in names:
        with zf:
            mime = PartReader(zf).read("mimetype")[:100]
            if b"opendocument.spreadsheet" not in mime:
                raise Rejected("NOT_A_WORKBOOK", "这是 OpenDocument 文本或演示文件，不是电子表格")
            PartReader(zf).read("content.xml")  # size, DTD and token checks before calamine
        return _read_calamine(path, "ods")
    if "EncryptionInfo" in names or "EncryptedPackage" in names:
        zf.close()
        raise Rejected("ENCRYPTED", "工作簿设置了打开密码，无法读取；请去除密码后重新报送")
    return read_xlsx(path, zf)


def _read_calamine(path: Path, fmt: str) -> Book:
    import python_calamine as pc

    try:
        with open(path, "rb") as fh:  # from a file object calamine goes by content, not by name
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
            raise Rejected("EXTENT_LIMIT", f"工作表的使用区域远超自评表（{msg[:120]}），疑似异常文件") from None
        if "password" in msg.lower() or "encrypt" in msg.lower():
            raise Rejected("ENCRYPTED", "工作簿设置了打开密码，无法读取；请去除密码后重新报送") from None
        raise Rejected("CORRUPT_FILE", f"文件已损坏，无法读取（{type(exc).__name__}: {msg[:200]}）") from None
    if not sheets:
        raise Rejected("NO_SHEETS", "工作簿中没有可读取的工作表")
    return Book(sheets=sheets, source_format=fmt)
