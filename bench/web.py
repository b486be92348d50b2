"""Latency of the web desk's self-check: `selfeval serve` in its own process on a fresh SQLite
store, a normal form (the seed unit's) uploaded N times one after another (upload → findings page,
as the browser sees it), then C uploads at once from C signed-in units. Writes
bench/results/<time>-web.json.

    python bench/web.py [--n 40] [--concurrent 20] [--checks 2]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from web_support import PASSWORD, free_port, make_store, seed_form  # noqa: E402

from pipeline.store import desk as D  # noqa: E402
from pipeline.web.security import hash_password  # noqa: E402


def signed_in(base: str, name: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=120)
    page = c.get("/login")
    tok = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"csrf": tok, "name": name, "password": PASSWORD})
    assert r.status_code == 303, r.text[:300]
    return c


FAILURES: list[str] = []     # what each failed upload answered (kept in the result file)


def _text(html: str, n: int) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))[:n]


def self_check(c: httpx.Client, data: bytes) -> tuple[float, int]:
    """Seconds from sending the file to having the findings page, and its status (0: no answer)."""
    t = time.perf_counter()
    try:
        tok = re.search(r'name="csrf" value="([^"]+)"', c.get("/unit").text).group(1)
        t = time.perf_counter()
        r = c.post("/unit/upload", data={"csrf": tok}, files={"file": ("自评表.xlsx", data)})
        if r.status_code != 303:
            FAILURES.append(f"upload answered {r.status_code}: {_text(r.text, 300)}")
            return time.perf_counter() - t, r.status_code
        page = c.get(r.headers["location"])
    except Exception as exc:          # a connection error is a failed upload too, not a crash
        FAILURES.append(f"no answer: {exc!r}")
        return time.perf_counter() - t, 0
    ok = page.status_code == 200 and "NAR-001" in page.text and "文件无法读取" not in page.text
    if not ok:
        FAILURES.append(f"findings page {page.status_code}: {_text(page.text, 600)}")
    return time.perf_counter() - t, 200 if ok else 500


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--checks", type=int, default=2, help="selfeval serve --checks")
    args = ap.parse_args()
    load_start = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="selfeval-bench-web-"))
    url = make_store(tmp)
    from pipeline import collect as C

    st = C.open_store(url)
    h = hash_password(PASSWORD)
    with st.transaction() as tx:
        for i in range(args.concurrent + 1):
            D.add_account(tx, name=f"bench{i:02d}", role="unit", unit_key="001", password=h)
        for i in range(args.n // 25 + 1):      # a unit account may upload 30 times an hour
            D.add_account(tx, name=f"seq{i:02d}", role="unit", unit_key="001", password=h)
    st.close()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--store", url, "--port", str(port),
                               "--checks", str(args.checks)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=open(tmp / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        data = seed_form().read_bytes()
        # sequential: the first check of the process apart (imports, rule set-up), then N
        seqs = [signed_in(base, f"seq{i:02d}") for i in range(args.n // 25 + 1)]
        first, _ = self_check(seqs[0], data)
        seq, seq_ok = [], 0
        for i in range(args.n):
            s, code = self_check(seqs[(i + 1) // 25], data)
            seq_ok += code == 200
            seq.append(s)
        # concurrent: every unit at once
        clients = [signed_in(base, f"bench{i:02d}") for i in range(1, args.concurrent + 1)]
        results: list = [None] * len(clients)
        gate = threading.Barrier(len(clients))

        def one(i):
            gate.wait()
            results[i] = self_check(clients[i], data)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        conc = [s for s, _ in results]
        codes = [code for _, code in results]
    finally:
        server.terminate()
        server.wait(timeout=20)
    out = {
        "when": dt.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
        "form": seed_form().name, "checks": args.checks,
        "load_avg": {"start": [round(x, 2) for x in load_start],
                     "end": [round(x, 2) for x in os.getloadavg()]},
        "first_s": round(first, 3),
        "sequential": {"n": len(seq), "ok": seq_ok, "p50_s": round(statistics.median(seq), 3), "p95_s": round(pct(seq, 95), 3),
                       "max_s": round(max(seq), 3)},
        "concurrent": {"n": len(conc), "ok": codes.count(200), "wall_s": round(wall, 3),
                       "p50_s": round(statistics.median(conc), 3), "p95_s": round(pct(conc, 95), 3),
                       "max_s": round(max(conc), 3)},
    }
    out["failures"] = FAILURES
    out["server_log"] = (tmp / "server.log").read_text()[-2000:]
    res = ROOT / "bench" / "results" / f"{dt.datetime.now():%Y-%m-%dT%H%M%S}-web.json"
    res.parent.mkdir(exist_ok=True)
    res.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"written {res.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
