"""A form's sheet drawn as a web table: grid_job reads a sheet's values and merged ranges in a
contained worker (it imports only python-calamine), layout() turns grid and findings into the rows
a template draws — flagged cells marked, each row's messages beside it. No HTTP, no SQL."""
from __future__ import annotations

import datetime as dt
import re

from ..models import col_letter

MAX_ROWS, MAX_COLS = 400, 40          # a form is far smaller; a bigger sheet is drawn cut
LONG_TEXT = 160                       # longer cell texts are drawn in a scroll box


def grid_job(path: str, sheets: list) -> dict:
    """sheet → {"rows": [[text…]…], "merged": [[r0, c0, r1, c1]…], "cut": bool} (runs in a worker;
    the file was accepted by the guarded reader before it gets here)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    out = {}
    for name in sheets:
        try:
            sh = wb.get_sheet_by_name(name)
        except Exception:
            continue
        rows = sh.to_python(skip_empty_area=False)
        cut = len(rows) > MAX_ROWS or any(len(r) > MAX_COLS for r in rows[:MAX_ROWS])
        rows = [[_text(v) for v in r[:MAX_COLS]] for r in rows[:MAX_ROWS]]
        while rows and not any(rows[-1]):
            rows.pop()
        width = max((max((i + 1 for i, v in enumerate(r) if v), default=0) for r in rows), default=0)
        rows = [(r + [""] * width)[:width] for r in rows]
        merged = []
        for (r0, c0), (r1, c1) in (sh.merged_cell_ranges or []):
            if r0 < len(rows) and c0 < width:
                merged.append([r0, c0, min(r1, len(rows) - 1), min(c1, width - 1)])
        out[name] = {"rows": rows, "merged": merged, "cut": cut}
    return out


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.10g}"
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    return str(v)


_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def parse_a1(cell: str) -> tuple[int, int] | None:
    m = _A1.match((cell or "").strip().upper())
    if not m:
        return None
    c = 0
    for ch in m.group(1):
        c = c * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, c - 1


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def layout(grid: dict, findings: list[dict]) -> dict:
    """Rows to draw: each cell {text, long, rs, cs, sev, marks}, each row its findings (numbered
    marks, the message beside the row). findings: dicts with cell, severity, message and a mark."""
    rows, merged = grid["rows"], grid["merged"]
    width = len(rows[0]) if rows else 0
    covered, span = set(), {}
    for r0, c0, r1, c1 in merged:
        span[(r0, c0)] = (r1 - r0 + 1, c1 - c0 + 1)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    covered.add((r, c))
    owner = {}   # a cell inside a merged range is drawn at the range's first cell
    for r0, c0, r1, c1 in merged:
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                owner[(r, c)] = (r0, c0)
    at: dict = {}
    outside = []
    for f in findings:
        rc = parse_a1(f.get("cell", ""))
        if rc is None or rc[0] >= len(rows) or rc[1] >= width:
            outside.append(f)
            continue
        at.setdefault(owner.get(rc, rc), []).append(f)
    out_rows = []
    for r, values in enumerate(rows):
        cells, notes = [], []
        for c, text in enumerate(values):
            if (r, c) in covered:
                continue
            fs = sorted(at.get((r, c), []), key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))
            rs, cs = span.get((r, c), (1, 1))
            cells.append({"text": text, "long": len(text) > LONG_TEXT, "rs": rs, "cs": cs,
                          "sev": fs[0]["severity"] if fs else "", "marks": [f["mark"] for f in fs],
                          "a1": f"{col_letter(c)}{r + 1}", "num": bool(_NUMBER.match(text)),
                          "parts": quoted_parts(text, fs) if fs and len(text) > LONG_TEXT else None})
            notes += fs
        out_rows.append({"n": r + 1, "cells": cells, "findings": notes})
    return {"cols": [col_letter(c) for c in range(width)], "rows": out_rows, "outside": outside,
            "cut": grid.get("cut", False)}


_NUMBER = re.compile(r"^\s*-?[\d,]+(\.\d+)?\s*$")
_QUOTED = re.compile(r"“([^”]{2,120})”")


def quoted_parts(text: str, findings: list[dict]) -> list[tuple[str, bool]] | None:
    """A long text cut where the findings' messages quote it (“收入合计255.12万元”), so that the
    quoted words can be marked inside the report: [(piece, quoted?)…], or None."""
    spans = []
    for f in findings:
        for q in _QUOTED.findall(f.get("message", "")):
            i = text.find(q)
            if i >= 0:
                spans.append((i, i + len(q)))
    if not spans:
        return None
    spans.sort()
    parts, pos = [], 0
    for a, b in spans:
        if a < pos:
            continue
        parts += [(text[pos:a], False), (text[a:b], True)]
        pos = b
    parts.append((text[pos:], False))
    return [p for p in parts if p[0]]
