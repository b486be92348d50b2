"""Retention on the web desk: uploads never submitted (checked or rejected) older than
--keep-drafts days are deleted at start and while the desk runs; a stored file goes with them only
when no version, receipt or other upload refers to it (its drawn sheets and marked copy too)."""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import openpyxl
import sqlalchemy as sa

from collect_support import store_url  # noqa: F401  (a store on each engine)
from web_support import Serve, Server, client, csrf_of, draft_id, make_store, seed_form, upload

from pipeline import collect as C
from pipeline.store import desk as D
from pipeline.store import schema
from pipeline.web.service import Desk

NOTE = "经核实，该数据口径与报告一致，差异原因已向主管部门说明。"


def _age(st, ids, days):
    with st.transaction() as tx:
        for i in ids:
            D.update_draft(tx, i, uploaded_at=C.now() - dt.timedelta(days=days))


def _drafts(st) -> dict[int, dict]:
    with st.transaction() as tx:
        return {r["id"]: r for r in (D.get_draft(tx, i) for i in
                                     tx.execute(sa.select(D.draft.c.id)).scalars())}


def _blobs(st) -> set[str]:
    with st.transaction() as tx:
        return set(tx.execute(sa.select(schema.blob.c.sha256)).scalars())


def _grids(st, sha) -> int:
    with st.transaction() as tx:
        return tx.execute(sa.select(sa.func.count()).select_from(D.sheet_grid)
                          .where(D.sheet_grid.c.sha256 == sha)).scalar_one()


def _other_form(tmp: Path) -> Path:
    """The seed form with one figure changed: other bytes, a form that reads."""
    wb = openpyxl.load_workbook(seed_form())
    ws = wb.worksheets[0]
    ws["C15"] = 255.19
    path = tmp / "另一份.xlsx"
    wb.save(path)
    return path


def test_old_uploads_and_the_files_only_they_used_are_pruned(tmp_path):
    url = make_store(tmp_path)
    garbage = tmp_path / "坏文件.xlsx"
    garbage.write_bytes(b"PK\x03\x04 not a workbook " * 40)
    garbage2 = tmp_path / "坏文件2.xlsx"
    garbage2.write_bytes(b"also not a workbook " * 40)
    other = _other_form(tmp_path)
    with Server(url, tmp_path / "work", memory_mb=512, timeout=20, keep_drafts=0) as srv:
        st = srv.desk.store
        u1 = client(srv, "unit1")
        old_seed = draft_id(upload(u1, seed_form()))           # old, checked; its file is a version's
        sub = draft_id(upload(u1, seed_form()))                # submitted: stays, whatever its age
        page = u1.get(f"/unit/draft/{sub}")
        keys = re.findall(r'name="note:([^"]+)"', page.text)
        r = u1.post(f"/unit/draft/{sub}", data={"csrf": csrf_of(page.text), "do": "submit",
                                               **{f"note:{k}": NOTE for k in keys}})
        assert r.status_code == 303
        bad = draft_id(upload(u1, garbage))                    # old, rejected: file used by nobody else
        bad_old = draft_id(upload(u1, garbage2))               # old, rejected; the same file uploaded
        bad_new = draft_id(upload(client(srv, "unit2"), garbage2))   # lately by another unit
        lone = draft_id(upload(u1, other))                     # old, checked, drawn and marked: all goes
        assert u1.get(f"/unit/draft/{lone}/marked.xlsx").status_code == 200
        d = _drafts(st)
        assert [d[i]["status"] for i in (old_seed, sub, bad, bad_old, bad_new, lone)] == \
            ["checked", "submitted", "rejected", "rejected", "rejected", "checked"]
        sha = {k: d[i]["sha256"] for k, i in [("seed", old_seed), ("bad", bad), ("bad2", bad_old), ("lone", lone)]}
        marked = srv.desk.work / "marked" / sha["lone"][:2] / f"{sha['lone']}.xlsx"
        assert marked.exists() and _grids(st, sha["lone"]) == 1
        _age(st, [old_seed, sub, bad, bad_old, lone], 31)
        _age(st, [bad_new], 29)

        assert srv.desk.prune(30) == (4, 2)

        d = _drafts(st)
        assert set(d) == {sub, bad_new}
        assert _blobs(st) == {sha["seed"], sha["bad2"]}
        files = st.files_dir
        assert (files / sha["seed"][:2] / sha["seed"]).exists()
        assert (files / sha["bad2"][:2] / sha["bad2"]).exists()
        assert not (files / sha["bad"][:2] / sha["bad"]).exists()
        assert not (files / sha["lone"][:2] / sha["lone"]).exists()
        assert not list(files.rglob("*.pruned"))
        assert not marked.exists() and _grids(st, sha["lone"]) == 0
        assert _grids(st, sha["seed"]) == 1
        # the unit's pages: a pruned upload is gone like any page that does not exist
        for i in (old_seed, bad, lone):
            r = u1.get(f"/unit/draft/{i}")
            assert r.status_code == 404 and "您要的页面不存在" in r.text
        assert u1.get(f"/unit/draft/{sub}").status_code == 200
        uy = C.find(st, "001", "2021")
        assert u1.get(f"/unit/version/{uy.current['id']}/file").content == seed_form().read_bytes()
        with st.transaction() as tx:
            (row,) = [a for a in D.audit_rows(tx, 100) if a["action"] == "prune"]
        assert (row["who"], row["ok"], row["detail"]) == ("selfeval serve", True, "超过 30 天未上报的自查 4 份，文件 2 个")
        assert srv.desk.prune(30) == (0, 0)
        # the same content uploaded again later is stored anew
        again = draft_id(upload(u1, garbage))
        assert sha["bad"] in _blobs(st) and (files / sha["bad"][:2] / sha["bad"]).exists()
        assert _drafts(st)[again]["status"] == "rejected"
        rv = client(srv, "rev")
        log = rv.get("/review/audit")
        assert log.status_code == 200 and "清理过期自查" in log.text


