"""Look at a file's bytes before any parser does: route by content, bound every zip part.

Rejections raise Rejected(code, message); the code is a stable word for the manifest and the
message is the Chinese reason a reviewer reads.
"""
from __future__ import annotations

import re
import time
import zipfile

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 2000
MAX_PART_BYTES = 48 * 1024 * 1024       # one inflated XML part
MAX_TOTAL_BYTES = 160 * 1024 * 1024     # all inflated parts together
MAX_RATIO = 150                         # inflated / compressed, for parts over RATIO_FLOOR
RATIO_FLOOR = 20 * 1024 * 1024          # below it a part is inflated and its tokens checked instead
MAX_TOKEN = 2 * 1024 * 1024             # longest run of bytes between XML markup characters
MAX_ROWS = 20_000                       # a form has under a hundred rows
MAX_COLS = 702                          # up to ZZ; three-letter columns are far beyond any form

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class Rejected(Exception):
    """This file cannot be read as a form; the run records code and message and goes on."""

    def __init__(self, code: str, message: str, status: str = "rejected"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status   # "skipped" for files that are no submission at all (own outputs)

    def __reduce__(self):   # crosses process boundaries: the default would lose the code
        return (type(self), (self.code, self.message, self.status))


def sniff(head: bytes, size: int) -> str:
    """Return 'xlsx-zip' | 'ods-zip' | 'zip' | 'xls' for what the bytes are, or raise Rejected."""
    if size == 0:
        raise Rejected("EMPTY_FILE", "文件为空（0 字节）")
    if size > MAX_FILE_BYTES:
        raise Rejected("FILE_TOO_LARGE", f"文件过大（{size // 1048576} MB），超出自评表的合理大小")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(CFB_MAGIC):
        return "cfb"
    if head.startswith(b"%PDF"):
        raise Rejected("NOT_A_WORKBOOK", "这是 PDF 文件，不是电子表格；请报送 Excel 格式的自评表")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Rejected("NOT_A_WORKBOOK", "这是 UTF-16 文本文件（多为另存为“Unicode 文本”），不是电子表格")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head.lower():
        raise Rejected("NOT_A_WORKBOOK", "这是 Excel 2003 XML 表格（SpreadsheetML），请另存为 .xlsx 后重新报送")
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head")) or b"<html" in text[:2048]:
        raise Rejected("NOT_A_WORKBOOK", "这是网页（HTML）文件改了扩展名，不是电子表格；请另存为 .xlsx 后重新报送")
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        raise Rejected("NOT_A_WORKBOOK", "这是 XML 文本文件，不是电子表格")
    if _looks_like_text(head):
        raise Rejected("NOT_A_WORKBOOK", "这是文本（CSV）文件改了扩展名，不是电子表格；请另存为 .xlsx 后重新报送")
    raise Rejected("NOT_A_WORKBOOK", "无法识别的文件内容，不是 Excel/WPS 电子表格")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            head.decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


def cfb_kind(data: bytes) -> str:
    """An OLE2 compound file is either an encrypted OOXML package or a BIFF .xls (also WPS .et)."""
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise Rejected("ENCRYPTED", "工作簿设置了打开密码，无法读取；请去除密码后重新报送")
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    raise Rejected("NOT_A_WORKBOOK", "这是 Word 等其他 Office 文件，不是电子表格")


def open_zip(path) -> zipfile.ZipFile:
    """Open a zip and check its directory: members, names, declared sizes and ratios."""
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Rejected("CORRUPT_ZIP", "文件已损坏或不完整（无法作为 Excel 压缩包打开，多为传输中断或保存未完成）；"
                                      "请在 Excel/WPS 中打开确认后重新保存并报送") from None
    if len(infos) > MAX_MEMBERS:
        raise Rejected("ZIP_LIMIT", f"压缩包内部件过多（{len(infos)} 个），疑似恶意文件")
    names = [i.filename for i in infos]
    if len(set(n.lower() for n in names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1} or names)[0]
        raise Rejected("ZIP_DUPLICATE_MEMBER", f"压缩包内有重名部件（{dup}），文件结构异常，疑似被篡改")
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise Rejected("ENCRYPTED", "工作簿部件经过加密，无法读取；请去除密码后重新报送")
        if info.file_size > MAX_PART_BYTES:
            raise Rejected("ZIP_LIMIT", f"部件 {info.filename} 解压后达 {info.file_size // 1048576} MB，超出限制，疑似压缩炸弹")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Rejected("ZIP_LIMIT", f"部件 {info.filename} 压缩比异常（{info.file_size // max(info.compress_size, 1)} 倍），疑似压缩炸弹")
    if total > MAX_TOTAL_BYTES:
        raise Rejected("ZIP_LIMIT", f"压缩包解压后共 {total // 1048576} MB，超出限制，疑似压缩炸弹")
    return zf


_FAR_COL = re.compile(rb'<(?:\w+:)?c\b[^>]{0,200}?\br="[A-Z]{3}\d')   # column AAA or beyond
_FAR_HINT = re.compile(rb'"[A-Z]{3}\d')   # cheap pre-scan: no such quoted text, no such cell
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]{0,200}?\br="(\d{1,7})"')
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
_TOKEN = re.compile(rb"[^<>]{%d}" % MAX_TOKEN)


