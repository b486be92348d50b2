"""The recorder a run calls after each chunk: files, versions, findings and 说明 into the store."""
from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..check.keys import finding_keys
from ..check.ruleset import ALL_FIELDS
from ..store import StoreError, now
from .base import name_key, who
from .context import RunContext
from .coverage import coverage
from .diffs import changes
from .notes import has_return_sheet, match_notes, read_notes
from .states import UnitYear, collection, derive

if TYPE_CHECKING:   # SQLAlchemy is loaded only when a store is opened
    from ..store.core import Store


@dataclass
class Recorded:
    """What a run added to the store (for the run's report)."""
    run_id: int = 0
    versions: int = 0           # new versions
    unchanged: int = 0          # forms already in the store (same content)
    files: int = 0              # new file contents stored
    notes: int = 0              # 说明 read from returned copies
    cross_year: int = 0         # cross-year findings
    unmatched: list = field(default_factory=list)   # (path, name as written, year)
    unassigned: list = field(default_factory=list)  # (path, sheet): no unit name or year
    changed: list = field(default_factory=list)     # paths whose file changed after it was read
    cpu_s: float = 0.0          # CPU seconds the recording cost (the run's thread and the writer)


@dataclass
class RunView:
    """The store's word on a run's forms once every chunk is recorded, keyed (file, sheet) as the
    run's outputs name them: for summary.xlsx (totals, 汇总表's states, 总览's completeness, 变化)
    and changes.csv."""
    current: set            # forms that are their unit-year's current version (count in totals)
    superseded: set         # this run's forms that a later version replaces (history only)
    coverage: list          # Coverage per year of the run, when a roster exists
    changes: list           # changes.csv rows of the touched unit-years (collect/diffs.py)


def _figures_json(figures: dict) -> str:
    """The consolidated amounts (and facts) of a version as stored: text, never 1E+2."""
    return json.dumps({k: format(v, "f") if isinstance(v, Decimal) else str(v)
                       for k, v in figures.items() if "@" not in k}, ensure_ascii=False)


@dataclass(slots=True)
class _Form:
    file: str
    sheet: str
    unit: str
    year: str
    figures: dict
    values_csv: str
    findings: list     # Finding


