"""What `selfeval check` loads at start, and that its short cuts change nothing a user sees: the
check-only dispatch (cli._only) and the pydantic-free coercion (cli._plain_coercion) against the
whole app and typer's own coercion, in fresh processes. No timings."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_cli import ROOT, SAMPLES, selfeval

SAMPLE = SAMPLES / "09_市司法局_问题较多.xlsx"
NOT_ON_THE_CHECK_PATH = ("sqlalchemy", "alembic", "pydantic", "starlette", "uvicorn", "pipeline.store",
                         "pipeline.web", "pipeline.collect", "pipeline.collect_cli", "pipeline.write.summary")
_LOADED = ("import atexit, json, sys\n"
           "atexit.register(lambda: print('LOADED ' + json.dumps(sorted(m for m in {names} "
           "if m in sys.modules)), file=sys.stderr))\n")


def _loaded(r: subprocess.CompletedProcess) -> list[str]:
    line = next(x for x in r.stderr.splitlines() if x.startswith("LOADED "))
    return json.loads(line[len("LOADED "):])


def test_check_loads_neither_the_store_nor_the_web_desk_nor_pydantic():
    r = selfeval("check", str(SAMPLE), prelude=_LOADED.format(names=NOT_ON_THE_CHECK_PATH))
    assert r.returncode == 1, r.stderr
    assert "INC-001" in r.stdout
    assert _loaded(r) == []


def test_loading_a_rule_pack_does_not_load_the_rule_engine():
    code = ("import sys\nfrom pipeline.check.ruleset import load_pack\nload_pack()\n"
            "print(sorted(m for m in ('numpy', 'pipeline.check.frames') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]", r.stderr


WHOLE_APP = "import pipeline.cli as c\nc._only = lambda callback: c.app\n"
TYPER_COERCION = "import pipeline.cli as c\nc._plain_coercion = lambda params: None\n"
CHECK_LINES = [
    ["check", str(SAMPLE)],
    ["check", str(SAMPLE), "--fail-on", "none", "--tolerance=0.5"],
    ["check", "--help"],
    ["check", "-h", "extra"],
    ["check"],
    ["check", str(SAMPLE), "--fail-on", "bogus"],
    ["check", str(SAMPLE), "--tolerance", "-1"],
    ["check", str(SAMPLE), "--tolerance"],
    ["check", str(SAMPLE), "--tol", "1"],
    ["check", str(SAMPLE), str(SAMPLE)],
    ["check", str(SAMPLES)],
    ["check", str(SAMPLE), "--rules", str(ROOT / "README.md")],
]


def _seen(r: subprocess.CompletedProcess) -> tuple:
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("args", CHECK_LINES, ids=lambda a: " ".join(a[1:])[-40:] or "bare")
def test_check_alone_is_the_whole_apps_check(args):
    assert _seen(selfeval(*args)) == _seen(selfeval(*args, prelude=WHOLE_APP))


OTHER_LINES = [
    ["run", str(SAMPLES), "--out", "x", "--jobs", "1.5"],
    ["run", str(SAMPLES), "--out", "x", "--timeout", "inf"],
    ["run", str(SAMPLES), "--out", "x", "--returns", "x"],
    ["serve", "--port", "x"],
    ["serve", "--keep-drafts", "-1"],
    ["inspect", str(SAMPLES)],
    ["rules", "--rules", "nowhere.toml"],
    ["chek", "x"],
]


@pytest.mark.parametrize("args", CHECK_LINES[:8] + OTHER_LINES, ids=lambda a: " ".join(a)[-40:])
def test_plain_coercion_is_typers(args):
    assert _seen(selfeval(*args)) == _seen(selfeval(*args, prelude=TYPER_COERCION))


def test_the_commands_registered_later_keep_their_order():
    """The collection's commands, then the web desk's, as when cli.py imported both at its end;
    also when the web desk's module is imported first."""
    code = ("import {first}\nfrom typer.main import get_command\nfrom pipeline.cli import app\n"
            "print(' '.join(get_command(app).commands))")
    for first in ("pipeline.cli", "pipeline.web.cli"):
        r = subprocess.run([sys.executable, "-c", code.format(first=first)], capture_output=True,
                           text=True, cwd=ROOT)
        assert r.stdout.split() == ["run", "check", "inspect", "rules", "status", "show", "changes",
                                    "accept", "return", "reopen", "remind", "serve", "roster", "user"], r.stderr
