"""The store's tables (SQLAlchemy Core). The first migration creates exactly these; a later change
to a table goes in a new migration under migrations/versions/ as well as here."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"})

TS = sa.DateTime(timezone=True)

# Every distinct file content ever received; the bytes are in the store's folder (SQLite) or in
# data (a server), so that any version can be read again.
blob = sa.Table(
    "blob", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("stored_at", TS, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=True),
)

run = sa.Table(
    "run", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started", TS, nullable=False),
    sa.Column("finished", TS),
    sa.Column("status", sa.String(12), nullable=False),     # running | done | failed
    sa.Column("inbox", sa.Text, nullable=False),
    sa.Column("out", sa.Text, nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("rules_version", sa.String(40), nullable=False, server_default=""),
    sa.Column("files", sa.Integer, nullable=False, server_default="0"),
    sa.Column("units", sa.Integer, nullable=False, server_default="0"),
)

# Every file a run saw: relative path, content, outcome.
receipt = sa.Table(
    "receipt", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("code", sa.String(40), nullable=False, server_default=""),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
)

# Units: roster entries (key = 单位编码) and, without a roster entry, the normalised name.
unit = sa.Table(
    "unit", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("dept", sa.Text, nullable=False, server_default=""),
    sa.Column("contact", sa.Text, nullable=False, server_default=""),
    sa.Column("phone", sa.Text, nullable=False, server_default=""),
    sa.Column("on_roster", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Every name a roster entry goes by (单位名称, 曾用名/别名), normalised.
alias = sa.Table(
    "alias", metadata,
    sa.Column("name_norm", sa.String(200), primary_key=True),
    sa.Column("unit_key", sa.ForeignKey("unit.key", ondelete="CASCADE"), nullable=False),
)

unit_year = sa.Table(
    "unit_year", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("unit_key", sa.String(200), nullable=False),
    sa.Column("year", sa.String(12), nullable=False),
    sa.UniqueConstraint("unit_key", "year"),
)

# One form of one received file: a version of its unit-year. figures: the consolidated amount of
# every block.field (JSON text); values_csv: the form's values.csv rows (every org row's cells).
version = sa.Table(
    "version", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("unit_year_id", sa.ForeignKey("unit_year.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("sheet", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("run_id", sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("unit_name", sa.Text, nullable=False),
    sa.Column("matched", sa.Boolean, nullable=False),   # the name matched a roster entry
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("infos", sa.Integer, nullable=False),
    sa.Column("figures", sa.Text, nullable=False),
    sa.Column("values_csv", sa.Text, nullable=False),
    sa.UniqueConstraint("unit_year_id", "sha256", "sheet"),
)

# A version's findings; key is the finding's identity within its unit-year (collect.finding_key).
finding = sa.Table(
    "finding", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.ForeignKey("version.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(20), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("block", sa.String(20), nullable=False),
    sa.Column("org", sa.Text, nullable=False),
    sa.Column("field", sa.String(60), nullable=False),
    sa.Column("sheet", sa.Text, nullable=False),
    sa.Column("cell", sa.String(20), nullable=False),
    sa.Column("expected", sa.Text, nullable=False),
    sa.Column("actual", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

# 说明 a unit wrote in a returned copy's 问题清单, read when that workbook came back.
explanation = sa.Table(
    "explanation", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("unit_year_id", sa.ForeignKey("unit_year.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("version_id", sa.ForeignKey("version.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(20), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("rejected_by", sa.Integer, nullable=True),     # the reviewer action that rejected it
)

# Reviewer actions: accept (通过, locks) · return (退回, with 审核意见) · reopen.
action = sa.Table(
    "action", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("unit_year_id", sa.ForeignKey("unit_year.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("version_id", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("at", TS, nullable=False),
)

# Names written on forms that match no roster entry (reported, never guessed).
unmatched = sa.Table(
    "unmatched", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("year", sa.String(12), nullable=False),
)