class PartReader:
    """Inflates zip parts with real sizes bounded while streaming, whatever the directory says."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.total = 0
        self.seconds = 0.0   # time spent inflating and checking, reported by the benchmark

    def read(self, name: str, sheet: bool = False) -> bytes:
        t0 = time.perf_counter()
        try:
            return self._read(name, sheet)
        finally:
            self.seconds += time.perf_counter() - t0

    def _read(self, name: str, sheet: bool) -> bytes:
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise Rejected("CORRUPT_ZIP", f"工作簿缺少部件 {name}") from None
        chunks, size, max_row, max_col = [], 0, 0, 0
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    size += len(chunk)
                    self.total += len(chunk)
                    if size > MAX_PART_BYTES or self.total > MAX_TOTAL_BYTES:
                        raise Rejected("ZIP_LIMIT", f"部件 {name} 实际解压超出限制，疑似压缩炸弹")
                    if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
                        raise Rejected("ZIP_LIMIT", f"部件 {name} 实际压缩比异常，疑似压缩炸弹")
                    if sheet:
                        max_row, max_col = _extent(chunk, max_row, max_col, name)
                    chunks.append(chunk)
        except Rejected:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise Rejected("CORRUPT_ZIP", f"部件 {name} 已损坏，无法解压；请在 Excel/WPS 中重新保存后报送") from None
        data = b"".join(chunks)
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
            raise Rejected("CORRUPT_XML", f"部件 {name} 不是 UTF-8 编码的 XML，Excel/WPS 不会这样保存，疑似被改动")
        if b"<!" in data and _DTD.search(data):
            raise Rejected("XML_DTD_FORBIDDEN", f"部件 {name} 含有 DTD 或实体声明，出于安全原因拒收")
        if len(data) >= MAX_TOKEN and _TOKEN.search(data):
            raise Rejected("XML_TOKEN_LIMIT", f"部件 {name} 含有超长的单个文本或属性（超过 {MAX_TOKEN // 1048576} MB），疑似恶意文件")
        return data


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _extent(chunk: bytes, max_row: int, max_col: int, name: str) -> tuple[int, int]:
    """Never trust <dimension>: look at the row numbers and column letters actually present."""
    rows = _ROW_REF.findall(chunk)
    if rows:
        max_row = max(max_row, max(map(int, rows)))
    if max_row > MAX_ROWS or (_FAR_HINT.search(chunk) and _FAR_COL.search(chunk)):
        raise Rejected("EXTENT_LIMIT", f"工作表 {name} 的使用区域远超自评表（达第 {max_row} 行或第 703 列以后），疑似异常文件")
    return max_row, max_col
