"""What a run asks the store before it checks a chunk: which version of its unit-year each form
is (DUP-001 as 第 N 版), last year's figures (the cross_year rules) and the 说明 in force for its
findings (问题清单, findings.csv, the returned copy). Read-only: the recorder writes."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from .base import ACCEPTED, WEB_FOLDER, name_key
from .notes import has_return_sheet, match_notes, read_notes
from .states import UnitYear, derive

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


class VersionBook:
    """The versions the store already has, loaded once at the start of a run (no SQL after
    that): a unit's key from the name it wrote, and each form's place among its unit-year's
    versions — the forms of this run counted in, in the order the run meets them."""

    def __init__(self, store: Store, units: list[str] | None = None):
        """units: only these units' versions (a self-check of one unit's upload), else all."""
        with store.reading() as tx:
            self.aliases = store.aliases(tx)
            self.has_roster = store.roster_size(tx) > 0
            rows = store.unit_years(tx) if units is None else [r for k in units for r in store.unit_years(tx, unit_key=k)]
            by_id = {r["id"]: (r["unit_key"], r["year"]) for r in rows}
            self.paths: dict[tuple[str, str], list[tuple[str, str, str, str]]] = defaultdict(list)
            for v in store.versions(tx, by_id):
                self.paths[by_id[v["unit_year_id"]]].append((v["path"], v["sheet"], v["sha256"], _label(v)))
        self.met: dict[tuple, str] = {}   # (unit key, year, sha256, sheet) → the file this run met it in

    def key(self, name: str) -> str | None:
        """The unit's key (roster code, or the normalised name without a roster); None when a
        roster exists and the name is on none of its entries."""
        nk = name_key(name)
        k = self.aliases.get(nk)
        return k if k is not None or self.has_roster else nk

    def place(self, name: str, year: str, path: str, sheet: str,
              sha256: str = "") -> tuple[int, list[str], str]:
        """(N, the earlier versions' files, same) for this form as its unit-year's version N; a
        form the store already has keeps its place. same: the other file of this run with the
        very same content (a copy sent twice is one version), else "". Call once per form, in
        the order received."""
        k = self.key(name) or name_key(name)
        seen = self.paths[(k, str(year))]
        for i, (p, sh, sha, _) in enumerate(seen):
            if sh == sheet and ((sha and sha == sha256) or (not sha256 and p == path)):
                break
        else:
            i = len(seen)
            seen.append((path, sheet, sha256, path))
        first = self.met.setdefault((k, str(year), sha256 or path, sheet), path)
        return i + 1, list(dict.fromkeys(x[3] for x in seen[:i])), first if first != path else ""

    def note(self, name: str, year: str, path: str, sheet: str, sha256: str = "") -> str | None:
        """'第 N 版，替代 …' when the form is not its unit-year's first, else None."""
        n, earlier, _ = self.place(name, year, path, sheet, sha256)
        return f"第 {n} 版，替代 {'、'.join(earlier)}" if n > 1 else None


def _label(v: dict) -> str:
    """A stored version as a unit or reviewer knows it: its file, or for an upload on the web
    desk (stored under its digest) when it was submitted."""
    if str(v["path"]).startswith(WEB_FOLDER + "/"):
        from .coverage import _local

        return f"网上报送（{_local(v['received_at'])}）"
    return v["path"]


def previous_year(store: Store, tx, pairs) -> dict:
    """(unit key, year) → (last year's figures {block.field: amount text}, last year, whether
    last year is 通过): last year's 通过 version, else its current one."""
    want = {}
    for k, y in pairs:
        if str(y).isdigit():
            want[(k, str(int(y) - 1))] = (k, str(y))
    if not want:
        return {}
    rows = store.find_unit_years(tx, want)
    ids = {r["id"]: (r["unit_key"], r["year"]) for r in rows}
    vers, acts = defaultdict(list), defaultdict(list)
    for v in store.versions(tx, ids):
        vers[v["unit_year_id"]].append(v)
    for a in store.actions(tx, ids):
        acts[a["unit_year_id"]].append(a)
    chosen = {}
    for i in ids:
        uy = derive(UnitYear(*ids[i], {}, i, vers[i], acts[i]), 0)
        if uy.current is not None:
            chosen[i] = (uy.current["id"], uy.state == ACCEPTED)
    figs = store.version_values(tx, [v for v, _ in chosen.values()])
    out = {}
    for i, (v, ok) in chosen.items():
        k, y = ids[i]
        out[want[(k, y)]] = (json.loads(figs[v][0]), y, ok)
    return out


class RunContext:
    """prepare(frames, files) before each chunk's rules: the context validate() takes —
    {"versions": uid → (N, earlier files, the same content's first file in this run or "")
                  for forms past their unit-year's first or sent twice,
     "previous": uid → last year's (figures, year, 通过), "notes": uid → {问题编号: 说明}}.
    The 说明 a returned copy carries are read here once (copy_notes) and recorded by the recorder."""

    def __init__(self, store: Store, inbox: Path | None = None, units: list[str] | None = None):
        self.store, self.inbox = store, Path(inbox) if inbox else None
        self.book = VersionBook(store, units)
        self.copy_notes: dict[str, list[dict]] = {}   # file → the 说明 rows of its 问题清单

    def _path(self, r) -> Path:
        return Path(r.path) if getattr(r, "path", "") else (self.inbox or Path(".")) / r.file

    def prepare(self, frames, files) -> dict:
        versions, keyed = {}, {}
        if frames is None:
            return {"versions": versions, "previous": {}, "notes": {}}
        by_file = {r.file: r for r in files}
        for u in frames.unit_records:
            if not u.get("unit") or not u.get("year"):
                continue
            r = by_file.get(u["file"])
            n, earlier, same = self.book.place(u["unit"], str(u["year"]), u["file"], u["sheet"],
                                               getattr(r, "sha256", "") or "")
            if n > 1 or same:
                versions[u["uid"]] = (n, earlier, same)
            k = self.book.key(u["unit"])
            if k is not None:
                keyed[u["uid"]] = (k, str(u["year"]))
        st = self.store
        with st.reading() as tx:
            last = previous_year(st, tx, set(keyed.values()))
            notes = self._notes(tx, {uid: keyed[uid] for uid in versions if uid in keyed}, frames, by_file)
        previous = {uid: last[p] for uid, p in keyed.items() if p in last}
        return {"versions": versions, "previous": previous, "notes": notes}

    def _notes(self, tx, later: dict, frames, by_file: dict) -> dict:
        """uid → {key: 说明} for forms that are a later version: the unit-year's 说明 in force
        (the latest per finding, unless a reviewer rejected it), then those its copy carries."""
        if not later:
            return {}
        st = self.store
        ids = {(r["unit_key"], r["year"]): r["id"] for r in st.find_unit_years(tx, set(later.values()))}
        held = defaultdict(dict)
        for n in st.explanations(tx, ids.values()):
            if n.get("rejected_by") is None:
                held[n["unit_year_id"]][n["key"]] = n["text"]
            else:
                held[n["unit_year_id"]].pop(n["key"], None)
        prior = defaultdict(list)
        versions = st.versions(tx, ids.values())
        vid_uy = {v["id"]: v["unit_year_id"] for v in versions}
        for f in st.findings(tx, vid_uy):
            prior[vid_uy[f["version_id"]]].append(f)
        out = {}
        sheets = defaultdict(int)
        for u in frames.unit_records:
            sheets[u["file"]] += 1
        for u in frames.unit_records:
            uid = u["uid"]
            if uid not in later:
                continue
            uy = ids.get(later[uid])
            mine = dict(held.get(uy, {}))
            r = by_file.get(u["file"])
            if r is not None:
                if u["file"] not in self.copy_notes:
                    p = self._path(r)
                    self.copy_notes[u["file"]] = read_notes(p) if has_return_sheet(p) else []
                rows = [n for n in self.copy_notes[u["file"]]
                        if sheets[u["file"]] == 1 or not n["sheet"] or n["sheet"] == u["sheet"]]
                for n in match_notes(rows, prior.get(uy, [])):
                    mine[n["key"]] = n["note"]
            if mine:
                out[uid] = mine
        return out


class Preview(RunContext):
    """A run's hook that only asks (the web desk's self-check before 上报): the same versions,
    last year and 说明 as a recorded run would see, nothing written."""

    def __call__(self, frames, findings, unit_rows, files) -> None:
        pass