class Recorder:
    """on_chunk for pipeline.run: each written chunk's versions, findings, 说明 and files go into
    the store, in a writer thread (the run goes on meanwhile) and one transaction per chunk.
    finish() waits for the writer and closes the run; fail() removes what the run recorded."""

    def __init__(self, store: Store, inbox: Path, out: Path, *, pack=None, by: str | None = None):
        self.store, self.inbox = store, Path(inbox)
        self.paths: dict[str, Path] = {}   # rel as reported → where it is
        self.pack = pack
        self.tolerance = getattr(pack, "tolerance", Decimal("0.01"))
        self.cross_ids = {r.id for r in getattr(pack, "rules", ()) if r.kind == "cross_year"}
        self.result = Recorded()
        self.error: BaseException | None = None
        self.files_seen = self.units_seen = 0
        self.touched: dict[tuple[str, str], tuple] = {}   # (path, sheet) → (unit-year id, sha256)
        with store.transaction() as tx:
            self.run_id = store.start_run(tx, inbox=str(self.inbox.resolve()), out=str(Path(out).resolve()),
                                          who=by or who(), rules_version=getattr(pack, "version", ""))
        self.result.run_id = self.run_id
        self.context = RunContext(store, self.inbox)
        # who is who: loaded once, by the context's book, for the run's recording as well
        self.aliases, self.has_roster = self.context.book.aliases, self.context.book.has_roster
        # one chunk waiting at most: each one waiting is a chunk's forms held (~15 MB per 1,000)
        self._q: queue.Queue = queue.Queue(maxsize=1)
        self._t = threading.Thread(target=self._loop, name="selfeval-store", daemon=True)
        self._t.start()

    # -- the run's thread: keep it short
    def prepare(self, frames, files) -> dict:
        """Before a chunk's rules (pipeline/run.py): the store's context for them."""
        t0 = time.thread_time()
        try:
            return self.context.prepare(frames, files)
        finally:
            self.result.cpu_s += time.thread_time() - t0

    def __call__(self, frames, findings, unit_rows, files) -> None:
        t0 = time.thread_time()
        try:
            self._hand_over(frames, findings, files)
        finally:
            self.result.cpu_s += time.thread_time() - t0

    def _hand_over(self, frames, findings, files) -> None:
        by_uid = defaultdict(list)
        for f in findings:
            by_uid[f.uid].append(f)
        forms = []
        for p in (frames.forms if frames is not None else ()):
            rec = p.unit_rec
            figs = {}
            for k in ALL_FIELDS:
                v = rec.get(k)
                if v is not None:
                    figs[k] = v
                    figs[k + "@cells"] = rec.get(k + "@cells", "")
            for k in ("contact", "score", "grade"):
                if rec.get("f_" + k) is not None:
                    figs["unit." + k] = rec["f_" + k]
            forms.append(_Form(p.file, p.sheet, p.unit, p.year, figs, p.values_csv, by_uid.get(rec["uid"], [])))
        self.files_seen += len(files)
        self.units_seen += len(forms)
        if self.error is not None:
            raise StoreError(f"收集库写入失败：{self.error}")
        for r in files:   # the file system's path: a name shown decoded (GBK) is not the one to open
            self.paths[r.file] = Path(r.path) if r.path else self.inbox / r.file
        self._q.put((forms, [(r.file, r.sha256, r.status, r.code, r.error) for r in files]))

    def settle(self) -> "RunView":
        """Wait until every chunk so far is in the store, then what the run's outputs need to
        know of it (see RunView): for summary.xlsx's totals, DUP-001 and 问题清单's 说明."""
        done = threading.Event()
        self._q.put(done.set)
        done.wait()
        if self.error is not None:
            raise StoreError(f"收集库写入失败：{self.error}") from self.error
        ids = sorted({u for u, _ in self.touched.values()})
        with self.store.reading() as tx:   # which version is current needs no findings: cheap
            rows = {r["id"]: r for r in self.store.unit_years_by_id(tx, ids)}
            vers, acts = defaultdict(list), defaultdict(list)
            for v in self.store.versions(tx, ids):
                vers[v["unit_year_id"]].append(v)
            for a in self.store.actions(tx, ids):
                acts[a["unit_year_id"]].append(a)
        cur = {i: derive(UnitYear(r["unit_key"], r["year"], {}, i, vers[i], acts[i]), 0).current
               for i, r in rows.items()}
        current = {form for form, (i, sha) in self.touched.items()   # by content: paths differ between runs
                   if cur.get(i) is not None and cur[i]["sha256"] == sha and cur[i]["sheet"] == form[1]}
        years = sorted({r["year"] for r in rows.values()})
        cov = []
        if self.has_roster and years:
            whole = [uy for y in years for uy in collection(self.store, y, roster_only=True)]
            cov = [coverage(whole, y) for y in years]
        again = [i for i in ids if len(vers[i]) > 1]     # only these can have changes
        return RunView(current, set(self.touched) - current, cov,
                       changes(self.store, view=collection(self.store, ids=again)) if again else [])

    def finish(self) -> Recorded:
        self._q.put(None)
        self._t.join()
        if self.error is not None:
            self.fail()
            raise StoreError(f"收集库写入失败：{self.error}") from self.error
        with self.store.transaction() as tx:
            self.store.finish_run(tx, self.run_id, "done", self.files_seen, self.units_seen)
        return self.result

    def fail(self) -> None:
        """The run did not complete: its versions leave the store (its files and receipts stay)."""
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()
        with self.store.transaction() as tx:
            self.store.drop_run_versions(tx, self.run_id)
            self.store.finish_run(tx, self.run_id, "failed", self.files_seen, self.units_seen)

    # -- the writer thread
    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if callable(item):      # settle(): everything before it is written
                item()
                continue
            if self.error is None:
                t0 = time.thread_time()
                try:
                    self._write(*item)
                except BaseException as exc:   # reported by the run's thread
                    self.error = exc
                self.result.cpu_s += time.thread_time() - t0

    def _write(self, forms: list[_Form], files: list[tuple]) -> None:
        st, res, at = self.store, self.result, now()
        sizes, notes = {}, {}
        for rel, *_ in files:
            try:
                sizes[rel] = os.lstat(self.paths.get(rel, self.inbox / rel)).st_size
            except OSError:
                sizes[rel] = 0
        # which unit-year each form is a version of
        keyed, unmatched = [], []
        for f in forms:
            nk = name_key(f.unit)
            if not nk or not f.year:
                res.unassigned.append((f.file, f.sheet))
                continue
            key = self.aliases.get(nk)
            if key is None and self.has_roster:
                unmatched.append((f.file, f.unit, f.year))
            keyed.append((key or nk, key is not None or not self.has_roster, f))
        with st.transaction() as tx:
            missing = st.missing_blobs(tx, {sha for _, sha, *_ in files if sha})
            changed = set(st.add_blobs(tx, [(sha, sizes[rel], self.paths.get(rel, self.inbox / rel))
                                            for rel, sha, *_ in files if sha in missing]))
            res.files += len(missing) - len(changed)
            res.changed += [rel for rel, sha, *_ in files if sha in changed]
            st.add_receipts(tx, [dict(run_id=self.run_id, path=rel, sha256=sha, size=sizes[rel],
                                      received_at=at, status=status, code=code, error=err)
                                 for rel, sha, status, code, err in files])
            st.ensure_units(tx, [dict(key=k, name=f.unit) for k, matched, f in keyed
                                 if not self.has_roster or not matched])
            st.add_unmatched(tx, [dict(run_id=self.run_id, path=p, name=n, year=y) for p, n, y in unmatched])
            ids = st.unit_year_ids(tx, {(k, f.year) for k, _, f in keyed})
            sha_of = {rel: sha for rel, sha, *_ in files}
            self.touched.update({(f.file, f.sheet): (ids[(k, f.year)], sha_of.get(f.file, "")) for k, _, f in keyed})
            known = st.existing_versions(tx, ids.values())
            fresh = [(k, m, f) for k, m, f in keyed if (ids[(k, f.year)], sha_of.get(f.file, ""), f.sheet) not in known]
            res.unchanged += len(keyed) - len(fresh)
            # 说明 answer an earlier version's findings: only a new version of a unit-year that
            # already has one (in the store, or earlier in this chunk) can be a returned copy
            had = {u for u, _, _ in known} | {u for u, n in Counter(
                ids[(k, f.year)] for k, _, f in fresh).items() if n > 1}
            for k, _, f in fresh:
                if ids[(k, f.year)] in had and f.file not in notes:
                    p = self.paths.get(f.file, self.inbox / f.file)
                    have = self.context.copy_notes.get(f.file)   # read before the chunk's rules
                    notes[f.file] = have if have is not None else read_notes(p) if has_return_sheet(p) else []
            rows, per_form = [], []
            for k, matched, f in fresh:
                found = f.findings    # DUP-001 as 第 N 版 and the cross-year rules: the rule engine's
                res.cross_year += sum(x.rule in self.cross_ids for x in found)
                sev = Counter(x.severity for x in found)
                rows.append(dict(unit_year_id=ids[(k, f.year)], sha256=sha_of.get(f.file, ""), sheet=f.sheet,
                                 path=f.file, run_id=self.run_id, received_at=at, unit_name=f.unit,
                                 matched=matched, errors=sev["error"], warnings=sev["warning"],
                                 infos=sev["info"], figures=_figures_json(f.figures),
                                 values_csv=f.values_csv))
                per_form.append((f, found))
            vid = st.add_versions(tx, rows)
            res.versions += len(vid)
            frows = []
            noted = []
            for row, (f, found) in zip(rows, per_form):
                v = vid.get((row["unit_year_id"], row["sha256"], row["sheet"]))
                if v is None:      # another run recorded it a moment ago
                    continue
                for fd, key in zip(found, finding_keys(found)):
                    frows.append(dict(version_id=v, key=key, rule=fd.rule, severity=fd.severity,
                                      block=fd.block, org=fd.org, field=fd.field, sheet=fd.sheet,
                                      cell=fd.cell, expected=fd.expected, actual=fd.actual, message=fd.message))
                if notes.get(f.file):
                    noted.append((row["unit_year_id"], v, f))
            st.add_findings(tx, frows)
            self._notes(tx, noted, notes, at)
        res.unmatched += unmatched

    def _notes(self, tx, noted, notes, at) -> None:
        """说明 of returned copies, keyed against the unit-year's earlier findings."""
        if not noted:
            return
        st = self.store
        uy_ids = {u for u, _, _ in noted}
        versions = st.versions(tx, uy_ids)
        prior = defaultdict(list)
        for f in st.findings(tx, [v["id"] for v in versions]):
            prior[f["version_id"]].append(f)
        by_uy = defaultdict(list)
        for v in versions:
            by_uy[v["unit_year_id"]].append(v)
        rows = []
        sheets_in_file = Counter(f.file for _, _, f in noted)
        for uy_id, vid, form in noted:
            earlier = [x for v in by_uy[uy_id] if v["id"] != vid for x in prior[v["id"]]]
            mine = [n for n in notes[form.file]
                    if sheets_in_file[form.file] == 1 or not n["sheet"] or n["sheet"] == form.sheet]
            for n in match_notes(mine, earlier):
                rows.append(dict(unit_year_id=uy_id, version_id=vid, key=n["key"], rule=n["rule"],
                                 text=n["note"], received_at=at))
        st.add_explanations(tx, rows)
        self.result.notes += len(rows)
