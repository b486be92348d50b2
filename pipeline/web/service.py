"""What the web desk does, without HTTP: an upload is checked by the same batch as an inbox (a run
of one file in contained workers), 上报 records it through the same Recorder as `selfeval run`,
downloads are runs over the store's files. The routes call these and render; nothing here is new
collection logic (that is collect.py's)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import collect as C
from ..read.pool import DEFAULT_MEMORY_MB, run_iter
from ..store import Store, desk as D

WEB_FOLDER = C.WEB_FOLDER    # the inbox folder an upload is run from (its path in the store)
KEEP_DRAFTS_DAYS = 30         # an upload not submitted (checked or rejected) is kept this long
PRUNE_EVERY_S = 3600.0        # how often a running desk prunes
BLOB_LOCK = 0x5E1FD0C5        # PostgreSQL: a draft's blob is kept or pruned under this lock


def neutral_main() -> None:
    """Make the process's main module one no worker would import, once, before the desk's threads
    start workers. The reader pool hides __main__ from multiprocessing around each worker start by
    saving, clearing and restoring its __file__ and __spec__ (read/pool.py _no_main_import); that
    is not safe across threads: two self-checks starting workers at once can interleave so that a
    worker starts while __file__ is back and __spec__ still None. Multiprocessing then runs the
    main file by path in the worker (`python -m pipeline.cli serve`: pipeline/cli.py, whose
    relative imports fail there), the worker exits with code 1 and the upload comes back as
    读取进程意外结束 (about one round of 20 concurrent uploads in 25 under load). With no __file__
    and __spec__ None from the start, every save and restore leaves the same state."""
    main = sys.modules.get("__main__")
    if main is not None:
        main.__dict__.pop("__file__", None)
        main.__spec__ = None


class Refused(Exception):
    """The desk will not do this (message in Chinese, shown to the user)."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _ext(path: Path) -> str:
    """The name an upload is run under follows its bytes (the reader decides by content anyway)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    return ".xls" if head.startswith(b"\xd0\xcf\x11\xe0") else ".xlsx"


def safe_name(text: str, limit: int = 60) -> str:
    s = re.sub(r'[\x00-\x1f\x7f\\/:*?"<>|#%\[\]\s]+', "_", str(text or "")).strip("._")
    return s[:limit] or "form"


@dataclass
class Desk:
    store: Store
    work: Path                       # the desk's working folder (temporary runs, marked copies)
    timeout: float = 30.0
    memory_mb: int = DEFAULT_MEMORY_MB
    concurrency: int = 2             # checks at a time; the rest wait their turn

    def __post_init__(self):
        self.work = Path(self.work)
        tmp = self.work / "tmp"
        if tmp.is_dir():        # what a desk that was killed left behind (nothing runs yet)
            for p in tmp.iterdir():
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        self.gate = threading.BoundedSemaphore(max(1, self.concurrency))
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ one run of one file
    def _inbox(self, src: Path, sha: str) -> tuple[Path, Path, str]:
        base = Path(tempfile.mkdtemp(prefix="run-", dir=self.work / "tmp"))
        rel = f"{WEB_FOLDER}/{sha[:16]}{_ext(src)}"
        (base / "in" / WEB_FOLDER).mkdir(parents=True)
        shutil.copyfile(src, base / "in" / rel)
        return base, base / "in" / rel, rel

    def _run(self, inbox: Path, out: Path, **kw):
        from ..run import run

        with self.gate:
            return run(inbox, out, jobs=1, timeout=self.timeout, memory_mb=self.memory_mb, **kw)

    def warm(self) -> None:
        """Once at start: a self-check of the latest stored version, thrown away, so that the
        first unit does not wait for the batch's imports and rule set-up (about 1.5 s)."""
        import sqlalchemy as sa

        from ..store import schema

        try:
            with self.store.reading() as tx:
                sha = tx.execute(sa.select(schema.version.c.sha256).order_by(schema.version.c.id.desc())
                                 .limit(1)).scalar()
            src = self._blob_file(sha) if sha else None
            if src is None:
                return
            base, path, _ = self._inbox(src, sha)
            if self.store.files_dir is None:
                src.unlink(missing_ok=True)
            try:
                self._run(base / "in", base / "out", returns=False, summary=False)
                self._draw(path, [])
            finally:
                shutil.rmtree(base, ignore_errors=True)
        except Exception:       # a warm-up never stops the desk
            pass

    # ------------------------------------------------------------------ the unit's self-check
    def check(self, account: dict, upload: Path, filename: str) -> int:
        """Check an uploaded file (上报前自查) and keep it as a draft; returns the draft's id."""
        sha = sha256_file(upload)
        size = upload.stat().st_size
        base, path, rel = self._inbox(upload, sha)
        try:
            # asked of the store as 上报 will be (its version number, last year's figures for the
            # cross-year rules, the 说明 in force), nothing recorded: the self-check shows what
            # submitting would record
            ask = C.Preview(self.store, base / "in", units=[account["unit_key"]] if account.get("unit_key") else None)
            rep = self._run(base / "in", base / "out", returns=False, summary=False, on_chunk=ask)
            res = rep.results[0]
            forms = [{"sheet": u["sheet"], "unit": u["unit"] or "", "year": str(u["year"] or "")}
                     for u in rep.unit_rows]
            aliases, units = self._names()
            for f in forms:
                f["unit_key"] = self._key(f["unit"], aliases)
                f["mine"] = f["unit_key"] == account["unit_key"]
            keys = C.finding_keys(rep.findings)
            findings = [dict(key=k, rule=x.rule, severity=x.severity, sheet=x.sheet, cell=x.cell,
                             block=x.block, org=x.org, field=x.field, message=x.message,
                             expected=x.expected, actual=x.actual, name=x.name)
                        for x, k in zip(rep.findings, keys)]
            notes = self._notes_in_copy(path, findings) if res.status == "accepted" else {}
            grids = self._draw(path, [f["sheet"] for f in forms]) if forms else {}
        finally:
            shutil.rmtree(base, ignore_errors=True)
        result = {"status": res.status, "code": res.code, "error": res.error, "forms": forms,
                  "findings": findings}
        years = sorted({f["year"] for f in forms if f["year"]})
        with self.store.transaction() as tx:
            self._blob_lock(tx)
            if self.store.missing_blobs(tx, [sha]):
                self.store.add_blobs(tx, [(sha, size, upload)])
            for sheet, g in grids.items():
                D.put_grid(tx, sha, sheet, json.dumps(g, ensure_ascii=False))
            return D.add_draft(tx, account_id=account["id"], unit_key=account["unit_key"], sha256=sha,
                               filename=str(filename or "")[:200], size=size,
                               status="checked" if res.status == "accepted" and forms else "rejected",
                               year=years[0] if years else "", result=json.dumps(result, ensure_ascii=False),
                               notes=json.dumps(notes, ensure_ascii=False))

    def _names(self):
        with self.store.reading() as tx:
            return self.store.aliases(tx), self.store.units(tx)

    @staticmethod
    def _key(unit: str, aliases: dict) -> str:
        nk = C.name_key(unit)
        return aliases.get(nk, nk) if nk else ""

    @staticmethod
    def _notes_in_copy(path: Path, findings: list[dict]) -> dict:
        """A returned copy sent back with 说明 filled: its 说明 fill the page's boxes."""
        if not C.has_return_sheet(path):
            return {}
        keys = {f["key"] for f in findings}
        out = {}
        for n in C.match_notes(C.read_notes(path), findings):
            if n["key"] in keys:
                out[n["key"]] = n["note"]
        return out

    def _draw(self, path: Path, sheets: list[str]) -> dict:
        """The sheets as grids, read in a contained worker like every other read of an upload."""
        tasks = [(str(path), list(dict.fromkeys(sheets)))]
        for _, res in run_iter("pipeline.web.draw:grid_job", tasks, lambda args, failure: {},
                               jobs=1, timeout=self.timeout, memory_mb=self.memory_mb):
            return res if isinstance(res, dict) else {}
        return {}

    def grid(self, sha: str, sheet: str) -> dict | None:
        """A stored file's sheet drawn (kept by content once drawn)."""
        with self.store.reading() as tx:
            data = D.get_grid(tx, sha, sheet)
        if data is not None:
            return json.loads(data)
        src = self._blob_file(sha)
        if src is None:
            return None
        try:
            grids = self._draw(src, [sheet])
        finally:
            if self.store.files_dir is None:
                src.unlink(missing_ok=True)
        g = grids.get(sheet)
        if g is not None:
            with self.store.transaction() as tx:
                D.put_grid(tx, sha, sheet, json.dumps(g, ensure_ascii=False))
        return g

    # ------------------------------------------------------------------ retention
    def _blob_lock(self, tx) -> None:
        """A draft's blob is added (check) or pruned one transaction at a time. SQLite's write
        transactions are one at a time already (BEGIN IMMEDIATE); PostgreSQL's take this lock."""
        if not self.store.sqlite:
            import sqlalchemy as sa

            tx.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": BLOB_LOCK})

    def prune(self, days: float = KEEP_DRAFTS_DAYS, now=None) -> tuple[int, int]:
        """Uploads never submitted (checked or rejected) older than `days` days are deleted; so is
        the stored file of each, with its drawn sheets and marked copy, when no version, receipt or
        remaining upload refers to it. Submitted uploads stay (the record of a version's 上报).
        Returns (uploads deleted, files deleted)."""
        import datetime as dt

        import sqlalchemy as sa

        from ..store import schema

        cutoff = (now or C.now()) - dt.timedelta(days=days)
        dr = D.draft
        moved: list[tuple[Path, Path]] = []
        try:
            with self.store.transaction() as tx:
                self._blob_lock(tx)
                old = tx.execute(sa.select(dr.c.id, dr.c.sha256).where(
                    dr.c.status.in_(("checked", "rejected")), dr.c.uploaded_at < cutoff)).all()
                if not old:
                    return 0, 0
                ids = [r.id for r in old]
                for i in range(0, len(ids), 500):
                    tx.execute(dr.delete().where(dr.c.id.in_(ids[i:i + 500])))
                shas = sorted({r.sha256 for r in old})
                gone = []
                for i in range(0, len(shas), 500):
                    part = shas[i:i + 500]
                    used = set()
                    for col in (schema.version.c.sha256, schema.receipt.c.sha256, dr.c.sha256):
                        used.update(tx.execute(sa.select(col).where(col.in_(part)).distinct()).scalars())
                    gone += [x for x in part if x not in used]
                for i in range(0, len(gone), 500):
                    part = gone[i:i + 500]
                    tx.execute(schema.blob.delete().where(schema.blob.c.sha256.in_(part)))
                    tx.execute(D.sheet_grid.delete().where(D.sheet_grid.c.sha256.in_(part)))
                if self.store.files_dir is not None:
                    # the bytes are set aside inside the transaction (no upload can store them
                    # anew meanwhile) and put back should it fail
                    for sha in gone:
                        src = self.store.blob_path(sha)
                        if src.exists():
                            aside = src.with_name(f"{sha}.{uuid.uuid4().hex}.pruned")
                            os.replace(src, aside)
                            moved.append((src, aside))
                D.log(tx, who="selfeval serve", action="prune", ok=True,
                      detail=f"超过 {days:g} 天未上报的自查 {len(ids)} 份，文件 {len(gone)} 个")
        except BaseException:
            for src, aside in moved:
                os.replace(aside, src)
            raise
        for _, aside in moved:
            aside.unlink(missing_ok=True)
        for sha in gone:
            (self.work / "marked" / sha[:2] / f"{sha}.xlsx").unlink(missing_ok=True)
        return len(ids), len(gone)

    # ------------------------------------------------------------------ notes and 上报
    def save_notes(self, draft: dict, notes: dict[str, str]) -> dict:
        result = json.loads(draft["result"])
        keys = {f["key"] for f in result["findings"] if f["severity"] != "error"}
        kept = dict(json.loads(draft["notes"]))        # boxes not sent keep their 说明
        kept.update({k: v.strip()[:2000] for k, v in notes.items() if k in keys})
        kept = {k: v for k, v in kept.items() if k in keys and v}
        with self.store.transaction() as tx:
            D.update_draft(tx, draft["id"], notes=json.dumps(kept, ensure_ascii=False))
        return kept

    def problems(self, draft: dict, account: dict) -> list[str]:
        """Why this draft cannot be submitted yet (Chinese); empty when it can."""
        result = json.loads(draft["result"])
        if draft["status"] == "submitted":
            return ["这份文件已经上报"]
        if draft["status"] != "checked":
            return ["文件无法读取，不能上报：" + (result.get("error") or "未找到自评表")]
        out = []
        for f in result["forms"]:
            if not f["unit"] or not f["year"]:
                out.append(f"工作表“{f['sheet']}”未填写填报单位或年度")
            elif f["unit_key"] != account["unit_key"] or draft["unit_key"] != account["unit_key"]:
                out.append(f"工作表“{f['sheet']}”的填报单位为“{f['unit']}”，不是本账号的单位：只能上报本单位的表")
        out += C.submission_problems(result["findings"], json.loads(draft["notes"]))
        for y in sorted({f["year"] for f in result["forms"] if f["year"]}):
            uy = C.find(self.store, account["unit_key"], y)
            if uy is not None and uy.state == C.ACCEPTED:
                out.append(f"{y}年度已审核通过并锁定，如需修改请联系审核人重新打开")
        return out

    def submit(self, draft: dict, account: dict) -> list[C.UnitYear]:
        """上报: the draft's file through the same run and Recorder as a file in the inbox; the
        page's 说明 recorded for the new version."""
        problems = self.problems(draft, account)
        if problems:
            raise Refused("；".join(problems))
        from ..check.ruleset import load_pack

        src = self._blob_file(draft["sha256"])
        if src is None:
            raise Refused("文件已不在收集库中，请重新上传")
        base, path, rel = self._inbox(src, draft["sha256"])
        if self.store.files_dir is None:
            src.unlink(missing_ok=True)
        try:
            rec = C.Recorder(self.store, base / "in", base / "out", pack=load_pack(None, None),
                             by=f"{account['name']}（网上报送）")
            try:
                self._run(base / "in", base / "out", returns=False, summary=False, on_chunk=rec)
            except BaseException:
                rec.fail()
                raise
            rec.finish()
        finally:
            shutil.rmtree(base, ignore_errors=True)
        notes = json.loads(draft["notes"])
        done, version_id = [], None
        for y in sorted({f["year"] for f in json.loads(draft["result"])["forms"]}):
            uy = C.find(self.store, account["unit_key"], y)
            if uy is None:
                continue
            mine = [v for v in uy.versions if v["sha256"] == draft["sha256"]]
            if mine:
                version_id = mine[-1]["id"]
                if uy.current and uy.current["id"] == version_id:
                    C.explain(self.store, uy, version_id, notes)
                done.append(C.find(self.store, account["unit_key"], y))
        with self.store.transaction() as tx:
            D.update_draft(tx, draft["id"], status="submitted", version_id=version_id,
                           submitted_at=C.now())
        return done

    # ------------------------------------------------------------------ files and downloads
    def _blob_file(self, sha: str) -> Path | None:
        """A stored file as a path: the store's own file (SQLite) or a temporary copy (server)."""
        if self.store.files_dir is not None:
            p = self.store.blob_path(sha)
            return p if p.exists() else None
        with self.store.reading() as tx:
            data = self.store.read_blob(tx, sha)
        if data is None:
            return None
        fd, tmp = tempfile.mkstemp(dir=self.work / "tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return Path(tmp)

    def blob_bytes(self, sha: str) -> bytes | None:
        with self.store.reading() as tx:
            return self.store.read_blob(tx, sha)

    def marked_copy(self, sha: str) -> Path | None:
        """The file's marked-up copy (returns/ of a run of it alone), made once per content."""
        target = self.work / "marked" / sha[:2] / f"{sha}.xlsx"
        if target.exists():
            return target
        src = self._blob_file(sha)
        if src is None:
            return None
        base, _, rel = self._inbox(src, sha)
        if self.store.files_dir is None:
            src.unlink(missing_ok=True)
        try:
            self._run(base / "in", base / "out", returns=True, every_return=True, summary=False)
            made = list((base / "out" / "returns").rglob("*.xlsx"))
            if not made:
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(made[0], tmp)
            os.replace(tmp, target)
            return target
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def summary(self, view: list[C.UnitYear]) -> Path:
        """summary.xlsx of these unit-years' current versions: a run over their stored files."""
        base = Path(tempfile.mkdtemp(prefix="sum-", dir=self.work / "tmp"))
        inbox = base / "in"
        inbox.mkdir()
        seen = set()
        for uy in view:
            v = uy.current
            if v is None or v["sha256"] in seen:
                continue
            seen.add(v["sha256"])
            src = self._blob_file(v["sha256"])
            if src is None:
                continue
            folder = inbox / safe_name(uy.year, 12)
            folder.mkdir(exist_ok=True)
            dst = folder / f"{safe_name(uy.name)}_{v['sha256'][:8]}{_ext(src)}"
            shutil.copyfile(src, dst)
            if self.store.files_dir is None:
                src.unlink(missing_ok=True)
        out = base / "out"
        self._run(inbox, out, returns=False)
        return out / "summary.xlsx"

    def cleanup(self, path: Path) -> None:
        """Remove a temporary run folder once its file was sent."""
        for parent in Path(path).parents:
            if parent.parent == self.work / "tmp":
                shutil.rmtree(parent, ignore_errors=True)
                return
