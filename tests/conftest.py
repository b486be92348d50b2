"""Shared fixtures: real workbooks built with the form generator, LibreOffice when present."""
from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from formkit import formgen as g
from formkit import formwrite as fw  # noqa: E402
from formkit.formplant import expected, plant  # noqa: E402

SEED = ROOT.parent / "shared" / "examples" / "2021_岳阳市城管局城陵矶新港区分局.xlsx"
SAMPLE_SEED = ROOT / "sample_workbooks" / "2021_岳阳市城管局城陵矶新港区分局.xlsx"
HAS_SOFFICE = bool(shutil.which("soffice") or shutil.which("libreoffice"))
needs_soffice = pytest.mark.skipif(not HAS_SOFFICE, reason="LibreOffice (soffice) is not installed")


@pytest.fixture
def seed_path() -> Path:
    return SEED if SEED.exists() else SAMPLE_SEED


def build(path: Path, drift: g.Drift | None = None, *, seed: int = 7, unit: str = "测试单位",
          subs: int | None = 3, plants=(), writer: str = "xw") -> g.Form:
    """Write one generated form to path and return it with its truth (form.cells, planted)."""
    rng = random.Random(seed)
    form = g.random_form(rng, unit, subs=subs)
    form.drift = drift or g.Drift()
    for kind in plants:
        plant(form, kind, rng)
    sheets = g.layout(form, random.Random(seed + 1))
    (fw.save_openpyxl if writer == "op" else fw.save_xlsxwriter)(sheets, path)
    return form


def truth_values(form: g.Form) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(block, org as written, field) → (value in 万元 as text, cell)."""
    out = {}
    for c in form.cells:
        if c["block"] in ("unit", "report") or c.get("blank"):
            continue
        org = c["org"]
        out[(c["block"], org, c["field"])] = (c["value"], c["cell"])
    return out


def read_values(result) -> dict[tuple[str, str, str], tuple[str, str]]:
    from pipeline.read.records import fmt
    from pipeline.read.labels import strip_enum

    out = {}
    for form in result.forms:
        for row in form.rows:
            org = "局机关及二级机构汇总" if row.is_summary else strip_enum(row.org)
            for fld, a in row.amounts.items():
                if a.status != "blank" or a.raw:
                    out[(row.block, org, fld)] = (fmt(a.value) if a.value is not None else None, a.cell)
    return out


def norm_truth(form: g.Form):
    from pipeline.read.labels import strip_enum

    return {(b, "局机关及二级机构汇总" if o.endswith("汇总") or o in ("汇总", "合计") else strip_enum(o), f): v
            for (b, o, f), v in truth_values(form).items()}


__all__ = ["build", "expected", "g", "needs_soffice", "read_values", "norm_truth", "truth_values"]
