"""Sets of generated forms with random drift combinations and planted discrepancies (holdout, bench)."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

from . import formgen as g
from . import formwrite as fw
from .formplant import KINDS, expected, plant

NAMES = ["发展和改革局", "教育局", "科学技术局", "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局",
         "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化旅游局",
         "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "林业局"]


# plants that would undo each other on one form
CLASH = [("identity", "three_public"), ("rollup", "summary_blank"), ("score", "grade"), ("score", "missing")]


def random_drift(rng: random.Random) -> g.Drift:
    return g.Drift(row_offset=rng.choice([0, 0, 1, 2, 5]), col_offset=rng.choice([0, 0, 1, 3]),
                   gap_rows=rng.choice([0, 0, 1, 2]), synonyms=rng.random() < .5, shuffle=rng.random() < .4,
                   text_numbers=rng.random() < .3, yuan_block=rng.choice([""] * 6 + ["income", "fixed_assets"]),
                   formulas=rng.random() < .2, summary_blank=rng.random() < .15,
                   report_sheet=rng.random() < .2, cover=rng.random() < .2,
                   sheet_name=rng.choice(["自评表", "Sheet1", "2021年自评", "表1"]),
                   spaced_labels=rng.random() < .3, title_row=rng.random() < .25, flat_header=rng.random() < .25,
                   blank_row=rng.random() < .15)


def add_quirks(d: g.Drift, rng: random.Random) -> g.Drift:
    """The quirks of real submissions (issue 12), in random combinations, from their own random
    stream so that a seed's older drifts stay as they were."""
    d.inline_unit = rng.random() < .35
    d.year_style = rng.choice(["", "", "cn", "spaced", "plain", "title"])
    d.unit_decl = rng.choice(["", "", "", "form", "corner"])
    if d.unit_decl == "corner" and not d.yuan_block:
        d.yuan_block = rng.choice(["income", "expenditure", "three_public", "fixed_assets"])
    d.negatives = rng.choice(["", "", "paren", "fullparen", "delta", "fullminus", "minus"])
    d.summary_label = rng.choice(["", "", "合计", "小计", "总计", "汇总"])
    d.summary_bottom = rng.random() < .3
    d.score_style = rng.choice(["", "fen", "grade_with_score", "long_grade"])
    if rng.random() < .25:
        d.measures = rng.choice([("预算数", "决算数"), ("年初预算数", "调整预算数", "决算数"), ("预算数", "执行数")])
    d.split_sheet = rng.random() < .25
    if d.split_sheet:
        d.report_sheet = True
    return d


def generate(n: int, seed: int, work: Path, xls_share: float, jobs: int = 1, quirks: bool = False) -> list[dict]:
    """Write n forms into work (xls_share of them .xls/.ods); return each form's truth.
    quirks: add the quirks of real submissions (add_quirks) to every form's drift."""
    if jobs > 1 and n >= 200:
        from concurrent.futures import ProcessPoolExecutor

        chunks = [(k, min(k + 500, n)) for k in range(0, n, 500)]
        with ProcessPoolExecutor(jobs) as ex:
            parts = ex.map(_generate_range, [(a, b, seed, work, xls_share, quirks) for a, b in chunks])
            return [t for part in parts for t in part]
    return _generate_range((0, n, seed, work, xls_share, quirks))


def _generate_range(args) -> list[dict]:
    start, stop, seed, work, xls_share, quirks = args
    truth = []
    convert: dict[str, list[Path]] = {"xls": [], "ods": []}
    tmp = work / f"_src{start}"
    tmp.mkdir(parents=True, exist_ok=True)
    for i in range(start, stop):
        rng = random.Random(seed * 1_000_003 + i)
        unit = f"{rng.choice(['市', '县', '区'])}{rng.choice(NAMES)}{i}"
        form = g.random_form(rng, unit, subs=rng.choice([1, 2, 3, 4, 6, 8]))
        form.drift = random_drift(rng)
        if quirks:
            add_quirks(form.drift, random.Random(seed * 7_000_003 + i))
            if form.drift.negatives:
                g.make_negative(form)
        kinds = rng.sample(KINDS, rng.choice([0, 0, 1, 1, 2, 3]))
        if any(a in kinds and b in kinds for a, b in CLASH) or ("rollup" in kinds and form.drift.summary_blank):
            kinds = kinds[:1]
        for kind in kinds:
            plant(form, kind, rng)
        writer = "op" if form.drift.formulas and rng.random() < .5 else "xw"
        sheets = g.layout(form, rng)
        fmt = "xlsx"
        if rng.random() < xls_share and not form.drift.formulas:
            fmt = rng.choice(["xls", "ods"])
        name = f"{i:05d}.{fmt}"
        if fmt == "xlsx":
            (fw.save_openpyxl if writer == "op" else fw.save_xlsxwriter)(sheets, work / name)
        else:
            fw.save_xlsxwriter(sheets, tmp / f"{i:05d}.xlsx")
            convert[fmt].append(tmp / f"{i:05d}.xlsx")
        truth.append({"file": name, "sheet": form.drift.sheet_name, "cells": form.cells, "planted": expected(form),
                      "unit": form.unit, "year": str(form.year)})
    for fmt, paths in convert.items():
        for k in range(0, len(paths), 200):
            if paths[k:k + 200]:
                fw.convert(paths[k:k + 200], fmt, work)
    shutil.rmtree(tmp)
    return truth


