"""Evaluate the form's simple formulas (SUM of ranges, + − × ÷ of cells) when no cached value exists.

Anything beyond that returns None: an uncomputed formula is never read as 0.
"""
from __future__ import annotations

import re
from functools import lru_cache
from decimal import Decimal, DivisionByZero, InvalidOperation

_TOKEN = re.compile(
    r"\s*(?:(?P<range>\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+)|(?P<ref>\$?[A-Z]{1,3}\$?\d+)"
    r"|(?P<num>\d+(?:\.\d+)?)|(?P<func>SUM)\(|(?P<op>[-+*/(),]))", re.I)


class _Unsupported(Exception):
    pass


@lru_cache(maxsize=8192)   # the same references and formulas come back in every form of a template
def _rc(ref: str) -> tuple[int, int]:
    ref = ref.replace("$", "").upper()
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


@lru_cache(maxsize=8192)
def tokenize(text: str) -> tuple[tuple[str, str], ...]:
    out, pos = [], 0
    text = text.strip().lstrip("=")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise _Unsupported(text[pos:])
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return tuple(out)


def evaluate(text: str, cell_value) -> Decimal | None:
    """cell_value((row, col)) → Decimal | None (blank counts as 0; None aborts)."""
    try:
        tokens = tokenize(text)
        val, pos = _expr(tokens, 0, cell_value)
        if pos != len(tokens):
            return None
        return val
    except (_Unsupported, InvalidOperation, DivisionByZero, IndexError, ZeroDivisionError, RecursionError):
        return None


def _expr(t, i, cv):
    val, i = _term(t, i, cv)
    while i < len(t) and t[i] in (("op", "+"), ("op", "-")):
        op = t[i][1]
        rhs, i = _term(t, i + 1, cv)
        val = val + rhs if op == "+" else val - rhs
    return val, i


def _term(t, i, cv):
    val, i = _factor(t, i, cv)
    while i < len(t) and t[i] in (("op", "*"), ("op", "/")):
        op = t[i][1]
        rhs, i = _factor(t, i + 1, cv)
        val = val * rhs if op == "*" else val / rhs
    return val, i


def _factor(t, i, cv):
    kind, text = t[i]
    if kind == "op" and text == "-":
        v, i = _factor(t, i + 1, cv)
        return -v, i
    if kind == "op" and text == "+":
        return _factor(t, i + 1, cv)
    if kind == "num":
        return Decimal(text), i + 1
    if kind == "ref":
        return _cell(cv, _rc(text)), i + 1
    if kind == "op" and text == "(":
        v, i = _expr(t, i + 1, cv)
        if t[i] != ("op", ")"):
            raise _Unsupported(")")
        return v, i + 1
    if kind == "func":
        total = Decimal(0)
        i += 1
        while True:
            if t[i][0] == "range":
                a, b = t[i][1].split(":")
                (r1, c1), (r2, c2) = _rc(a), _rc(b)
                if (r2 - r1 + 1) * (c2 - c1 + 1) > 10_000:
                    raise _Unsupported("range too large")
                for r in range(min(r1, r2), max(r1, r2) + 1):
                    for c in range(min(c1, c2), max(c1, c2) + 1):
                        total += _cell(cv, (r, c), in_sum=True)
                i += 1
            else:
                v, i = _expr(t, i, cv)
                total += v
            if t[i] == ("op", ","):
                i += 1
                continue
            if t[i] == ("op", ")"):
                return total, i + 1
            raise _Unsupported("SUM")
    raise _Unsupported(text)


def _cell(cv, rc, in_sum: bool = False) -> Decimal:
    v = cv(rc, in_sum)
    if v is None:
        raise _Unsupported(rc)
    return v
