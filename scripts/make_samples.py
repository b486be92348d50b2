"""Write the bundled sample workbooks: the seed unit plus units with every drift the reader handles.

Run from the repository root: python scripts/make_samples.py
(.xls and .ods need LibreOffice: soffice on PATH.) The output is deterministic.
"""
from __future__ import annotations

import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "sample_workbooks"
sys.path.insert(0, str(ROOT.parent))

from formkit import formgen as g
from formkit import formwrite as fw  # noqa: E402
from formkit.formplant import plant  # noqa: E402

SEED = ROOT.parent.parent / "shared" / "examples" / "2021_岳阳市城管局城陵矶新港区分局.xlsx"


def form(seed: int, unit: str, drift: g.Drift, subs: int | None = None, plants=()) -> g.Form:
    rng = random.Random(seed)
    f = g.random_form(rng, unit, subs=subs)
    f.drift = drift
    for kind in plants:
        plant(f, kind, rng)
    return f


def main() -> None:
    out = ROOT
    for old in out.rglob("*"):
        if old.is_file() and old.suffix.lower() in {".xlsx", ".xls", ".ods", ".xlsm"}:
            old.unlink()
    if SEED.exists():
        shutil.copy(SEED, out / SEED.name)
    samples = [
        ("01_市财政局_标准格式.xlsx", form(1, "市财政局", g.Drift()), "xw"),
        ("02_市教育局_行列偏移.xlsx", form(2, "市教育局", g.Drift(row_offset=3, col_offset=2, gap_rows=1)), "xw"),
        ("03_市卫健委_标签改名与列序调整.xlsx", form(3, "市卫生健康委员会", g.Drift(synonyms=True, shuffle=True)), "xw"),
        ("04_市民政局_文本数字.xlsx", form(4, "市民政局", g.Drift(text_numbers=True)), "xw"),
        ("05_市水利局_收入表以元计.xlsx", form(5, "市水利局", g.Drift(yuan_block="income")), "xw"),
        ("06_市交通局_公式未计算.xlsx", form(6, "市交通运输局", g.Drift(formulas=True)), "op"),
        ("07_市文旅局_封面与独立报告页.xlsx", form(7, "市文化旅游广电局", g.Drift(cover=True, report_sheet=True, sheet_name="2021自评")), "xw"),
        ("08_市农业农村局_多个二级机构.xlsx", form(8, "市农业农村局", g.Drift(), subs=7), "xw"),
        ("09_市司法局_问题较多.xlsx", form(9, "市司法局", g.Drift(), plants=["identity", "rollup", "text", "grade", "narrative", "staff"]), "op"),
        ("10_市林业局_旧版xls.xlsx", form(10, "市林业局", g.Drift(row_offset=1)), "xls"),
        ("11_市统计局_ods.xlsx", form(11, "市统计局", g.Drift()), "ods"),
    ]
    tmp = Path(tempfile.mkdtemp())
    convert: dict[str, list] = {"xls": [], "ods": []}
    for name, f, how in samples:
        sheets = g.layout(f, random.Random(name))
        if how == "op":
            fw.save_openpyxl(sheets, out / name)
        elif how == "xw":
            fw.save_xlsxwriter(sheets, out / name)
        else:
            src = tmp / name
            fw.save_xlsxwriter(sheets, src)
            convert[how].append(src)
    # several units in one workbook, one form per sheet
    multi = [form(12, "市城管局", g.Drift(sheet_name="城管局本级")), form(13, "市城管局园林处", g.Drift(sheet_name="园林处"))]
    sheets = [s for f in multi for s in g.layout(f, random.Random(f.unit))]
    fw.save_xlsxwriter(sheets, out / "12_市城管局_一簿多表.xlsx")
    for fmt, paths in convert.items():
        if paths:
            fw.convert(paths, fmt, tmp)
            for p in paths:
                shutil.move(tmp / (p.stem + "." + fmt), out / (p.stem.replace("xls", "") + "." + fmt))
    # two files a bureau really receives that are not workbooks
    (out / "13_某单位_网页另存.xls").write_text("<html><body><table><tr><td>收入合计</td></tr></table></body></html>",
                                             encoding="utf-8")
    data = (out / "01_市财政局_标准格式.xlsx").read_bytes()
    (out / "14_某单位_传输中断.xlsx").write_bytes(data[: len(data) // 2])
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
