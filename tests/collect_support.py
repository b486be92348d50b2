"""Helpers for the collection's tests: stores on both engines (a real SQLite file and a real
PostgreSQL server), forms of a given unit and year built with formkit, the CLI as a subprocess,
and a unit's returned copy filled in as the unit would (openpyxl)."""
from __future__ import annotations

import copy
import os
import random
import shutil
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from formkit import formgen as g  # noqa: E402
from formkit import formwrite as fw  # noqa: E402
from formkit.formplant import plant  # noqa: E402

PG_ENV = "SELFEVAL_TEST_PG"
_PG_DIR = Path("/tmp/selfeval-test-pg")
_PG_PORT = 54331


# ---------------------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _as_postgres(args: list[str]) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def pg_server_url() -> str | None:
    """The test server: $SELFEVAL_TEST_PG (.ci/run starts one), else a throwaway cluster started
    here when the PostgreSQL binaries are installed; None when neither."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    bindir = _pg_bin()
    if bindir is None:
        return None
    data = _PG_DIR / "data"
    if not (data / "PG_VERSION").exists():
        _PG_DIR.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(_PG_DIR, "postgres")
        r = _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--locale=C.UTF-8"])
        if r.returncode:
            return None
    st = _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "status"])
    if st.returncode:
        r = _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(_PG_DIR / "log"), "-w", "-o",
                          f"-p {_PG_PORT} -k {_PG_DIR} -c listen_addresses=''", "start"])
        if r.returncode:
            return None
    url = f"postgresql+psycopg://postgres@/postgres?host={_PG_DIR}&port={_PG_PORT}"
    os.environ[PG_ENV] = url
    return url


def fresh_pg_database() -> tuple[str, callable]:
    """A new empty database on the test server: its URL and a function that drops it."""
    import sqlalchemy as sa

    server = pg_server_url()
    if server is None:
        pytest.skip(f"PostgreSQL: {PG_ENV} is not set and no PostgreSQL binaries (pg_ctl) are installed")
    name = "selfeval_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(server).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A store on each engine: a real SQLite file, a real PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "collection" / "selfeval.db")
        return
    url, drop = fresh_pg_database()
    try:
        yield url
    finally:
        drop()


# ---------------------------------------------------------------------------- forms
def make_form(unit: str, year: int = 2021, *, seed: int = 1, subs: int = 2, plants=(),
              tweak=None) -> g.Form:
    rng = random.Random(seed)
    form = g.random_form(rng, unit, year=year, subs=subs)
    form.drift = g.Drift()
    for kind in plants:
        plant(form, kind, rng)
    if tweak:
        tweak(form)
    return form


def save(form: g.Form, path: Path, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fw.save_xlsxwriter(g.layout(form, random.Random(seed + 1)), path)
    return path


def next_year(form: g.Form, *, carry_matches: bool = True) -> g.Form:
    """The same unit's form a year later: this year's 上年结转 = last year's 累计结余 per org
    (income and 累计结余 follow), other amounts as they were."""
    nf = copy.deepcopy(form)
    nf.year = form.year + 1
    inc, exp = nf.amounts["income"], nf.amounts["expenditure"]
    for i in range(len(nf.orgs)):
        delta = exp["surplus_cumulative"][i] - inc["carryover"][i] + (Decimal(0) if carry_matches else Decimal(7))
        inc["carryover"][i] += delta
        inc["total"][i] += delta
        exp["surplus_cumulative"][i] += delta
    return nf


def fill_return(src: Path, dst: Path, notes: dict[str, str], fixes: dict[str, object] | None = None) -> Path:
    """The unit's answer: its returned copy with 说明 written beside findings (by rule) and cells
    of its form corrected (A1 → value), saved as a new file."""
    from openpyxl import load_workbook

    wb = load_workbook(src)
    ws = wb["问题清单"]
    head_row = next(r for r in range(1, 13) if "说明（单位填写）" in [c.value for c in ws[r]])  # under its heading
    head = [c.value for c in ws[head_row]]
    col_rule, col_note = head.index("规则") + 1, head.index("说明（单位填写）") + 1
    for row in range(head_row + 1, ws.max_row + 1):
        rule = ws.cell(row, col_rule).value
        if rule in notes:
            ws.cell(row, col_note).value = notes[rule]
    if fixes:
        form_ws = next(s for s in wb.worksheets if s.title != "问题清单" and s.max_row > 20)
        for ref, value in fixes.items():
            form_ws[ref].value = value
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def cell_of(form: g.Form, block: str, row: int, fld: str) -> tuple[str, str]:
    """(A1 cell, true value) of an amount of the form as laid out (row 0 = the summary row)."""
    org = "局机关及二级机构汇总" if row == 0 else form.orgs[row - 1]
    for c in form.cells:
        if c["block"] == block and c["field"] == fld and (c["org"] == org or c["org"].endswith(org)):
            return c["cell"], c["value"]
    raise KeyError((block, row, fld))


# ---------------------------------------------------------------------------- the command line
def selfeval(*args: str, store: str | None = None, cwd: Path | None = None, check: int | None = None,
             wait: bool = True):
    """`selfeval ARGS --store STORE` in a subprocess (the installed entry point's main())."""
    cmd = [sys.executable, "-c", "from pipeline.cli import main; main()", *args]
    if store is not None:
        cmd += ["--store", store]
    env = dict(os.environ, COLUMNS="250", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if not wait:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check is not None:
        assert r.returncode == check, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r
