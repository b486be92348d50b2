"""Twenty units uploading at the same moment, against `selfeval serve` in its own process as a
bureau runs it: every upload comes back with its own page and the right findings. And the cause
of the one that once did not: worker starts from several threads at once (service.neutral_main)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading

import pytest

from collect_support import store_url  # noqa: F401  (a store on each engine)
from web_support import ROOT, Serve, add_units, csrf_of, make_store, seed_form

from pipeline.store import desk as D

N = 20
PILLS = r'<span class="pill sev-\w+">[^<]*</span>'


def test_twenty_concurrent_uploads_all_come_back_with_their_findings(tmp_path, store_url):  # noqa: F811
    url = make_store(tmp_path, store_url)
    names = [f"c{i:02d}" for i in range(N)]
    add_units(url, names + ["alone"])
    data = seed_form().read_bytes()
    with Serve(url, tmp_path / "work", "--checks", "2", "--timeout", "60") as srv:
        # the same form checked alone first: what every one of the twenty must show
        alone = srv.client("alone")
        r = alone.post("/unit/upload", data={"csrf": csrf_of(alone.get("/unit").text)},
                       files={"file": ("自评表.xlsx", data, "application/octet-stream")})
        assert r.status_code == 303
        pills = re.findall(PILLS, alone.get(r.headers["location"]).text)
        assert pills[0] == '<span class="pill sev-error">逻辑性错误 0</span>' and len(pills) == 3
        clients = [srv.client(n) for n in names]
        tokens = [csrf_of(c.get("/unit").text) for c in clients]
        answers: list = [None] * N
        start = threading.Barrier(N)

        def one(i):
            start.wait()
            try:
                r = clients[i].post("/unit/upload", data={"csrf": tokens[i]},
                                    files={"file": (f"自评表{i}.xlsx", data, "application/octet-stream")})
                page = clients[i].get(r.headers["location"]) if r.status_code == 303 else None
                answers[i] = (r.status_code, r.headers.get("location", ""), page)
            except Exception as exc:      # recorded, so that the assertion names it
                answers[i] = (repr(exc), "", None)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        for c in clients:
            c.close()
    assert [a[0] for a in answers] == [303] * N, srv.log
    ids = [int(re.fullmatch(r"/unit/draft/(\d+)", loc).group(1)) for _, loc, _ in answers]
    assert len(set(ids)) == N
    for i, (_, _, page) in enumerate(answers):
        assert page.status_code == 200
        html = page.text
        assert f"自查结果：自评表{i}.xlsx" in html          # its own page, not another unit's
        assert "文件无法读取" not in html, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))[:600]
        assert re.findall(PILLS, html)[:3] == pills
        assert "NAR-001" in html and "收入合计255.12万元" in html
    from pipeline import collect as C

    st = C.open_store(url)
    with st.transaction() as tx:
        drafts = [D.get_draft(tx, i) for i in ids]
    st.close()
    assert {d["status"] for d in drafts} == {"checked"}
    results = [json.loads(d["result"]) for d in drafts]
    keys = {tuple(sorted(f["key"] for f in r["findings"])) for r in results}
    assert len(keys) == 1 and any(k.startswith("NAR-001-") for k in next(iter(keys)))
    assert "Traceback" not in srv.log and "Error" not in srv.log, srv.log


# worker starts from many threads at once, in a process whose main module cannot run by path
THREADS = """
import sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from . import helper  # noqa: F401   a relative import, as pipeline/cli.py has: not runnable by path

if __name__ == "__main__":
    import collections, threading
    import multiprocessing.spawn as spawn
    from pipeline.read.pool import read_many
    from pipeline.web.service import neutral_main
    from web_support import seed_form

    if {neutral}:
        neutral_main()
        prep = spawn.get_preparation_data("x")
        print("main for workers:", prep.get("init_main_from_name"), prep.get("init_main_from_path"))
    # the race's window held open: each start pauses just before it reads __main__ (the GIL
    # goes to the other threads there, as it may at any moment on a loaded server)
    import time
    prepare = spawn.get_preparation_data
    def paused(name):
        time.sleep(0.005)
        return prepare(name)
    spawn.get_preparation_data = paused
    seen = collections.Counter()
    def go():
        for _ in range(4):
            r = read_many([(seed_form(), "a.xlsx")], jobs=1, timeout=60)[0]
            seen[(r.status, r.code)] += 1
    ts = [threading.Thread(target=go) for _ in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print(dict(seen))
"""


@pytest.mark.parametrize("neutral", [False, True])
def test_worker_starts_from_many_threads_at_once(tmp_path, neutral):
    """The cause of the upload that once came back 读取进程意外结束（退出码 1）: the pool hides
    __main__ around each worker start and restores it after; starts from two threads interleaved
    so that a worker started with __file__ back and __spec__ None, ran the main file by path
    (`python -m pipeline.cli serve`: pipeline/cli.py, whose relative imports fail there) and exited.
    Worker starts now take turns (read/pool.py), and the desk makes its main module neutral before
    any start (service.neutral_main): a worker has no main module to import at all. Either way,
    32 reads from 8 threads at once in such a process are all read, with the race's window held
    open (before the pool's fix, this lost most of them)."""
    pkg = tmp_path / "mainpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("")
    (pkg / "go.py").write_text(textwrap.dedent(THREADS.format(root=str(ROOT), tests=str(ROOT / "tests"),
                                                              neutral=neutral)))
    out = subprocess.run([sys.executable, "-m", "mainpkg.go"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "{('accepted', ''): 32}", out.stdout + out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    if neutral:
        assert lines[0] == "main for workers: None None"
