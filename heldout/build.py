"""Held-out measurement set: N self-evaluation workbooks with the quirks of real published
forms, plus DIR/truth.json.

    python heldout/build.py --out DIR --seed S --n N [--resave K]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from heldout.compose import SUBS, compose_hand, compose_template, make_spec, quirk_list  # noqa: E402
from heldout.figures import (FIELDS, NAR_FIELDS, WAN, expected_errors, final_measure,  # noqa: E402
                             gen_tables, grade_of, narrative, plant_amount, wan_str)
from heldout.sheetbuild import MEASURE_SETS  # noqa: E402

COUNTIES = ["岳阳县", "华容县", "湘阴县", "平江县", "汨罗市", "临湘市", "君山区", "云溪区", "岳阳楼区",
            "屈原管理区", "南湖新区"]
DEPTS = ["财政局", "教育局", "民政局", "司法局", "自然资源局", "住房和城乡建设局", "交通运输局", "水利局",
         "农业农村局", "文化旅游广电体育局", "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局",
         "统计局", "医疗保障局", "城市管理和综合执法局", "市场监督管理局", "林业局", "档案馆",
         "机关事务服务中心", "融媒体中心", "人力资源和社会保障局", "发展和改革局", "生态环境分局"]
SURN = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗禹彭曾"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "荣", "铎", "振宇"]
POSTS = ["局长", "副局长", "财务股股长", "综合股股长", "办公室主任", "会计", "主任", "副主任"]
AMOUNT_KINDS = ["INC-001", "EXP-001", "EXP-002", "EXP-003", "EXP-004", "TPF-001", "FA-001", "SUM-001"]


def person(rng):
    return rng.choice(SURN) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")


def score_and_grade(rng, plant_grd):
    score = rng.choice([rng.randint(80, 99), rng.randint(85, 99), rng.randint(60, 89),
                        round(rng.uniform(50, 99), 1)])
    g = grade_of(score)
    if plant_grd:
        g = {"优": "良", "良": rng.choice(["优", "中"]), "中": rng.choice(["良", "差"]), "差": "中"}[g]
    s_raw = rng.choice([score, score, f"{score}分", str(score)])
    long = {"优": "优秀", "良": "良好", "中": "中", "差": "差"}[g]
    g_raw = rng.choice([g, g, long, f"{g}（{score}分）"])
    tags = [f"score:{'num' if isinstance(s_raw, (int, float)) else 'fen' if '分' in s_raw else 'text'}",
            "grade:" + ("embedded" if "分" in g_raw else "long" if len(g_raw) == 2 else "short")]
    return score, g, s_raw, g_raw, tags


def fig_texts(rng, unit):
    kinds = [("产出目标", "数量指标"), ("产出目标", "质量指标"), ("产出目标", "时效指标"),
             ("产出目标", "成本指标"), ("效益目标", "社会效益"), ("效益目标", "经济效益"),
             ("效益目标", "生态效益"), ("效益目标", "社会公众或服务对象满意度")]
    inds = [(g, k, f"{k}目标值达到{rng.randint(85, 100)}%以上", f"完成{rng.randint(85, 100)}%")
            for g, k in kinds[:rng.randint(5, 8)]]
    staff = rng.randint(8, 120)
    contact = person(rng)
    return {"contact": contact, "phone": f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}",
            "staff": (staff, staff - rng.randint(0, 5)),
            "duty": f"{unit}负责本辖区相关行政管理和公共服务工作。",
            "work": "一、加强预算管理。\n二、推进重点项目建设。\n三、强化内部控制。",
            "result": "各项工作目标任务基本完成，整体支出绩效良好。",
            "goal": "目标1：保障机构正常运转。\n目标2：完成年度重点工作任务。",
            "done": "目标1完成情况：机构运转正常。\n目标2完成情况：重点工作全部完成。",
            "indicators": inds,
            "evaluators": [(contact if k == 0 else person(rng), rng.choice(POSTS))
                           for k in range(rng.randint(2, 4))]}


def one_form(rng, idx, year, county, dept, outdir):
    unit = f"{county}{dept}"
    s = make_spec(rng, year, unit)
    subs = rng.sample(SUBS, s["n_sub"] - 1)
    plain = rng.random() < 0.2
    orgs = [s["summary_name"]] + [(n if plain else f"{k}、{n}")
                                  for k, n in enumerate(["局机关"] + subs, 1)]
    measures = {b: [m for m, _ in MEASURE_SETS[s["mset"][b]]] for b in FIELDS}
    tables = gen_tables(rng, orgs, s["units"], measures)
    plants = []
    if rng.random() < 0.5:
        kinds = AMOUNT_KINDS * 2 + ["GRD-001", "NAR-001", "NAR-001"]
        if s["formula_summary"]:
            kinds = ["GRD-001", "NAR-001"]
        plants = rng.sample(kinds, min(len(kinds), rng.choice([1, 1, 2, 3])))
        plants = list(dict.fromkeys(plants))
    touched = []
    for k in plants:
        if k in AMOUNT_KINDS:
            touched += plant_amount(rng, tables, k)
    score, grade, s_raw, g_raw, stags = score_and_grade(rng, "GRD-001" in plants)
    figs = fig_texts(rng, unit)
    figs.update(score_raw=s_raw, grade_raw=g_raw)
    whole = {}
    for key in NAR_FIELDS:
        b, f = key.split(".")
        t = tables[b]
        whole[key] = t["rows"][0]["vals"][final_measure(t)][f]
    wrong = {}
    if "NAR-001" in plants:
        cands = [k for k in NAR_FIELDS if whole[k] or k == "three_public.total"]
        cands = [k for k in cands if k not in ("income.other", "income.carryover") or whole[k]]
        k = rng.choice(cands)
        d = max(WAN, int(abs(whole[k]) * rng.uniform(0.05, 0.3)) // 10_000 * 10_000)
        wrong[k] = whole[k] + d if rng.random() < 0.6 or whole[k] - d <= 0 else whole[k] - d
    text = narrative(rng, unit, year, whole, wrong)
    truth = {"unit": unit, "year": year, "county": county, "amounts": [], "nulls": [],
             "_anchor": {}, "quirks": quirk_list(s) + stags}
    name = rng.choice([f"{year}年{unit}部门整体支出绩效自评表", f"附件2：{unit}{year}年度自评表",
                       f"{unit}（{year}）", f"{county}_{dept}_{year}"])
    rel = f"{county}/{name}.xlsx"
    path = outdir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    (compose_template if s["template"] else compose_hand)(rng, s, tables, figs, text, path, truth)
    exp = []
    for rule, b, i, f in expected_errors(tables):
        org = tables[b]["rows"][i]["org"]
        sh, cell = truth["_anchor"][(b, org, final_measure(tables[b]), f)]
        exp.append({"rule": rule, "sheet": sh, "cell": cell, "block": b, "field": f, "org": org})
    if "GRD-001" in plants:
        sh, cell = truth["grade_cell"]
        exp.append({"rule": "GRD-001", "sheet": sh, "cell": cell, "block": "unit", "field": "grade",
                    "org": ""})
    nar = [{"rule": "NAR-001", "block": "report", "field": k, "sheet": truth["narrative_cell"][0],
            "cell": truth["narrative_cell"][1], "stated": wan_str(v), "table": wan_str(whole[k])}
           for k, v in wrong.items()]
    del truth["_anchor"]
    for a in truth["amounts"]:
        a["value"] = wan_str(a.pop("cents"))
    truth.update(score=score, grade=grade, plant_kinds=plants,
                 plant_cells=[{"block": b, "row": i, "field": f} for b, i, f in touched],
                 expected_errors=exp, narrative_discrepancies=nar,
                 clean=not exp and not nar, format="xlsx", resaved=None)
    return rel, truth


def resave(outdir, files, truth, rng, k):
    """Re-save k files through LibreOffice (xlsx / xls / ods)."""
    formula = [f for f in files if any(q.startswith(("unit_formula", "formula_summary"))
                                       for q in truth[f]["quirks"])]
    rest = [f for f in files if f not in formula]
    rng.shuffle(formula)
    rng.shuffle(rest)
    pick = formula[: k // 2] + rest[: k - min(len(formula), k // 2)]
    pick = pick[:k]
    by_fmt = {}
    for f in pick:
        fmt = rng.choice(["xlsx", "xlsx", "xls", "ods"])
        by_fmt.setdefault(fmt, []).append(f)
    profile = tempfile.mkdtemp(prefix="heldout_lo_")
    for fmt, fs in by_fmt.items():
        tmp = Path(tempfile.mkdtemp(prefix="heldout_conv_"))
        cmd = ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
               "--convert-to", fmt, "--outdir", str(tmp)] + [str(outdir / f) for f in fs]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=600)
        for f in fs:
            src = tmp / (Path(f).stem + "." + fmt)
            if not src.exists():
                print(f"resave failed: {f}", file=sys.stderr)
                continue
            new = str(Path(f).with_suffix("." + fmt))
            os.remove(outdir / f)
            shutil.move(str(src), outdir / new)
            t = truth.pop(f)
            t.update(format=fmt, resaved="libreoffice")
            t["quirks"].append(f"resave:{fmt}")
            truth[new] = t
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(profile, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--resave", type=int, default=0)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    combos = [(y, c, d) for y in range(2019, 2025) for c in COUNTIES for d in DEPTS]
    rng.shuffle(combos)
    truth = {}
    for idx in range(a.n):
        year, county, dept = combos[idx]
        frng = random.Random(a.seed * 1_000_003 + idx)
        rel, t = one_form(frng, idx, year, county, dept, a.out)
        truth[rel] = t
    if a.resave:
        resave(a.out, sorted(truth), truth, rng, min(a.resave, a.n))
    for t in truth.values():
        if t["resaved"] is None:
            t["quirks"] += [q + ":nocache" for q in t["quirks"]
                            if q.startswith(("unit_formula:", "formula_summary"))]
    doc = {"seed": a.seed, "n": a.n, "resave": a.resave, "files": dict(sorted(truth.items()))}
    (a.out / "truth.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
    clean = sum(t["clean"] for t in truth.values())
    print(f"{len(truth)} forms in {a.out} ({clean} clean, {len(truth) - clean} with planted "
          f"discrepancies, {sum(bool(t['resaved']) for t in truth.values())} re-saved by LibreOffice)")


if __name__ == "__main__":
    main()
