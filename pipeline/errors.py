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
