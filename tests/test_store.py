"""The store on both engines (a real SQLite file, a real PostgreSQL database): migrations on
open, content-addressed files, roster re-linking, a run's recording and its removal when the run
fails, and a re-run that adds nothing."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from collect_support import make_form, save, store_url  # noqa: F401  (store_url is a fixture)

from pipeline import collect as C
from pipeline.check.ruleset import load_pack
from pipeline.run import run
from pipeline.store import HEAD, Store


def test_open_migrates_once_and_keeps_files_by_content(tmp_path: Path, store_url: str):
    st = Store.open(store_url)
    st2 = Store.open(store_url)          # already at head: nothing to do
    with st.engine.connect() as c:
        assert c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        if st.sqlite:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    f = tmp_path / "a.xlsx"
    f.write_bytes(b"PK\x03\x04 some bytes")
    sha = hashlib.sha256(f.read_bytes()).hexdigest()
    with st.transaction() as tx:
        assert st.missing_blobs(tx, [sha]) == {sha}
        st.add_blobs(tx, [(sha, f.stat().st_size, f)])
    with st2.transaction() as tx:
        assert st2.missing_blobs(tx, [sha]) == set()
        st2.add_blobs(tx, [(sha, f.stat().st_size, f)])     # the same content again: one copy
        assert st2.read_blob(tx, sha) == f.read_bytes()
    if st.sqlite:
        assert st.blob_path(sha).read_bytes() == f.read_bytes()
    # a file replaced after it was read (and hashed): not stored under the digest it had
    g = tmp_path / "b.xlsx"
    g.write_bytes(b"PK\x03\x04 first bytes")
    old = hashlib.sha256(g.read_bytes()).hexdigest()
    g.write_bytes(b"PK\x03\x04 other bytes")
    with st.transaction() as tx:
        assert st.add_blobs(tx, [(old, 20, g)]) == [old]
        assert st.missing_blobs(tx, [old]) == {old} and st.read_blob(tx, old) is None
    st.close()
    st2.close()


def test_head_is_the_scripts_and_an_older_store_is_brought_to_it(tmp_path: Path, store_url: str):
    """HEAD (which an open compares with the store's alembic_version row, without Alembic) is
    the migration scripts' head; a store left at 0001 gets the web desk's tables on open."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pipeline.store.core import MIGRATIONS, REVISIONS, to_url

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    assert scripts.get_current_head() == HEAD
    assert tuple(r.revision for r in reversed(list(scripts.walk_revisions()))) == REVISIONS
    if "://" not in store_url:
        Path(store_url).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(to_url(store_url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.connect() as c:
        assert not sa.inspect(c).has_table("account")
    engine.dispose()
    st = Store.open(store_url)
    with st.engine.connect() as c:
        assert c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
        assert sa.inspect(c).has_table("account")
    st.close()


def test_opening_a_store_at_head_loads_no_alembic(tmp_path: Path):
    import subprocess
    import sys

    db = tmp_path / "c" / "selfeval.db"
    Store.open(str(db)).close()
    code = ("import sys; from pipeline.store import Store; s = Store.open(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.strip() == "[]"


def _record(st: Store, inbox: Path, out: Path) -> C.Recorded:
    rec = C.Recorder(st, inbox, out, pack=load_pack())
    run(inbox, out, jobs=1, returns=False, on_chunk=rec)
    return rec.finish()


def test_recording_rerun_roster_and_failed_runs(tmp_path: Path, store_url: str):
    st = Store.open(store_url)
    inbox = tmp_path / "in"
    save(make_form("市甲局", seed=1), inbox / "甲.xlsx")
    save(make_form("市乙 局", seed=2, plants=["basic"]), inbox / "乙.xlsx")
    done = _record(st, inbox, tmp_path / "out")
    assert (done.versions, done.unchanged, done.files, done.unmatched) == (2, 0, 2, [])
    again = _record(st, inbox, tmp_path / "out")
    assert (again.versions, again.unchanged, again.files) == (0, 2, 0)
    view = {uy.key: uy for uy in C.collection(st, "2021")}
    assert set(view) == {"市甲局", "市乙局"}          # without a roster: the normalised name
    assert view["市乙局"].state == C.HAS_ERRORS and view["市甲局"].state == C.EXPLAINED

    # what a run asks before it writes a chunk: unit keys and 第 N 版, last year's figures
    first = view["市甲局"].versions[0]
    book = C.VersionBook(st)
    assert book.key("市 甲局") == "市甲局"
    assert book.note("市甲局", "2021", first["path"], first["sheet"], first["sha256"]) is None
    assert book.note("市甲局", "2021", "甲-2.xlsx", first["sheet"], "f" * 64) == "第 2 版，替代 甲.xlsx"
    with st.transaction() as tx:
        prev = C.previous_year(st, tx, [("市甲局", "2022"), ("市无此局", "2022")])
    figures, year, approved = prev[("市甲局", "2022")]
    assert year == "2021" and not approved and "income.total" in figures and len(prev) == 1

    # a roster: names map to codes; the unit-years recorded by name move to them
    roster = tmp_path / "名单.csv"
    roster.write_text("单位编码,单位名称,曾用名/别名\nA1,市甲局,\nB2,市乙局（新）,市乙局\n", encoding="utf-8-sig")
    r, moved = C.import_roster(st, roster)
    assert moved == 2 and not r.problems
    view = {uy.key: uy for uy in C.collection(st, "2021")}
    assert set(view) == {"A1", "B2"} and view["B2"].name == "市乙局（新）" and len(view["B2"].versions) == 1

    # a name that is on no roster entry: reported, recorded under its own name, never guessed
    save(make_form("市丙局", seed=3), inbox / "丙.xlsx")
    save(make_form("市甲局", seed=5), inbox / "甲-改.xlsx")      # 市甲局's second version
    rec = C.Recorder(st, inbox, tmp_path / "out", pack=load_pack())
    rep = run(inbox, tmp_path / "out", jobs=1, returns=False, on_chunk=rec)
    seen = rep.collection                    # what summary.xlsx asked once every chunk was in
    assert {p for p, _ in seen.superseded} == {"甲.xlsx"}
    assert {p for p, _ in seen.current} == {"甲-改.xlsx", "乙.xlsx", "丙.xlsx"}
    assert [(f.severity, f.message) for f in rep.findings if f.rule == "DUP-001"] == [
        ("info", "第 2 版，替代 甲.xlsx")]
    done = rec.finish()
    assert done.unmatched == [("丙.xlsx", "市丙局", "2021")] and done.versions == 2
    with st.transaction() as tx:
        assert [u["name"] for u in st.unmatched(tx)] == ["市丙局"]

    # a run that fails leaves no versions behind
    save(make_form("市丁局", seed=4), inbox / "丁.xlsx")
    rec = C.Recorder(st, inbox, tmp_path / "out", pack=load_pack())
    run(inbox, tmp_path / "out", jobs=1, returns=False, on_chunk=rec)
    rec.fail()
    assert "市丁局" not in {uy.key for uy in C.collection(st, "2021")}
    with st.transaction() as tx:
        assert [r["status"] for r in st.runs(tx)] == ["done", "done", "done", "failed"]
        n = tx.execute(sa.text("SELECT count(*) FROM version")).scalar()
    assert n == 4
    st.close()


def test_status_names_a_run_that_never_finished(tmp_path: Path, store_url: str):
    """A run killed outright cannot take its versions back: `status` says so."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    st = Store.open(store_url)
    inbox = tmp_path / "in"
    save(make_form("市甲局", seed=1), inbox / "甲.xlsx")
    rec = C.Recorder(st, inbox, tmp_path / "out", pack=load_pack())
    run(inbox, tmp_path / "out", jobs=1, returns=False, on_chunk=rec)
    rec._q.put(None)       # the writer stops as at the end of a run, but the run is never closed
    rec._t.join()
    r = CliRunner().invoke(app, ["status", "--store", store_url])
    assert r.exit_code == 0, r.output
    assert f"汇总 #{rec.run_id}" in r.output and "未正常结束或仍在进行" in r.output
    rec.finish()
    r = CliRunner().invoke(app, ["status", "--store", store_url])
    assert "未正常结束" not in r.output
    st.close()


def test_a_store_that_cannot_be_opened_is_said_in_chinese(tmp_path: Path):
    """A run whose store beside OUT is another file, or was upgraded by a newer selfeval, stops
    before writing anything, with the reason in Chinese and no traceback (exit 2)."""
    import sqlite3
    import subprocess
    import sys

    from conftest import build

    inbox = tmp_path / "in"
    inbox.mkdir()
    build(inbox / "a.xlsx", seed=3)
    junk, newer = tmp_path / "junk", tmp_path / "newer"
    junk.mkdir()
    (junk / "selfeval.db").write_bytes(b"not a database at all" * 50)
    newer.mkdir()
    with sqlite3.connect(newer / "selfeval.db") as c:
        c.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        c.execute("INSERT INTO alembic_version VALUES ('0099')")
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [   # (folder of OUT, --store, the store as named, the reason)
        (junk, None, junk / "selfeval.db", "该文件不是 SQLite 数据库（已损坏，或是别的文件改成了这个名字）"),
        (newer, None, newer / "selfeval.db",
         "它已由更新版本的 selfeval 升级（库的版本 0099，本程序只认识到 0002）；请先把本机的 selfeval 升级到同一版本再打开它"),
        (tmp_path / "o3", str(afile / "sub" / "s.db"), afile / "sub" / "s.db",
         "无法建立它所在的文件夹（路径中有一级是文件而不是文件夹）"),
        (tmp_path / "o4", "foo://bar", "foo://bar",
         "不认识这种数据库地址：收集库是一个 SQLite 文件的路径，或 postgresql+psycopg://用户:密码@服务器/库名"),
    ]
    for folder, store, named, reason in cases:
        p = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(inbox), "--out", str(folder / "out"), "-q",
                            *(["--store", store] if store else [])],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "400"})
        said = " ".join((p.stdout + p.stderr).split())
        assert p.returncode == 2 and "Traceback" not in said, said
        assert f"无法打开收集库 {named}：{reason}" in said, said
        assert not (folder / "out" / "summary.xlsx").exists()
