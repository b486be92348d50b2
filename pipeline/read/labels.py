"""Label normalising and the synonym table (rules/labels.toml)."""
from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from .tokens import label_pattern

_SPACE = re.compile(r"\s+")
_UNIT = re.compile(r"\((?:(?:金额)?单位[:：]?)?(?:人民币)?(?:万元|千元|元|人|个)\)$")
_ENUM = re.compile(r"^(?:\d+[、.．]|\(\d+\)|[一二三四五六七八九十]+[、.]|\([一二三四五六七八九十]+\))")


# the scalar facts that may share one cell with their label (填报单位：X) or with other facts
INLINE_FACTS = ("unit", "fill_date", "contact", "phone", "filler", "staff_quota", "staff_actual",
                "score", "grade", "year")


def rules_dir() -> Path:
    """The rule pack folder: $SELFEVAL_RULES (a folder, or its rules.toml), else the pack shipped
    inside the package (pipeline/rules, installed with the wheel)."""
    env = os.environ.get("SELFEVAL_RULES")
    if env:
        p = Path(env)
        return p.parent if p.suffix.lower() == ".toml" else p
    return Path(str(files("pipeline") / "rules"))


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """Compare-form of a label: NFKC, no spaces, no colons or stars, no unit suffix, no 其中."""
    s = unicodedata.normalize("NFKC", text)
    s = _SPACE.sub("", s).replace("“", "").replace("”", "").replace('"', "")
    s = s.strip(":*：")
    s = _UNIT.sub("", s)
    if s.startswith("其中"):
        s = s[2:].lstrip(":")
    return s.strip(":")


@lru_cache(maxsize=65536)
def strip_enum(name: str) -> str:
    """'2、二级机构1' → '二级机构1' (for comparing org names, never for output)."""
    return _ENUM.sub("", norm(name))


class Labels:
    """The synonym table, normalised once."""

    def __init__(self, data: dict):
        org = data["org"]
        self.org_header = {norm(x) for x in org["header"]}
        self.summary = {norm(x) for x in org["summary"]}
        self.summary_contains = [norm(x) for x in org.get("summary_contains", [])]
        self.subtotal = {norm(x) for x in org.get("subtotal", [])}
        self.org_columns = {norm(x) for x in org.get("columns", [])}
        self.renamed = {norm(x) for x in data.get("generations", {}).get("renamed", [])}
        self.measures: dict[str, str] = {}
        for measure, words in data.get("measures", {}).items():
            for w in words:
                self.measures[norm(w)] = measure
        self.titles = {b: [norm(x) for x in xs] for b, xs in data["block_titles"].items()}
        self.fields: dict[str, set[str]] = {}
        for key, words in data["fields"].items():
            for w in words:
                self.fields.setdefault(norm(w), set()).add(key)
        self.facts = {k: {norm(x) for x in xs} for k, xs in data["facts"].items()}
        self.all_facts = set().union(*self.facts.values())
        self.section_words = set().union(*(self.facts.get(k, set()) for k in (
            "score", "grade", "indicator_header", "goals_expected")))
        self._summary_of: dict[str, bool] = {}   # org text → is_summary, memoised
        self._memo: dict[str, dict] = {}
        self._fact_index: dict[str, str] = {}
        for key, words in reversed(list(self.facts.items())):
            for w in words:
                self._fact_index[w] = key  # the first key listing a word wins
        self.fact_labels = frozenset(self._fact_index)
        inline = [w for k in INLINE_FACTS for w in data["facts"].get(k, [])]
        self.inline = label_pattern(inline) if inline else None

    def memo(self, name: str) -> dict:
        """A table of per-text results the reader works out once for many forms (locate.py),
        emptied when it grows past what one template family needs (a run sees new org names
        and narratives in every form)."""
        table = self._memo.get(name)
        if table is None or len(table) > 65536:
            table = self._memo[name] = {}
        return table

    def fact_of(self, label: str) -> str | None:
        return self._fact_index.get(label)

    def is_summary(self, org: str) -> bool:
        hit = self._summary_of.get(org)
        if hit is None:   # asked of every org row, by the locator and the summary marking
            if len(self._summary_of) > 65536:
                self._summary_of.clear()
            n = strip_enum(org)
            hit = self._summary_of[org] = n in self.summary or any(w in n for w in self.summary_contains)
        return hit

    def is_subtotal(self, org: str) -> bool:
        return strip_enum(org) in self.subtotal

    def measure_of(self, label: str) -> str | None:
        """预算数 → budget, 决算数 → final, … (a normalised header word)."""
        return self.measures.get(label)  # norm() has already dropped a unit suffix


@lru_cache(maxsize=4)
def load_labels(path: str | None = None) -> Labels:
    p = Path(path) if path else rules_dir() / "labels.toml"
    with open(p, "rb") as fh:
        return Labels(tomllib.load(fh))
