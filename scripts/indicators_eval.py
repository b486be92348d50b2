"""Precision and recall of the indicator rules (IND-*) on forms with planted shortfalls,
contradictions and score errors, and on consistent forms.

    python scripts/indicators_eval.py --n 300 --seed 1 --pool DEV
    python scripts/indicators_eval.py --n 300 --seed 99 --pool HELD      # held-out phrasing

Three sources: tests/indicator_forms.py (openpyxl, cell by cell, phrasing pool DEV or HELD), the
seed unit's own workbook with single cells rewritten (--seed-variants), and formkit's generated
forms (consistent: must give no IND finding).
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from openpyxl import load_workbook  # noqa: E402

import indicator_forms as IF  # noqa: E402
from pipeline.check import frames  # noqa: E402
from pipeline.check.ruleset import load_pack  # noqa: E402
from pipeline.check.validate import validate  # noqa: E402
from pipeline.read.parse import read_file  # noqa: E402
from pipeline.read.records import pack  # noqa: E402

SEED = ROOT.parent / "shared" / "examples" / "2021_岳阳市城管局城陵矶新港区分局.xlsx"
F38 = ("IND-002", frozenset({"F38"}), "投诉")
G45 = ("IND-001", frozenset({"G45"}))
SEED_BASE = [F38, G45]


def _one(rule: str, *cells: str):
    return (rule, frozenset(cells))


# (cell, new text, every finding expected: (rule, the cells any of which is right))
SEED_VARIANTS = [
    ("G57", "满意率达88%以上", [F38, G45, _one("IND-001", "G57")]),
    ("G57", "满意率达90%以上", SEED_BASE),
    ("G57", "满意率达93%", SEED_BASE),
    ("G46", "全年共受理行政审批事项90件，发放渣土运输证1.3万余台次。", [F38, G45, _one("IND-002", "G46", "A71")]),
    ("G46", "全年共受理行政审批事项75件，发放渣土运输证1.3万余台次。", SEED_BASE),   # 70余件 holds 75
    ("G46", "全年共受理行政审批事项70件，发放渣土运输证1.3万余台次。", SEED_BASE),
    ("G44", "全年对养护单位累计开展日常考核260次，错时考核80次，专项考核60次，定期考核60次。",
     [F38, G45, _one("IND-002", "G44", "A71")]),
    ("G44", "全年对养护单位累计开展日常考核300余次，错时考核80次，专项考核60次，定期考核60次。", SEED_BASE),
    ("G50", "累计受理城管领域投诉172起，回复率和处置率均达到100%。", [G45, _one("IND-002", "A71")]),
    ("D41", "1、亮灯率：功能照明≥95%；2、设施完好率：≥98%；3、运行故障率：≤0.5%；4、报修故障修复及时率：100%。", [F38]),
    ("G41", "亮灯率97%，设施完好率97.5%，运行故障率0.3%，报修故障修复及时率100%", [F38, G45, _one("IND-001", "G41")]),
    ("G41", "亮灯率97%，设施完好率98.5%，运行故障率0.6%，报修故障修复及时率100%", [F38, G45, _one("IND-001", "G41")]),
    ("G41", "亮灯率97%，设施完好率98.5%，运行故障率0.3%，报修故障修复及时率100%", SEED_BASE),
    ("G45", "确保亮灯率达96%以上", [F38]),
    ("F38", None, [G45]),   # 目标完成情况 rewritten below with 投诉403起
]


def findings_of(path: Path, rules) -> set[tuple[str, str]]:
    res = read_file(path, path.name)
    if not res.forms:
        return set()
    fr = frames.build([pack(f) for f in res.forms])
    return {(f.rule, f.cell, f.field) for f in validate(fr, rules) if f.rule.startswith("IND-")}


def score(items) -> dict:
    """items: (planted [(rule, cells)], found {(rule, cell)}). A finding is right when it is at one
    of a planted item's cells with its rule."""
    planted = found_right = found = wrong = 0
    clean_forms = clean_with = 0
    misses, extras = [], []
    for name, plants, got in items:
        planted += len(plants)
        hit = set()
        for rule, cells, *fld in plants:
            m = {(r, c, f) for r, c, f in got if r == rule and c in cells and (not fld or fld[0] == f)}
            if m:
                found_right += 1
                hit |= m
            else:
                misses.append((name, rule, sorted(cells)))
        found += len(got)
        bad = got - hit
        wrong += len(bad)
        extras += [(name, *b) for b in sorted(bad)]
        if not plants:
            clean_forms += 1
            clean_with += bool(got)
    return {"planted": planted, "found": found_right, "findings": found, "wrong": wrong,
            "recall": found_right / planted if planted else 1.0,
            "precision": (found - wrong) / found if found else 1.0,
            "consistent_forms": clean_forms, "consistent_with_findings": clean_with,
            "misses": misses, "extras": extras}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pool", default="DEV")
    ap.add_argument("--formkit", type=int, default=50)
    ap.add_argument("--show", type=int, default=15)
    ap.add_argument("--keep", default="", help="build the forms in this folder and keep them")
    args = ap.parse_args()
    rules = load_pack()
    rng = random.Random(args.seed)
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="indeval-"))
    tmp.mkdir(parents=True, exist_ok=True)
    items = []
    t0 = time.perf_counter()
    try:
        for i in range(args.n):
            kind = i % 4
            opts = dict(shortfalls=rng.randint(0, 2) if kind != 0 else 0, cross_row=rng.random() < .3 and kind != 0,
                        contradictions=rng.randint(0, 2) if kind != 0 else 0, scores=rng.random() < .4,
                        score_errors=rng.randint(0, 2) if kind == 3 else 0)
            b = IF.build(tmp / f"f{i}.xlsx", rng, args.pool, **opts)
            items.append((b.path.name, b.planted, findings_of(b.path, rules)))
        built = score(items)
        seed_items = []
        if SEED.exists():
            seed_items.append(("seed", SEED_BASE, findings_of(SEED, rules)))
            for j, (cell, text, want) in enumerate(SEED_VARIANTS):
                p = tmp / f"seed{j}.xlsx"
                wb = load_workbook(SEED)
                ws = wb.worksheets[0]
                ws[cell] = text if text is not None else str(ws[cell].value).replace("投诉172起", "投诉403起")
                wb.save(p)
                seed_items.append((f"seed{j}:{cell}", want, findings_of(p, rules)))
        seeds = score(seed_items)
        from formkit import formgen as g, formwrite as fw
        fk = []
        for i in range(args.formkit):
            r2 = random.Random(args.seed * 1000 + i)
            form = g.random_form(r2, f"单位{i}")
            p = tmp / f"fk{i}.xlsx"
            fw.save_openpyxl(g.layout(form, r2), p)
            fk.append((p.name, [], findings_of(p, rules)))
        fks = score(fk)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for name, s in (("built (" + args.pool + ")", built), ("seed variants", seeds), ("formkit", fks)):
        print(f"{name}: planted {s['planted']}, found {s['found']} (recall {s['recall']:.1%}); "
              f"findings {s['findings']}, wrong {s['wrong']} (precision {s['precision']:.1%}); "
              f"consistent forms {s['consistent_forms']}, with findings {s['consistent_with_findings']}")
        for m in s["misses"][:args.show]:
            print("   missed", m)
        for e in s["extras"][:args.show]:
            print("   extra ", e)
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
