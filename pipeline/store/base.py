"""What the rest of the program needs of the store without loading SQLAlchemy (about a second of
imports on every command): its error and its clock."""
from __future__ import annotations

import datetime as dt

from ..errors import UsageError


class StoreError(UsageError):
    """The store cannot be opened or used (message in Chinese; exit code 2)."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
