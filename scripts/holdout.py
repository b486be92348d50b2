"""Measure the reader and the rules on a generated set the project was not tuned on.

    python scripts/holdout.py --n 300 --seed 90000 [--xls 0.1] [--work DIR] [--quirks]

Forms get random combinations of every drift, random label synonyms, random sub-unit counts,
.xls/.ods for a share (LibreOffice), and 0–3 planted discrepancies each. Reports:
amounts read right (value and cell), planted discrepancies flagged at the right cell (narrative
separately), error findings on forms without planted errors, and files lost. --quirks adds the
quirks of real submissions (issue 12: label and value in one cell, years as written, unit
declarations, accounting negatives, summary rows anywhere, scores as written, budget/actual
columns, split sheets) and reports unit names and years read right, and amounts per measure.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from formkit.formset import generate  # noqa: E402
from pipeline.read.labels import strip_enum  # noqa: E402

def measure(truth: list[dict], out: Path) -> dict:
    with open(out / "values.csv", encoding="utf-8-sig", newline="") as fh:
        got = {}
        units: dict[str, set] = {}
        for r in csv.DictReader(fh):
            org = strip_enum(r["org"])
            org = "汇总" if "汇总" in org or org in ("合计", "总计", "小计") else org
            got[(r["file"], r["block"], org, r["field"], r.get("measure") or "final")] = (r["value"], r["cell"])
            units.setdefault(r["file"], set()).add((r["unit"], r["year"]))
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        findings = list(csv.DictReader(fh))
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as fh:
        manifest = list(csv.DictReader(fh))
    by_file: dict[str, list] = {}
    for f in findings:
        by_file.setdefault(f["file"], []).append(f)
    amounts = right = 0
    wrong = []
    planted = hit = nplanted = nhit = 0
    missed = Counter()
    false_errors = clean_forms = 0
    names_right = 0
    by_measure: Counter = Counter()
    by_measure_right: Counter = Counter()
    for t in truth:
        names_right += units.get(t["file"]) == {(t.get("unit"), t.get("year"))}
        for c in t["cells"]:
            if c["block"] in ("unit", "report") or c.get("blank") or c.get("value") is None:
                continue
            amounts += 1
            org = "汇总" if c["row"] == 0 else strip_enum(c["org"])
            key = (t["file"], c["block"], org, c["field"], c.get("measure", "final"))
            by_measure[key[-1]] += 1
            if got.get(key) == (c["value"], c["cell"]):
                right += 1
                by_measure_right[key[-1]] += 1
            elif len(wrong) < 10:
                wrong.append((t["file"], c, got.get(key)))
        fs = by_file.get(t["file"], [])
        for p in t["planted"]:
            ok = any(f["rule"] == p["rule"] and f["cell"] == p["cell"] for f in fs)
            if p["rule"] == "NAR-001":
                nplanted += 1
                nhit += ok
            else:
                planted += 1
                hit += ok
            if not ok:
                missed[p["rule"]] += 1
        if not [p for p in t["planted"] if p["rule"] not in ("NAR-001", "STF-001", "TPF-002", "REQ-001", "SUM-002")]:
            clean_forms += 1
            false_errors += sum(f["severity"] == "error" for f in fs)
    return {"forms": len(truth), "files_in_manifest": len(manifest),
            "rejected": [m["file"] for m in manifest if m["status"] != "accepted"],
            "amounts": amounts, "amounts_right": right, "amount_accuracy": right / max(amounts, 1),
            "amounts_by_measure": {m: f"{by_measure_right[m]}/{n}" for m, n in by_measure.items()},
            "unit_and_year_right": f"{names_right}/{len(truth)}",
            "planted": planted, "planted_flagged": hit, "planted_recall": hit / max(planted, 1),
            "narrative_planted": nplanted, "narrative_found": nhit, "narrative_recall": nhit / max(nplanted, 1),
            "forms_without_planted_errors": clean_forms, "error_findings_on_them": false_errors,
            "missed_by_rule": dict(missed), "first_wrong_amounts": [str(w) for w in wrong]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=90000)
    ap.add_argument("--xls", type=float, default=0.1, help="share of forms converted to .xls/.ods")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--quirks", action="store_true", help="add the quirks of real submissions (issue 12)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="holdout-"))
    inbox, out = work / "inbox", work / "out"
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    xls = args.xls if shutil.which("soffice") else 0.0
    truth = generate(args.n, args.seed, inbox, xls, quirks=args.quirks)
    (work / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    from pipeline.run import run

    run(inbox, out, returns=False)
    result = measure(truth, out)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
