"""A finding's identity across versions: (unit, year, rule, block, org, field), never the A1 cell,
which moves when a unit inserts a row. Kept free of the store's imports: the writers of
summary.xlsx and of the returned copies (问题编号) need it on every run."""
from __future__ import annotations

import hashlib
from collections import Counter

from ..read.labels import strip_enum


def org_key(org: str) -> str:
    """An org row compared across versions: no enumeration ('2、'), the summary row as 汇总."""
    s = strip_enum(org or "")
    return "汇总" if s.endswith("汇总") or s == "合计" else s


def finding_key(rule: str, block: str, org: str, fld: str) -> str:
    """A finding's identity within its unit-year — (rule, block, org, field). Unit and year are
    the unit-year's own; this is the 问题编号 of a returned copy."""
    h = hashlib.sha1(f"{block}|{org_key(org)}|{fld}".encode()).hexdigest()[:6].upper()
    return f"{rule}-{h}"


def finding_keys(findings) -> list[str]:
    """Keys of findings in order; a second finding of the same identity on one form gets '-2'."""
    seen: Counter = Counter()
    out = []
    for f in findings:
        k = finding_key(_g(f, "rule"), _g(f, "block"), _g(f, "org"), _g(f, "field"))
        seen[(_g(f, "file"), _g(f, "sheet"), k)] += 1
        n = seen[(_g(f, "file"), _g(f, "sheet"), k)]
        out.append(k if n == 1 else f"{k}-{n}")
    return out


def _g(f, name):
    return f.get(name, "") if isinstance(f, dict) else getattr(f, name, "")
