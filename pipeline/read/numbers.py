"""Amounts as people type them: numbers, text numbers, full-width digits, units and remarks."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

# Cells that mean "nothing here" rather than a number; kept blank (not zero), raw text kept.
BLANK_MARKS = {"-", "--", "—", "——", "/", "\\", "无", "空", "-/-", "不适用"}

_NUM = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$", re.S)
_PAREN_NEG = re.compile(r"^\((\d+(?:\.\d*)?|\.\d+)\)(?:万元)?$")
_NEG_MARKS = "△▲"
_PLAIN = re.compile(r"([0-9,]*[0-9](?:\.[0-9]+)?)(?:万元)?")
_ZERO = Decimal(0)
_INF = float("inf")


def to_decimal(v: float | int) -> Decimal:
    """Floats via their shortest repr so that 255.18 stays 255.18."""
    if isinstance(v, int) or v.is_integer():
        return Decimal(int(v))
    return Decimal(repr(v))


def parse_amount(value: object) -> tuple[Decimal | None, str, str]:
    """Return (value, status, note). status: ok | blank | text.

    note carries what a reviewer should know: a remark typed after the number, or "元" when the
    cell itself states yuan (the caller converts).
    """
    if value is None:
        return None, "blank", ""
    kind = type(value)
    if kind is float:  # the common case first: a number as the spreadsheet stores it
        if value != value or value in (_INF, -_INF):
            return None, "text", ""
        return to_decimal(value), "ok", ""
    if isinstance(value, bool):
        return None, "text", ""
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return None, "text", ""
        return to_decimal(value), "ok", ""
    s = unicodedata.normalize("NFKC", str(value)).strip()
    m = _PLAIN.fullmatch(s)
    if m:   # 1234.50, 1,234.50, １２．５, 12.5万元: what most text amounts are, the steps below in one
        return Decimal(m.group(1).replace(",", "")), "ok", ""
    if not s:
        return None, "blank", ""
    if s in BLANK_MARKS:
        return None, "blank", "mark"
    s = s.replace(",", "").replace(" ", "").replace("\u3000", "")
    if not s:   # only separators (",", "，"): text, not a number and never a crash
        return None, "text", ""
    if s[0] in "¥$":  # ¥1,234.50 / ￥ (NFKC ¥)
        s = s[1:]
        if not s:
            return None, "text", ""
    if s[0] in _NEG_MARKS:  # △12.50 / ▲12.50: the accounting minus (－ is '-' after NFKC)
        s = "-" + s[1:]
    m = _PAREN_NEG.match(s)
    if m:  # (12.50), （12.50） after NFKC: an accountant's negative
        return -Decimal(m.group(1)), "ok", ""
    m = _NUM.match(s)
    if not m:
        return None, "text", ""
    sign, digits, rest = m.groups()
    try:
        d = Decimal(digits.rstrip(".") or "0")
    except InvalidOperation:
        return None, "text", ""
    if sign == "-":
        d = -d
    rest = rest.strip()
    note = ""
    if rest.startswith("万元"):
        rest = rest[2:].strip()
    elif rest.startswith("元"):
        rest, note = rest[1:].strip(), "元"
    if rest:
        if re.search(r"\d", rest) or rest.startswith(("%", "*", "/", "+", "-", "e", "E")):
            return None, "text", ""  # "12.3/45", "12%": not one amount
        note = (note + " " + rest).strip() if note else rest
    return d, "ok", note


def yuan_to_wan(d: Decimal) -> Decimal:
    return d / Decimal(10000) if d else _ZERO