def test_pruned_at_start_and_while_running(tmp_path):
    url = make_store(tmp_path)
    work = tmp_path / "work"
    with Server(url, work, memory_mb=512, timeout=20, keep_drafts=0) as srv:
        u1 = client(srv, "unit1")
        first = draft_id(upload(u1, seed_form()))
        _age(srv.desk.store, [first], 8)
    # a desk keeping 7 days prunes at its start
    with Server(url, work, memory_mb=512, timeout=20, keep_drafts=7, prune_every=0.3) as srv:
        st = srv.desk.store
        assert first not in _drafts(st)
        u1 = client(srv, "unit1")
        later = draft_id(upload(u1, seed_form()))
        kept = draft_id(upload(u1, seed_form()))
        _age(st, [later], 7.01)
        _age(st, [kept], 6.99)
        deadline = time.monotonic() + 20
        while later in _drafts(st) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert set(_drafts(st)) == {kept}        # and while it runs
        assert _blobs(st) == {_drafts(st)[kept]["sha256"]}


def test_keep_drafts_on_the_command_line(tmp_path):
    url = make_store(tmp_path)
    st = C.open_store(url)
    desk = Desk(st, tmp_path / "work0", timeout=20)
    with st.transaction() as tx:
        acc = D.get_account(tx, name="unit1")
    ids = [desk.check(acc, seed_form(), "自评表.xlsx") for _ in range(2)]
    _age(st, [ids[0]], 3)
    _age(st, [ids[1]], 1)
    st.close()
    with Serve(url, tmp_path / "work", "--keep-drafts", "2"):
        pass
    st = C.open_store(url)
    assert set(_drafts(st)) == {ids[1]}
    with Serve(url, tmp_path / "work", "--keep-drafts", "0"):    # 0: nothing is pruned
        pass
    _age(st, [ids[1]], 400)
    with Serve(url, tmp_path / "work", "--keep-drafts", "0"):
        pass
    assert set(_drafts(st)) == {ids[1]}
    st.close()


def test_prune_on_both_engines(store_url, tmp_path):
    """On PostgreSQL the bytes are in table blob: the row goes, and with it the file."""
    url = make_store(tmp_path, store_url)
    st = C.open_store(url)
    desk = Desk(st, tmp_path / "work", timeout=20)
    with st.transaction() as tx:
        acc = D.get_account(tx, name="unit1")
    garbage = tmp_path / "坏文件.xlsx"
    garbage.write_bytes(b"not a workbook " * 40)
    old = desk.check(acc, garbage, "坏文件.xlsx")
    keep = desk.check(acc, seed_form(), "自评表.xlsx")
    both_old = desk.check(acc, seed_form(), "自评表.xlsx")
    _age(st, [old, both_old], 40)
    sha_bad = _drafts(st)[old]["sha256"]
    assert desk.prune(30) == (2, 1)
    assert set(_drafts(st)) == {keep}
    assert _blobs(st) == {_drafts(st)[keep]["sha256"]}
    assert desk.blob_bytes(sha_bad) is None
    assert desk.blob_bytes(_drafts(st)[keep]["sha256"]) == seed_form().read_bytes()
    st.close()
