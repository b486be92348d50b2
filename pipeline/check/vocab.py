"""The indicator checks' vocabulary (rules.toml [indicators]) compiled once per rule pack:
comparison words, measure words, the key nouns of figures told twice, words that widen a figure.

Raises ValueError with a Chinese message for a malformed table (ruleset.py names the file).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

# Full-width ASCII to half-width, for the pack's own words (the checks read texts as typed, both
# widths in their patterns).
WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_WIDE = {c - 0xFEE0: c for c in range(0xFF01, 0xFF5F)}
_LISTS = ("at_least", "at_most", "neutral", "approx", "below", "more", "lower_is_better",
          "name_fillers", "units", "skip", "qualifiers")


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@dataclass(frozen=True)
class Vocab:
    at_least: tuple[str, ...] = ()
    at_most: tuple[str, ...] = ()
    neutral: tuple[str, ...] = ()
    approx: tuple[str, ...] = ()
    below: tuple[str, ...] = ()
    more: tuple[str, ...] = ()
    lower_is_better: tuple[str, ...] = ()
    name_fillers: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    qualifiers: tuple[str, ...] = ()
    nouns: dict = field(default_factory=dict)        # key noun → its measure words
    approx_tolerance: Decimal = Decimal("0.1")
    window: int = 24                                 # characters between a key noun and its figure
    # compiled
    qty: re.Pattern | None = None
    noun_re: re.Pattern | None = None
    skip_re: re.Pattern | None = None
    word_lengths: tuple[int, ...] = ()               # lengths of the comparison words, longest first
    tail_cmp: re.Pattern | None = None
    _noun_res: dict = field(default_factory=dict, repr=False)
    kinds: dict = field(default_factory=dict)        # comparison word → ">=" | "<=" | "~" | "=" | "<"

    @classmethod
    def from_toml(cls, data: dict) -> "Vocab":
        if not isinstance(data, dict):
            raise ValueError("应为一个表")
        lists = {}
        for key in _LISTS:
            v = data.get(key, [])
            if not isinstance(v, list) or not all(isinstance(w, str) and w for w in v):
                raise ValueError(f"{key} 应为文字列表")
            lists[key] = tuple(w.translate(WIDTH) for w in v)
        nouns = data.get("nouns", {})
        if not isinstance(nouns, dict) or not all(
                isinstance(ms, list) and ms and all(isinstance(m, str) and m for m in ms) for ms in nouns.values()):
            raise ValueError("nouns 应为“关键词 = [量词, …]”的表，例如 \"投诉\" = [\"起\", \"件\"]")
        try:
            tol = Decimal(str(data.get("approx_tolerance", "0.1")))
            window = int(data.get("window", 24))
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError("approx_tolerance 应为数字（例如 0.1），window 应为整数") from None
        if not tol.is_finite() or not 0 <= tol < 1 or window < 0:
            raise ValueError("approx_tolerance 应在 0 与 1 之间，window 不能为负数")
        units = set(lists["units"]) | {m for ms in nouns.values() for m in ms}
        kinds = {}
        for key, mark in (("neutral", "="), ("approx", "~"), ("below", "<"), ("at_most", "<="), ("at_least", ">=")):
            for w in lists[key]:
                kinds[w] = mark
                kinds[w.translate(_WIDE)] = mark   # ＞＝ as typed on a full-width keyboard
        qty = re.compile(r"(?<![\d.．])(\d+(?:[.．]\d+)?)\s*([万千亿])?\s*(" + _alt(lists["more"] or ["余"])
                         + r")?\s*(%|％|‰|" + _alt(units) + ")")
        words = _alt(kinds)
        return cls(**lists, nouns={k.translate(WIDTH): tuple(v) for k, v in nouns.items()},
                   approx_tolerance=tol, window=window, qty=qty,
                   noun_re=re.compile(_alt(nouns)) if nouns else None,
                   skip_re=re.compile(_alt(lists["skip"])) if lists["skip"] else None,
                   word_lengths=tuple(sorted({len(w) for w in kinds}, reverse=True)),
                   tail_cmp=re.compile(r"\s*(" + words + ")") if words else None,
                   kinds=kinds)

    def nouns_re(self, present: list[str]) -> re.Pattern:
        """The alternation of just these key nouns (most texts name one or two), built once."""
        key = tuple(present)
        pat = self._noun_res.get(key)
        if pat is None:
            pat = self._noun_res[key] = re.compile(_alt(present))
        return pat

    def lower_better(self, text: str) -> bool:
        return any(w in text for w in self.lower_is_better)


CHECKS = ("target", "repeat", "points_sum", "points_range", "full_points")


def rule_problem(params: dict) -> str | None:
    """What is wrong with an indicator rule's own keys (check, tolerance), in Chinese, or None."""
    if params.get("check") not in CHECKS:
        return f"check 应为 {'、'.join(CHECKS)} 之一，而不是 {params.get('check')!r}"
    try:
        tol = Decimal(str(params.get("tolerance", "0")))
    except InvalidOperation:
        tol = None
    if tol is None or not tol.is_finite() or tol < 0:
        return f"tolerance 应为不小于 0 的数字，而不是 {params.get('tolerance')!r}"
    return None
