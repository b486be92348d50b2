"""Walk INBOX: every entry found becomes a file to read or a manifest row saying why it is not.

Nothing found is dropped: symbolic links (to files or folders), pipes, sockets and devices are
rejected; folders that cannot be opened are listed as rejected rows of their own; the junk every
Windows or macOS inbox holds (Thumbs.db, desktop.ini, .DS_Store, Office lock files ~$…) is
skipped with a reason. Names that are not UTF-8 (GBK names from a Windows zip unpacked on Linux)
are decoded for display; the path to open stays the one the file system gave.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import os_reason
from ..models import FileResult

SYSTEM_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", ".localized", "icon\r"}
PATH_MAX = 4000   # bytes: Linux refuses paths of 4,096 and more


@dataclass
class Entry:
    path: Path
    rel: str                         # relative to INBOX, '/'-separated, always valid UTF-8
    result: FileResult | None = None  # decided without reading (rejected or skipped)


def display(name: str) -> str:
    """A file-system name as text that can be written anywhere: undecodable bytes (kept by
    Python as surrogates) are decoded as GB 18030 where they are that, else shown as \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")


def is_system_file(name: str) -> bool:
    low = name.lower()
    return low in SYSTEM_NAMES or name.startswith("~$") or name.startswith("._")


def discover(inbox: Path) -> list[Entry]:
    """Every entry under inbox, files of a folder before its sub-folders, each sorted by name."""
    out: list[Entry] = []
    _walk(Path(inbox), "", out)
    return out


def _reject(path: Path, rel: str, code: str, message: str, status: str = "rejected") -> Entry:
    return Entry(path, rel, FileResult(rel, "", status, code, message))


def _walk(folder: Path, prefix: str, out: list[Entry]) -> None:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        rel = prefix.rstrip("/") or "."
        code = "PATH_TOO_LONG" if exc.errno == errno.ENAMETOOLONG else "FOLDER_UNREADABLE"
        why = "路径过长" if code == "PATH_TOO_LONG" else "没有读取权限或已损坏"
        out.append(_reject(folder, rel + "/", code, f"文件夹无法打开（{why}），其中的文件均未读取；请检查后重新放入"))
        return
    subdirs = []
    for e in entries:
        rel = prefix + display(e.name)
        path = Path(e.path)
        try:
            if e.is_symlink():
                what = "文件夹" if path.is_dir() else "文件"
                out.append(_reject(path, rel, "NOT_A_REGULAR_FILE",
                                   f"这是指向{what}的符号链接，不是报送的文件本身；未读取"))
            elif e.is_dir(follow_symlinks=False):
                subdirs.append((path, rel + "/"))
            elif not e.is_file(follow_symlinks=False):
                out.append(_reject(path, rel, "NOT_A_REGULAR_FILE",
                                   "这不是普通文件（管道、套接字或设备），未读取"))
            elif is_system_file(e.name):
                out.append(_reject(path, rel, "SYSTEM_FILE",
                                   "系统或办公软件自动生成的文件（缩略图缓存、文件夹设置或 Office 临时锁文件），不是报送的文件；已跳过",
                                   status="skipped"))
            elif len(os.fsencode(e.path)) >= PATH_MAX:
                out.append(_reject(path, rel, "PATH_TOO_LONG", "文件路径过长，系统无法打开；请缩短文件夹或文件名后重新放入"))
            else:
                out.append(Entry(path, rel))
        except OSError as exc:
            out.append(_reject(path, rel, "READ_ERROR", f"无法查看此项（{os_reason(exc, '读取')}），未读取"))
    for path, rel in subdirs:
        _walk(path, rel, out)
