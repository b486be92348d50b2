"""Every rule and every reason code is documented in the README."""
from __future__ import annotations

import re
from pathlib import Path

from pipeline.check.ruleset import load_pack

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_rule_is_documented():
    missing = [r.id for r in load_pack().rules if f"`{r.id}`" not in README]
    assert missing == []


def test_every_reason_code_is_documented():
    codes = set()
    for path in (ROOT / "pipeline").rglob("*.py"):
        codes |= set(re.findall(r'(?:Rejected\(|_failed\([^,]+, [^,]+, |FileResult\([^,]+, [^,]+, "rejected", )"([A-Z_]+)"',
                                path.read_text(encoding="utf-8")))
    codes |= {"NO_FORM"}
    assert len(codes) > 10
    assert sorted(c for c in codes if f"`{c}`" not in README) == []


def test_readme_starts_with_the_two_commands():
    head = README.split("\n## ")[0]
    assert "selfeval run sample_workbooks" in head and "python -m pytest" in head
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "python -m pytest"
