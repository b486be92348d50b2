"""What a run or a command can fail with, each with a Chinese message and the exit code it ends with.

    SelfevalError          exit_code 4: unexpected; the CLI prints a Chinese line and where the details went
    ├── UsageError         exit_code 2: the user's to fix (arguments, folders, a bad rule file)
    │   ├── InboxError     INBOX missing, not a folder, unreadable
    │   ├── OutputError    OUT is a file, read-only, full, inside INBOX or holding it
    │   ├── OutputLocked   another run is writing into OUT
    │   └── RuleFileError  (check/ruleset.py) the rule pack cannot be used
    └── RunIncomplete      exit_code 3: the run could not account for every input; nothing it
                           reports can be trusted

Problems inside a form are findings and problems of one file are rejected rows of the manifest:
neither is an exception that reaches the user.
"""
from __future__ import annotations

import errno


class SelfevalError(Exception):
    exit_code = 4


class UsageError(SelfevalError):
    exit_code = 2


class InboxError(UsageError):
    pass


class OutputError(UsageError):
    pass


class OutputLocked(UsageError):
    pass


class RunIncomplete(SelfevalError):
    exit_code = 3


_EDQUOT, _EROFS = getattr(errno, "EDQUOT", -1), getattr(errno, "EROFS", -2)   # not on every platform


def os_reason(exc: OSError, access: str = "写入") -> str:
    """An OSError as a reviewer reads it (the system's own text is English)."""
    return {errno.ENOSPC: "磁盘已满", _EDQUOT: "磁盘配额已满", _EROFS: "磁盘是只读的",
            errno.EACCES: f"没有{access}权限", errno.EPERM: f"没有{access}权限",
            errno.ENOTDIR: "路径中有一级是文件而不是文件夹", errno.EEXIST: "已有同名文件，不是文件夹",
            errno.ENOENT: "文件或文件夹不存在", errno.ENAMETOOLONG: "路径太长",
            errno.EIO: "磁盘读写出错"}.get(exc.errno, f"系统错误码 {exc.errno}")
