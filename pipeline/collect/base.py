"""Where the store is, the states' words, and a unit's name as a key."""
from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from ..read.labels import norm

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


# States of a unit-year, and who acts next.
NOT_SUBMITTED, HAS_ERRORS, NEEDS_NOTE, EXPLAINED, RETURNED, ACCEPTED = (
    "未报", "有误待改", "待说明", "已说明", "退回", "通过")
STATES = (NOT_SUBMITTED, HAS_ERRORS, NEEDS_NOTE, EXPLAINED, RETURNED, ACCEPTED)
NEXT_ACTOR = {NOT_SUBMITTED: "单位报送", HAS_ERRORS: "单位修改后重报", NEEDS_NOTE: "单位填写说明后重报",
              EXPLAINED: "审核人审核", RETURNED: "单位按审核意见修改后重报", ACCEPTED: "（已锁定）"}
RETURN_SHEET = "问题清单"
KEY_HEADER = "问题编号"
NOTE_HEADER = "说明（单位填写）"
DEFAULT_STORE = "selfeval.db"
WEB_FOLDER = "网上报送"   # the inbox folder a web upload is run from: its path in the store


def who() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


# ---------------------------------------------------------------------------- where the store is
def store_target(option: str | None, out: Path | None = None) -> str | None:
    """--store as given; else $SELFEVAL_STORE; else selfeval.db in the folder that holds OUT (for
    `run`) or in the current folder (every other command). "none" turns the store off."""
    target = option or os.environ.get("SELFEVAL_STORE")
    if not target:
        target = str((Path(out).resolve().parent if out else Path.cwd()) / DEFAULT_STORE)
    return None if target.lower() == "none" else target


def open_store(target: str) -> Store:
    from ..store.core import Store

    return Store.open(target)


# ---------------------------------------------------------------------------- identity
def name_key(name: str) -> str:
    """A unit's name compared: NFKC, no spaces or punctuation around it."""
    return norm(str(name or "")).strip("（）()")
