"""What a run asks the store before it checks a chunk (versions so far, last year, 说明)."""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from .base import name_key

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


class VersionBook:
    """What a run needs to know, before it writes a chunk, of the versions the store already has:
    a unit's key from the name it wrote, and '第 N 版，替代 …' for a form that is not the unit-
    year's first (DUP-001 as information). Loaded once at the start of a run; no SQL after that."""

    def __init__(self, store: Store, years: list[str] | None = None):
        with store.transaction() as tx:
            self.aliases = store.aliases(tx)
            self.has_roster = store.roster_size(tx) > 0
            rows = store.unit_years(tx) if not years else [r for y in years for r in store.unit_years(tx, y)]
            by_id = {r["id"]: (r["unit_key"], r["year"]) for r in rows}
            self.paths: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
            for v in store.versions(tx, by_id):
                self.paths[by_id[v["unit_year_id"]]].append((v["path"], v["sheet"], v["sha256"]))

    def key(self, name: str) -> str | None:
        """The unit's key (roster code, or the normalised name without a roster); None when a
        roster exists and the name is on none of its entries."""
        nk = name_key(name)
        k = self.aliases.get(nk)
        return k if k is not None or self.has_roster else nk

    def note(self, name: str, year: str, path: str, sheet: str, sha256: str = "") -> str | None:
        """'第 N 版，替代 …' when the unit-year has earlier versions (None for its first); the form
        is counted in, so call it once per form in the order received."""
        k = self.key(name) or name_key(name)
        seen = self.paths[(k, str(year))]
        for i, (p, sh, sha) in enumerate(seen):
            if (sha and sha == sha256 and sh == sheet) or (p == path and sh == sheet and not sha256):
                return f"第 {i + 1} 版，替代 {'、'.join(dict.fromkeys(x[0] for x in seen[:i]))}" if i else None
        seen.append((path, sheet, sha256))
        n = len(seen)
        return f"第 {n} 版，替代 {'、'.join(dict.fromkeys(x[0] for x in seen[:-1]))}" if n > 1 else None
