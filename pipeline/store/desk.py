"""The web desk's tables and queries: accounts, the audit log, uploads awaiting 上报 (drafts) and
drawn sheets. Migration 0002 creates them; like the rest of store/, the only SQL of the desk."""
from __future__ import annotations

import sqlalchemy as sa

from . import _dicts, now
from .schema import TS, metadata

# Who may sign in: a unit's account (unit_key set) or a reviewer (role reviewer).
account = sa.Table(
    "account", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(10), nullable=False),            # unit | reviewer
    sa.Column("unit_key", sa.String(200), nullable=True),
    sa.Column("password", sa.String(200), nullable=False),       # argon2id hash
    sa.Column("created_at", TS, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("fails", sa.Integer, nullable=False, server_default="0"),   # failed sign-ins in a row
    sa.Column("locked_until", TS, nullable=True),
)

# Every sign-in (good or bad) and every action on the desk.
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column("who", sa.String(100), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False, server_default=""),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.Text, nullable=False, server_default=""),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

# A file a unit uploaded to check before 上报: its bytes are a blob (by content), its check's result
# is JSON; on 上报 it becomes a version (version_id) through the same run as an inbox file.
draft = sa.Table(
    "draft", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("unit_key", sa.String(200), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("filename", sa.Text, nullable=False),     # as the browser named it: shown, never used
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("uploaded_at", TS, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # checked | rejected | submitted
    sa.Column("year", sa.String(12), nullable=False, server_default=""),
    sa.Column("result", sa.Text, nullable=False),        # JSON: forms, findings, the reader's verdict
    sa.Column("notes", sa.Text, nullable=False, server_default="{}"),   # JSON: finding key → 说明
    sa.Column("version_id", sa.Integer, nullable=True),
    sa.Column("submitted_at", TS, nullable=True),
)

# A sheet of a received file drawn as a grid (values and merged ranges), by content.
sheet_grid = sa.Table(
    "sheet_grid", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("sheet", sa.String(200), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
)


# ---------------------------------------------------------------------------- accounts
def add_account(tx, **row) -> int:
    row.setdefault("created_at", now())
    return tx.execute(account.insert().returning(account.c.id), row).scalar_one()


def get_account(tx, *, id: int | None = None, name: str | None = None) -> dict | None:
    q = sa.select(account)
    q = q.where(account.c.id == id) if id is not None else q.where(account.c.name == name)
    rows = _dicts(tx.execute(q))
    return rows[0] if rows else None


def accounts(tx) -> list[dict]:
    return _dicts(tx.execute(sa.select(account).order_by(account.c.name)))


def update_account(tx, id: int, **values) -> None:
    tx.execute(account.update().where(account.c.id == id).values(**values))


# ---------------------------------------------------------------------------- audit log
def log(tx, *, who: str, action: str, ok: bool, ip: str = "", target: str = "", detail: str = "") -> None:
    tx.execute(audit.insert(), dict(at=now(), who=who[:100], ip=ip[:64], action=action[:40],
                                    target=target, ok=ok, detail=detail))


def audit_rows(tx, limit: int = 200, who: str | None = None) -> list[dict]:
    q = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
    if who is not None:
        q = q.where(audit.c.who == who)
    return _dicts(tx.execute(q))


def count_recent(tx, *, who: str, action: str, since) -> int:
    return tx.execute(sa.select(sa.func.count()).select_from(audit).where(
        audit.c.who == who, audit.c.action == action, audit.c.at >= since)).scalar_one()


# ---------------------------------------------------------------------------- drafts
def add_draft(tx, **row) -> int:
    row.setdefault("uploaded_at", now())
    return tx.execute(draft.insert().returning(draft.c.id), row).scalar_one()


def get_draft(tx, id: int) -> dict | None:
    rows = _dicts(tx.execute(sa.select(draft).where(draft.c.id == id)))
    return rows[0] if rows else None


def drafts(tx, unit_key: str, limit: int = 50) -> list[dict]:
    return _dicts(tx.execute(sa.select(draft).where(draft.c.unit_key == unit_key)
                             .order_by(draft.c.id.desc()).limit(limit)))


def update_draft(tx, id: int, **values) -> None:
    tx.execute(draft.update().where(draft.c.id == id).values(**values))


# ---------------------------------------------------------------------------- versions by id
def version_by_id(tx, vid: int) -> dict | None:
    """One version's head (no values_csv, no figures), or None."""
    from .schema import version

    cols = [c for c in version.c if c.name not in ("values_csv", "figures")]
    rows = _dicts(tx.execute(sa.select(*cols).where(version.c.id == vid)))
    return rows[0] if rows else None


# ---------------------------------------------------------------------------- drawn sheets
def get_grid(tx, sha: str, sheet: str) -> str | None:
    return tx.execute(sa.select(sheet_grid.c.data).where(sheet_grid.c.sha256 == sha,
                                                         sheet_grid.c.sheet == sheet)).scalar()


def put_grid(tx, sha: str, sheet: str, data: str) -> None:
    from . import _insert_ignore

    tx.execute(_insert_ignore(tx, sheet_grid, ["sha256", "sheet"]), [dict(sha256=sha, sheet=sheet, data=data)])
