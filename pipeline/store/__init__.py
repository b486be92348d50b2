"""The collection's store: the only code that speaks SQL (core.py: SQLAlchemy Core, Alembic
migrations run on open; schema.py the tables; desk.py the web desk's). SQLAlchemy is imported the
first time something of core.py is asked for (Store, HEAD, …), not by every command that merely
registers the collection's options."""
from __future__ import annotations

from .base import StoreError, now  # noqa: F401


def __getattr__(name: str):
    if name.startswith("__") or name in ("base", "core", "desk", "schema", "migrations"):
        raise AttributeError(name)   # dunders and submodules: the import system's own business
    import importlib

    return getattr(importlib.import_module(".core", __name__), name)
