"""The collection's store: the only code that speaks SQL (SQLAlchemy Core; Alembic migrations run
on open). SQLite by default (a file, WAL mode, the received files' bytes in a folder beside it);
PostgreSQL as a shared server (postgresql+psycopg://…, the bytes in table blob).

Every method takes the connection of one transaction from Store.transaction(); on SQLite that
transaction is BEGIN IMMEDIATE, so concurrent runs queue for the write lock instead of failing.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import sqlalchemy as sa

from . import schema as S

REVISIONS = ("0001", "0002")   # the migrations in order (0002: the web desk's tables, store/desk.py)
HEAD = REVISIONS[-1]
LOCK_ID = 0x5E1FE7A1   # PostgreSQL advisory lock held while migrating
BUSY_S = 120   # how long a SQLite writer waits for another one before giving up
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


from .base import StoreError, now  # noqa: E402,F401  (light: importable without SQLAlchemy)
from ..errors import os_reason  # noqa: E402


def to_url(target: str | os.PathLike) -> str:
    """A URL as given, or a path → sqlite:/// URL."""
    s = str(target)
    if "://" in s:
        return s
    return "sqlite:///" + str(Path(s).expanduser().resolve())


class Store:
    def __init__(self, engine: sa.Engine, files_dir: Path | None):
        self.engine = engine
        self.files_dir = files_dir
        self.sqlite = engine.dialect.name == "sqlite"
        self._folders: set[str] = set()     # blob folders known to exist

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, target: str | os.PathLike) -> "Store":
        url = sa.make_url(to_url(target))
        sqlite = url.get_backend_name() == "sqlite"
        if sqlite and (not url.database or url.database == ":memory:"):
            raise StoreError("收集库须是一个文件（SQLite 内存库不能保存收集情况）")
        shown = url.database if sqlite else url.render_as_string(hide_password=True)
        files_dir = None
        try:
            if sqlite:
                db = Path(url.database)
                db.parent.mkdir(parents=True, exist_ok=True)
                files_dir = db.with_suffix(".files")
                engine = sa.create_engine(url, connect_args={"timeout": BUSY_S})
                sa.event.listen(engine, "connect", _sqlite_connect)
                sa.event.listen(engine, "begin", _sqlite_begin)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            store = cls(engine, files_dir)
            store.migrate()
        except (sa.exc.SQLAlchemyError, StoreError, OSError) as exc:
            raise StoreError(f"无法打开收集库 {shown}：{_reason(exc)}") from None
        return store

    def migrate(self) -> None:
        """upgrade head, once, whoever else opens the store at the same moment."""
        with self.engine.begin() as conn:
            if not self.sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})
            # a store at HEAD (every open but the first) is told by its alembic_version row,
            # without importing Alembic (0.15 s of every run's, serve's and command's start)
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() \
                if sa.inspect(conn).has_table("alembic_version") else []
            if current == [HEAD]:
                return
            newer = [r for r in current if r not in REVISIONS]
            if newer:   # Alembic would only say it cannot locate the revision
                raise StoreError(f"它已由更新版本的 selfeval 升级（库的版本 {newer[0]}，本程序只认识到 {HEAD}）；"
                                 "请先把本机的 selfeval 升级到同一版本再打开它")
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A transaction that only reads: on SQLite a deferred one, which WAL lets run beside a
        writer (a run asks the store before each chunk while its recorder writes the last)."""
        with self.engine.connect().execution_options(selfeval_read=True) as conn, conn.begin():
            yield conn

    # ------------------------------------------------------------------ runs
    def start_run(self, tx, *, inbox: str, out: str, who: str, rules_version: str) -> int:
        return tx.execute(S.run.insert().returning(S.run.c.id),
                          dict(started=now(), status="running", inbox=inbox, out=out, who=who,
                               rules_version=rules_version)).scalar_one()

    def finish_run(self, tx, run_id: int, status: str, files: int, units: int) -> None:
        tx.execute(S.run.update().where(S.run.c.id == run_id).values(
            finished=now(), status=status, files=files, units=units))

    def drop_run_versions(self, tx, run_id: int) -> None:
        """A run that could not account for its inputs leaves no versions behind."""
        vids = sa.select(S.version.c.id).where(S.version.c.run_id == run_id)
        for t in (S.finding, S.explanation):
            tx.execute(t.delete().where(t.c.version_id.in_(vids)))
        tx.execute(S.version.delete().where(S.version.c.run_id == run_id))

    def runs(self, tx) -> list[dict]:
        return _dicts(tx.execute(sa.select(S.run).order_by(S.run.c.id)))

    # ------------------------------------------------------------------ files
    def missing_blobs(self, tx, shas: Iterable[str]) -> set[str]:
        shas = set(shas)
        have = set()
        for part in _parts(sorted(shas)):
            have.update(tx.execute(sa.select(S.blob.c.sha256).where(S.blob.c.sha256.in_(part))).scalars())
        return shas - have

    def add_blobs(self, tx, files: list[tuple[str, int, Path]]) -> list[str]:
        """(sha256, size, source path): the bytes are read, hashed and stored (content-addressed)
        before the row is written, so a row always has its bytes and they are the digest's: a
        file replaced since it was read is not stored under the old digest. Returns the digests
        whose file no longer holds them (not stored)."""
        import hashlib

        rows, refused = [], []
        for sha, size, src in files:
            try:
                data = Path(src).read_bytes()
            except OSError:
                data = b""
            if hashlib.sha256(data).hexdigest() != sha:
                refused.append(sha)
                continue
            row = dict(sha256=sha, size=len(data), stored_at=now(), data=None)
            if self.files_dir is None:
                row["data"] = data
            else:    # a missing row: write (again, if a failed transaction left the bytes)
                folder = os.path.join(self.files_dir, sha[:2])
                if folder not in self._folders:
                    os.makedirs(folder, exist_ok=True)
                    self._folders.add(folder)
                dst = os.path.join(folder, sha)
                tmp = f"{dst}.{os.getpid()}.{threading.get_ident()}.tmp"
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, dst)
            rows.append(row)
        if rows:
            tx.execute(_insert_ignore(tx, S.blob, ["sha256"]), rows)
        return refused

    def blob_path(self, sha: str) -> Path:
        return self.files_dir / sha[:2] / sha

    def read_blob(self, tx, sha: str) -> bytes | None:
        if self.files_dir is not None:
            p = self.blob_path(sha)
            return p.read_bytes() if p.exists() else None
        return tx.execute(sa.select(S.blob.c.data).where(S.blob.c.sha256 == sha)).scalar()

    def add_receipts(self, tx, rows: list[dict]) -> None:
        if rows:
            tx.execute(S.receipt.insert(), rows)

    def receipts(self, tx, run_id: int | None = None) -> list[dict]:
        q = sa.select(S.receipt).order_by(S.receipt.c.id)
        if run_id is not None:
            q = q.where(S.receipt.c.run_id == run_id)
        return _dicts(tx.execute(q))

    # ------------------------------------------------------------------ units and roster
    def aliases(self, tx) -> dict[str, str]:
        return dict(tx.execute(sa.select(S.alias.c.name_norm, S.alias.c.unit_key)).all())

    def roster_size(self, tx) -> int:
        return tx.execute(sa.select(sa.func.count()).select_from(S.unit).where(S.unit.c.on_roster)).scalar_one()

    def units(self, tx) -> dict[str, dict]:
        return {r["key"]: r for r in _dicts(tx.execute(sa.select(S.unit)))}

    def ensure_units(self, tx, rows: list[dict]) -> None:
        """Units known only by their name (no roster entry): added once, never overwritten."""
        if rows:
            tx.execute(_insert_ignore(tx, S.unit, ["key"]), rows)

    def import_roster(self, tx, units: list[dict], aliases: dict[str, str]) -> int:
        """Upsert roster entries and their names; unit-years recorded under a name that now
        belongs to an entry move to it. Returns how many unit-years moved."""
        for row in units:
            row = dict(row, on_roster=True)
            done = tx.execute(S.unit.update().where(S.unit.c.key == row["key"]).values(**row)).rowcount
            if not done:
                tx.execute(S.unit.insert(), row)
        tx.execute(S.alias.delete().where(S.alias.c.unit_key.in_([u["key"] for u in units])))
        tx.execute(S.alias.delete().where(S.alias.c.name_norm.in_(list(aliases))))
        if aliases:
            tx.execute(S.alias.insert(), [dict(name_norm=n, unit_key=k) for n, k in aliases.items()])
        moved = 0
        name_keys = [n for n, k in aliases.items() if n != k]
        for uy in _dicts(tx.execute(sa.select(S.unit_year).where(S.unit_year.c.unit_key.in_(name_keys)))):
            target = aliases[uy["unit_key"]]
            other = tx.execute(sa.select(S.unit_year.c.id).where(
                S.unit_year.c.unit_key == target, S.unit_year.c.year == uy["year"])).scalar()
            if other is None:
                tx.execute(S.unit_year.update().where(S.unit_year.c.id == uy["id"]).values(unit_key=target))
            else:   # both exist: the name's versions, 说明 and actions join the entry's unit-year
                for t in (S.version, S.explanation, S.action):
                    tx.execute(t.update().where(t.c.unit_year_id == uy["id"]).values(unit_year_id=other))
                tx.execute(S.unit_year.delete().where(S.unit_year.c.id == uy["id"]))
            moved += 1
        if name_keys:
            tx.execute(S.unit.delete().where(S.unit.c.key.in_(name_keys), S.unit.c.on_roster.is_(False)))
        return moved

    # ------------------------------------------------------------------ unit-years and versions
    def unit_year_ids(self, tx, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        pairs = sorted(set(pairs))
        if pairs:
            tx.execute(_insert_ignore(tx, S.unit_year, ["unit_key", "year"]),
                       [dict(unit_key=k, year=y) for k, y in pairs])
        out = {}
        for part in _parts(pairs):
            q = sa.select(S.unit_year.c.unit_key, S.unit_year.c.year, S.unit_year.c.id).where(
                sa.tuple_(S.unit_year.c.unit_key, S.unit_year.c.year).in_(part))
            out.update({(k, y): i for k, y, i in tx.execute(q)})
        return out

    def find_unit_years(self, tx, pairs: Iterable[tuple[str, str]]) -> list[dict]:
        out = []
        for part in _parts(sorted(set(pairs))):
            out += _dicts(tx.execute(sa.select(S.unit_year).where(
                sa.tuple_(S.unit_year.c.unit_key, S.unit_year.c.year).in_(part))))
        return out

    def unit_years_by_id(self, tx, ids: Iterable[int]) -> list[dict]:
        out = []
        for part in _parts(sorted(set(ids))):
            out += _dicts(tx.execute(sa.select(S.unit_year).where(S.unit_year.c.id.in_(part))))
        return out

    def unit_years(self, tx, year: str | None = None, unit_key: str | None = None) -> list[dict]:
        q = sa.select(S.unit_year).order_by(S.unit_year.c.year, S.unit_year.c.unit_key)
        if year is not None:
            q = q.where(S.unit_year.c.year == str(year))
        if unit_key is not None:
            q = q.where(S.unit_year.c.unit_key == unit_key)
        return _dicts(tx.execute(q))

    VERSION_HEAD = [c for c in S.version.c if c.name not in ("values_csv", "figures")]

    def versions(self, tx, uy_ids: Iterable[int], *, figures: bool = False) -> list[dict]:
        """Versions of these unit-years in the order received (values_csv left out)."""
        cols = self.VERSION_HEAD + ([S.version.c.figures] if figures else [])
        out = []
        for part in _parts(sorted(set(uy_ids))):
            out += _dicts(tx.execute(sa.select(*cols).where(S.version.c.unit_year_id.in_(part))))
        out.sort(key=lambda v: (v["unit_year_id"], _ts(v["received_at"]), v["id"]))
        return out

    def version_values(self, tx, version_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """id → (figures JSON, values_csv)."""
        out = {}
        for part in _parts(sorted(set(version_ids))):
            q = sa.select(S.version.c.id, S.version.c.figures, S.version.c.values_csv).where(
                S.version.c.id.in_(part))
            out.update({i: (f, v) for i, f, v in tx.execute(q)})
        return out

    def add_versions(self, tx, rows: list[dict]) -> dict[tuple[int, str, str], int]:
        """Insert versions not yet known (same unit-year, content and sheet: the same version);
        returns (unit_year_id, sha256, sheet) → id for the ones inserted."""
        if not rows:
            return {}
        stmt = _insert_ignore(tx, S.version, ["unit_year_id", "sha256", "sheet"]).returning(
            S.version.c.id, S.version.c.unit_year_id, S.version.c.sha256, S.version.c.sheet)
        return {(u, s, sh): i for i, u, s, sh in tx.execute(stmt, rows)}

    def existing_versions(self, tx, uy_ids: Iterable[int]) -> set[tuple[int, str, str]]:
        out = set()
        for part in _parts(sorted(set(uy_ids))):
            q = sa.select(S.version.c.unit_year_id, S.version.c.sha256, S.version.c.sheet).where(
                S.version.c.unit_year_id.in_(part))
            out.update(tuple(r) for r in tx.execute(q))
        return out

    def add_findings(self, tx, rows: list[dict]) -> None:
        if rows:
            tx.execute(S.finding.insert(), rows)

    def findings(self, tx, version_ids: Iterable[int]) -> list[dict]:
        return _rows_in(tx, S.finding, S.finding.c.version_id, version_ids)

    # ------------------------------------------------------------------ 说明 and reviewer actions
    def add_explanations(self, tx, rows: list[dict]) -> None:
        if rows:
            tx.execute(S.explanation.insert(), rows)

    def explanations(self, tx, uy_ids: Iterable[int]) -> list[dict]:
        return _rows_in(tx, S.explanation, S.explanation.c.unit_year_id, uy_ids)

    def reject_explanations(self, tx, uy_id: int, ids: list[int], action_id: int) -> None:
        if ids:
            tx.execute(S.explanation.update().where(S.explanation.c.unit_year_id == uy_id,
                                                    S.explanation.c.id.in_(ids))
                       .values(rejected_by=action_id))

    def add_action(self, tx, **row) -> int:
        row.setdefault("at", now())
        return tx.execute(S.action.insert().returning(S.action.c.id), row).scalar_one()

    def actions(self, tx, uy_ids: Iterable[int]) -> list[dict]:
        return _rows_in(tx, S.action, S.action.c.unit_year_id, uy_ids)

    def add_unmatched(self, tx, rows: list[dict]) -> None:
        if rows:
            tx.execute(S.unmatched.insert(), rows)

    def unmatched(self, tx, run_id: int | None = None) -> list[dict]:
        q = sa.select(S.unmatched).order_by(S.unmatched.c.id)
        if run_id is not None:
            q = q.where(S.unmatched.c.run_id == run_id)
        return _dicts(tx.execute(q))


# The database's own words are English and name its internals: what they mean, in Chinese. SQLite
# names its errors (sqlite3's sqlite_errorname); PostgreSQL's connection errors come as text only.
_SQLITE = {
    "SQLITE_NOTADB": "该文件不是 SQLite 数据库（已损坏，或是别的文件改成了这个名字）",
    "SQLITE_CORRUPT": "数据库文件已损坏",
    "SQLITE_BUSY": f"收集库正被另一个程序占用，等待 {BUSY_S} 秒后仍未释放",
    "SQLITE_LOCKED": f"收集库正被另一个程序占用，等待 {BUSY_S} 秒后仍未释放",
    "SQLITE_CANTOPEN": "无法创建或打开数据库文件（文件夹不存在或没有写入权限）",
    "SQLITE_READONLY": "数据库文件只读，无法写入",
    "SQLITE_FULL": "磁盘已满",
}
_SERVER = (
    ("password authentication failed", "数据库服务器拒绝了用户名或密码"),
    ('database "', "数据库服务器上没有这个数据库"),   # FATAL: database "x" does not exist
    ('role "', "数据库服务器上没有这个用户"),
    ("connection", "无法连接数据库服务器（地址或端口不对，或服务器未启动）"),
)


def _reason(exc: Exception) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    if isinstance(exc, OSError):   # the folder beside OUT that holds the SQLite file
        return f"无法建立它所在的文件夹（{os_reason(exc)}）"
    if isinstance(exc, sa.exc.NoSuchModuleError):
        return "不认识这种数据库地址：收集库是一个 SQLite 文件的路径，或 postgresql+psycopg://用户:密码@服务器/库名"
    orig = getattr(exc, "orig", None) or exc
    name = getattr(orig, "sqlite_errorname", "")
    if name:
        primary = "_".join(name.split("_")[:2])   # SQLITE_BUSY_TIMEOUT → SQLITE_BUSY
        return _SQLITE.get(primary, f"SQLite 报错（{name}），请把这条信息交技术人员排查")
    text = str(orig).lower()
    for words, reason in _SERVER:
        if words in text:
            return reason
    return f"数据库报错（{type(orig).__name__}），请把这条信息交技术人员排查"


def _rows_in(tx, table, column, ids: Iterable[int]) -> list[dict]:
    """Rows of table whose column is one of ids, in the order written (id), a bounded IN at a time."""
    out = []
    for part in _parts(sorted(set(ids))):
        out += _dicts(tx.execute(sa.select(table).where(column.in_(part)).order_by(table.c.id)))
    return out


def _sqlite_begin(conn) -> None:
    """Writes take the lock at BEGIN (concurrent runs queue instead of failing mid-way); reads
    (Store.reading) do not."""
    read = conn.get_execution_options().get("selfeval_read")
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def _sqlite_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None     # the begin event issues BEGIN IMMEDIATE itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _insert_ignore(tx, table: sa.Table, keys: list[str]):
    """INSERT … ON CONFLICT (keys) DO NOTHING on either engine."""
    if tx.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=keys)


def _parts(items: list, size: int = 500) -> Iterator[list]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _dicts(result) -> list[dict]:
    return [dict(r._mapping) for r in result]


def _ts(t: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back: they were written in UTC."""
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
