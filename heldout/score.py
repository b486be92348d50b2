"""Scores `selfeval run` on a held-out set built by heldout/build.py.

    python heldout/score.py DIR [--out DIR_out] [--code REPO] [--no-run] [--examples N]

Runs `selfeval run DIR --out DIR_out --no-returns -q` (or `python -m pipeline.cli` from REPO /
when `selfeval` is missing), then compares values.csv, findings.csv and manifest.csv with
DIR/truth.json. Prints a table and writes DIR_out/score.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

VALUE_TOL = Decimal("0.00005")  # 万元 (half a 元)
WS = str.maketrans("", "", " \u3000\t\r\n\xa0")


def norm(s):
    return (s or "").translate(WS)


def dec(s):
    try:
        return Decimal(str(s).lstrip("'").replace(",", "")) if s not in (None, "") else None
    except InvalidOperation:
        return None


def read_csv(path):
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def run_selfeval(inbox, out, code):
    if code:
        cmd = [sys.executable, "-m", "pipeline.cli"]  # cwd=code: python -m puts cwd first
        env = dict(os.environ, PYTHONPATH=str(code))
        inbox, out = inbox.resolve(), out.resolve()
    elif shutil.which("selfeval"):
        cmd, env = ["selfeval"], None
    else:
        cmd, env = [sys.executable, "-m", "pipeline.cli"], None
    cmd += ["run", str(inbox), "--out", str(out), "--no-returns", "-q"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=code or None)
    if not (out / "manifest.csv").exists():
        sys.exit(f"selfeval failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return p.returncode


def classify(a, rows_at, by_key, file):
    """ok | no_value | yuan_not_converted | sign_lost | value_wrong | label_wrong:<what> |
    wrong_cell | missing"""
    want = dec(a["value"])
    key = (a["block"], a["field"], norm(a["org"]), a["measure"])
    for r in rows_at:
        got_key = (r["block"], r["field"], norm(r["org"]), r.get("measure") or "final")
        if got_key != key:
            continue
        v = dec(r["value"])
        if v is None:
            return "no_value", r
        if abs(v - want) <= VALUE_TOL:
            return "ok", r
        if want and abs(v - want * 10000) <= VALUE_TOL * 10000:
            return "yuan_not_converted", r
        if want and abs(v + want) <= VALUE_TOL:
            return "sign_lost", r
        if want and abs(v * 10000 - want) <= VALUE_TOL:
            return "converted_wrongly", r
        return "value_wrong", r
    if rows_at:
        r = rows_at[0]
        what = [n for n, x, y in (("block", r["block"], a["block"]), ("field", r["field"], a["field"]),
                                  ("org", norm(r["org"]), norm(a["org"])),
                                  ("measure", r.get("measure") or "final", a["measure"])) if x != y]
        return "label_wrong:" + "+".join(what), r
    if by_key.get((file,) + key):
        return "wrong_cell", by_key[(file,) + key][0]
    return "missing", None


def pct(a, b):
    return f"{100 * a / b:5.1f}%" if b else "   — "


def score(inbox: Path, out: Path, examples: int):
    truth = json.loads((inbox / "truth.json").read_text("utf-8"))["files"]
    values = read_csv(out / "values.csv")
    findings = read_csv(out / "findings.csv")
    manifest = {r["file"]: r for r in read_csv(out / "manifest.csv")}
    by_cell, by_key = defaultdict(list), defaultdict(list)
    for r in values:
        by_cell[(r["file"], r["sheet"], r["cell"])].append(r)
        by_key[(r["file"], r["block"], r["field"], norm(r["org"]), r.get("measure") or "final")].append(r)
    fnd = defaultdict(list)
    for r in findings:
        fnd[r["file"]].append(r)

    res = {"files": len(truth)}
    # files lost
    lost = [f for f in truth if manifest.get(f, {}).get("status") != "accepted"]
    res["files_lost"] = [{"file": f, "status": manifest.get(f, {}).get("status", "absent"),
                          "code": manifest.get(f, {}).get("code", "")} for f in lost]
    split = [f for f in truth if f in manifest and manifest[f].get("units") not in ("1", "")]
    res["files_split_into_units"] = {f: manifest[f]["units"] for f in split}

    # amounts
    tag_n, tag_ok, tag_fail = Counter(), Counter(), defaultdict(Counter)
    klass = Counter()
    var_n = var_ok = fin_n = fin_ok = 0
    ex = defaultdict(list)
    truth_cells = set()
    for f, t in truth.items():
        fq = ["form:" + q for q in t["quirks"]]
        for a in t["amounts"]:
            truth_cells.add((f, a["sheet"], a["cell"]))
            k, r = classify(a, by_cell.get((f, a["sheet"], a["cell"]), []), by_key, f)
            klass[k] += 1
            tags = a["tags"] + fq + ["all"]
            for tg in tags:
                tag_n[tg] += 1
                if k == "ok":
                    tag_ok[tg] += 1
                else:
                    tag_fail[tg][k.split(":")[0]] += 1
            variant = not any(x == "variant:single" for x in a["tags"])
            if a["measure"] == "final":
                fin_n += 1
                fin_ok += k == "ok"
            if variant:
                var_n += 1
                var_ok += k == "ok"
            if k != "ok" and len(ex[k]) < examples:
                ex[k].append({"file": f, "sheet": a["sheet"], "cell": a["cell"], "raw": a["raw"],
                              "want": [a["block"], a["field"], a["org"], a["measure"], a["value"]],
                              "got": r and [r["block"], r["field"], r["org"],
                                            r.get("measure", ""), r["value"], r["cell"]]})
        for nl in t["nulls"]:
            truth_cells.add((f, nl["sheet"], nl["cell"]))
    n_am = sum(len(t["amounts"]) for t in truth.values())
    res["amounts"] = {"total": n_am, "right": klass["ok"], "by_outcome": dict(klass.most_common()),
                      "variant_templates": {"total": var_n, "right": var_ok},
                      "final_column": {"total": fin_n, "right": fin_ok}}
    # null tokens and amounts nobody planted
    nulls_valued = 0
    for f, t in truth.items():
        for nl in t["nulls"]:
            for r in by_cell.get((f, nl["sheet"], nl["cell"]), []):
                nulls_valued += dec(r["value"]) is not None
    spurious = [r for r in values if r["file"] in truth and (r["file"], r["sheet"], r["cell"])
                not in truth_cells and dec(r["value"]) is not None]
    res["null_cells"] = {"total": sum(len(t["nulls"]) for t in truth.values()),
                         "read_as_value": nulls_valued}
    res["spurious_amount_rows"] = len(spurious)

    # unit names and years
    unit_ok = year_ok = 0
    unit_q, year_q = defaultdict(Counter), defaultdict(Counter)
    for f, t in truth.items():
        units = Counter(r["unit"] for r in values if r["file"] == f)
        units.update(r["unit"] for r in fnd[f])
        years = Counter(r["year"] for r in values if r["file"] == f)
        years.update(r["year"] for r in fnd[f])
        u_right = bool(units) and set(norm(u) for u in units) == {norm(t["unit"])}
        y_right = bool(years) and set(years) == {str(t["year"])}
        unit_ok += u_right
        year_ok += y_right
        for q in t["quirks"]:
            if q.startswith(("unitname", "unit_formula", "multisheet", "layout", "resave")):
                unit_q[q]["n"] += 1
                unit_q[q]["ok"] += u_right
            if q.startswith(("year", "multisheet", "layout", "resave")):
                year_q[q]["n"] += 1
                year_q[q]["ok"] += y_right
    res["unit_names"] = {"total": len(truth), "right": unit_ok,
                         "by_quirk": {q: dict(c) for q, c in sorted(unit_q.items())}}
    res["years"] = {"total": len(truth), "right": year_ok,
                    "by_quirk": {q: dict(c) for q, c in sorted(year_q.items())}}

    # facts the form has but the run says are missing (REQ-001 by field): score, grade, contact…
    req = defaultdict(list)
    for f in truth:
        for r in fnd[f]:
            if r["rule"] == "REQ-001":
                req[r["field"]].append(f)
    res["facts_reported_missing"] = {k: len(set(v)) for k, v in sorted(req.items())}

    # planted discrepancies
    per_rule = defaultdict(Counter)
    miss_q = defaultdict(Counter)
    exp_keys = defaultdict(set)
    for f, t in truth.items():
        got = fnd[f]
        for e in t["expected_errors"]:
            exp_keys[f].add((e["rule"], e["sheet"], e["cell"]))
            at = any(r["rule"] == e["rule"] and r["cell"] == e["cell"] and r["sheet"] == e["sheet"]
                     for r in got)
            if e["rule"] == "GRD-001":
                at = at or any(r["rule"] == "GRD-001" and r["field"] == "grade" for r in got)
            anywhere = any(r["rule"] == e["rule"] for r in got)
            for q in t["quirks"]:
                miss_q[q]["planted"] += 1
                miss_q[q]["missed"] += not at
            c = per_rule[e["rule"]]
            c["planted"] += 1
            c["at_cell"] += at
            c["elsewhere"] += (not at) and anywhere
        for e in t["narrative_discrepancies"]:
            c = per_rule["NAR-001:" + e["field"]]
            c["planted"] += 1
            c["at_cell"] += any(r["rule"] == "NAR-001" and r["field"] == e["field"] for r in got)
    res["planted_missed_by_form_quirk"] = {q: dict(c) for q, c in sorted(miss_q.items())}
    amt = [c for r, c in per_rule.items() if not r.startswith("NAR")]
    nar = [c for r, c in per_rule.items() if r.startswith("NAR")]
    res["planted"] = {"total": sum(c["planted"] for c in amt), "flagged_at_cell": sum(c["at_cell"] for c in amt),
                      "by_rule": {r: dict(c) for r, c in sorted(per_rule.items()) if not r.startswith("NAR")}}
    res["narrative"] = {"total": sum(c["planted"] for c in nar), "flagged": sum(c["at_cell"] for c in nar),
                        "by_field": {r[8:]: dict(c) for r, c in sorted(per_rule.items()) if r.startswith("NAR")}}

    # false errors: error findings on clean forms (listed), extra errors on planted forms
    false, extra, false_q = [], 0, defaultdict(Counter)
    false_nar = 0
    for f, t in truth.items():
        errs = [r for r in fnd[f] if r["severity"] == "error"]
        if not t["narrative_discrepancies"]:
            false_nar += sum(r["rule"] == "NAR-001" for r in fnd[f])
        for q in t["quirks"]:
            false_q[q]["forms"] += t["clean"]
        if t["clean"]:
            for r in errs:
                false.append({"file": f, "rule": r["rule"], "sheet": r["sheet"], "cell": r["cell"],
                              "field": f"{r['block']}.{r['field']}", "message": r["message"]})
            if errs:
                for q in t["quirks"]:
                    false_q[q]["with_false_errors"] += 1
        else:
            extra += sum((r["rule"], r["sheet"], r["cell"]) not in exp_keys[f]
                         and not (r["rule"] == "GRD-001" and "GRD-001" in t["plant_kinds"]) for r in errs)
    clean = [f for f, t in truth.items() if t["clean"]]
    res["clean_forms"] = {"total": len(clean), "with_false_errors": len({x["file"] for x in false}),
                          "false_errors": len(false),
                          "false_errors_by_rule": dict(Counter(x["rule"] for x in false).most_common()),
                          "list": false}
    res["extra_errors_on_planted_forms"] = extra
    res["nar_warnings_on_forms_without_planted_nar"] = false_nar
    res["false_errors_by_form_quirk"] = {q: dict(c) for q, c in sorted(false_q.items())
                                         if c["with_false_errors"]}
    res["amounts_by_tag"] = {tg: {"n": tag_n[tg], "right": tag_ok[tg], "misses": dict(tag_fail[tg])}
                             for tg in sorted(tag_n)}
    if examples:
        res["examples"] = ex
    return res


def show(res):
    a = res["amounts"]
    print(f"\nheld-out score — {res['files']} forms")
    rows = [("amounts right (value and cell)", a["right"], a["total"]),
            ("  variant templates (several value columns)", a["variant_templates"]["right"],
             a["variant_templates"]["total"]),
            ("  final column only (决算数/执行数/年末数 or the one column)", a["final_column"]["right"],
             a["final_column"]["total"]),
            ("planted discrepancies flagged at the cell", res["planted"]["flagged_at_cell"],
             res["planted"]["total"]),
            ("narrative discrepancies flagged", res["narrative"]["flagged"], res["narrative"]["total"]),
            ("clean forms without false errors",
             res["clean_forms"]["total"] - res["clean_forms"]["with_false_errors"], res["clean_forms"]["total"]),
            ("unit names right", res["unit_names"]["right"], res["unit_names"]["total"]),
            ("years right", res["years"]["right"], res["years"]["total"]),
            ("files accepted", res["files"] - len(res["files_lost"]), res["files"])]
    for name, x, n in rows:
        print(f"  {name:<46} {x:>6} / {n:<6} {pct(x, n)}")
    print(f"  false errors on clean forms: {res['clean_forms']['false_errors']} "
          f"{res['clean_forms']['false_errors_by_rule']}")
    print(f"  extra errors on planted forms: {res['extra_errors_on_planted_forms']}; "
          f"NAR-001 on forms without a planted one: {res['nar_warnings_on_forms_without_planted_nar']}")
    print(f"  null-token cells read as a value: {res['null_cells']['read_as_value']} / "
          f"{res['null_cells']['total']}; amount rows at cells holding no amount: {res['spurious_amount_rows']}")
    print(f"  files split into several units: {len(res['files_split_into_units'])}")
    print(f"  forms whose present facts were reported missing (REQ-001): {res['facts_reported_missing']}")
    print(f"  amount outcomes: {a['by_outcome']}")
    print("\n  planted, by rule:  " + "  ".join(f"{r} {c.get('at_cell', 0)}/{c['planted']}"
                                               for r, c in res["planted"]["by_rule"].items()))
    print("  narrative, by field:  " + "  ".join(f"{r} {c.get('at_cell', 0)}/{c['planted']}"
                                                 for r, c in res["narrative"]["by_field"].items()))
    print("\n  amounts by quirk (cell tags, then form:<quirk>)")
    print(f"  {'tag':<44} {'n':>6} {'right':>7}   top misses")
    for tg, c in res["amounts_by_tag"].items():
        miss = ", ".join(f"{k} {v}" for k, v in sorted(c["misses"].items(), key=lambda x: -x[1])[:3])
        print(f"  {tg:<44} {c['n']:>6} {pct(c['right'], c['n'])}   {miss}")
    print("\n  unit names / years by quirk")
    for q, c in res["unit_names"]["by_quirk"].items():
        print(f"  unit {q:<40} {c.get('ok', 0):>4} / {c['n']:<4}")
    for q, c in res["years"]["by_quirk"].items():
        print(f"  year {q:<40} {c.get('ok', 0):>4} / {c['n']:<4}")
    print("\n  planted errors missed, by form quirk (missed / planted)")
    for q, c in res["planted_missed_by_form_quirk"].items():
        print(f"  {q:<44} {c.get('missed', 0):>4} / {c['planted']:<4}")
    if res["false_errors_by_form_quirk"]:
        print("\n  clean forms with false errors, by form quirk")
        for q, c in res["false_errors_by_form_quirk"].items():
            print(f"  {q:<44} {c['with_false_errors']:>4} / {c['forms']:<4} clean forms")
    if res["clean_forms"]["list"]:
        print("\n  false errors (clean forms)")
        for x in res["clean_forms"]["list"][:60]:
            print(f"  {x['file']} {x['sheet']}!{x['cell']} {x['rule']} {x['field']}: {x['message'][:80]}")
        if len(res["clean_forms"]["list"]) > 60:
            print(f"  … {len(res['clean_forms']['list']) - 60} more in score.json")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--code", type=Path, help="run python -m pipeline.cli from this checkout")
    ap.add_argument("--no-run", action="store_true", help="score an existing DIR_out")
    ap.add_argument("--examples", type=int, default=0, help="keep N example misses per outcome")
    a = ap.parse_args(argv)
    out = a.out or Path(str(a.dir).rstrip("/") + "_out")
    if not a.no_run:
        run_selfeval(a.dir, out, a.code)
    res = score(a.dir, out, a.examples)
    (out / "score.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
    show(res)
    print(f"\n  written: {out / 'score.json'}")


if __name__ == "__main__":
    main()
