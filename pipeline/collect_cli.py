"""The collection's commands on the selfeval app: roster import · status · show · changes ·
accept · return · reopen · remind, and the recording of a run (--store). Thin: the logic is in
pipeline/collect/, the SQL in store/; this module only parses options and renders (rich, in Chinese)."""
from __future__ import annotations

import csv
import os
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import collect as C
from .cli import ZhGroup, ZhTyper, app
from .models import FIELD_LABELS, SEVERITY_LABELS
from .store import StoreError

console = Console(highlight=False, width=None if os.isatty(1) else int(os.environ.get("COLUMNS", 200)))
roster_app = ZhTyper(cls=ZhGroup, add_completion=False, no_args_is_help=True, help="单位名单（单位编码、名称、曾用名）。")
app.add_typer(roster_app, name="roster")

STORE_HELP = "收集库：SQLite 文件路径或 postgresql+psycopg://… 地址（默认 ./selfeval.db，或环境变量 SELFEVAL_STORE）"
STATE_STYLE = {C.NOT_SUBMITTED: "magenta", C.HAS_ERRORS: "red", C.NEEDS_NOTE: "yellow",
               C.EXPLAINED: "cyan", C.RETURNED: "red", C.ACCEPTED: "green"}


def _open(store: Optional[str]):
    target = C.store_target(store)
    if target is None:
        console.print("[red]此命令需要收集库（--store 不能为 none）[/]")
        raise typer.Exit(2)
    try:
        return C.open_store(target)
    except StoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2)


# ---------------------------------------------------------------------------- recording a run
@contextmanager
def recording(store: Optional[str], inbox: Path, out: Path, rules: Optional[str] = None,
              tolerance: Optional[str] = None):
    """`selfeval run --store`: yields the on_chunk hook (None when the store is off), closes the
    run in the store when the batch returns, and removes its versions when it fails."""
    target = C.store_target(store, out)
    if target is None:
        yield None
        return
    from .check.ruleset import load_pack

    try:
        st = C.open_store(target)
        rec = C.Recorder(st, inbox, out, pack=load_pack(rules, tolerance))
    except StoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2)
    try:
        yield rec
    except BaseException:
        rec.fail()
        raise
    try:
        done = rec.finish()
    except StoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(3)
    _recorded(done, target)


def _recorded(done: C.Recorded, target: str) -> None:
    console.print(f"收集库 {_show_target(target)}：新版本 {done.versions} · 未变 {done.unchanged}"
                  f" · 新文件 {done.files} · 说明 {done.notes} · 跨年度问题 {done.cross_year}")
    for path, name, year in done.unmatched:
        console.print(f"[yellow]名单中没有“{name}”（{year}年度，{path}）：未归属到任何单位编码，"
                      f"请核对名称或在名单的曾用名/别名中补充[/]")
    for path in done.changed:
        console.print(f"[yellow]{path} 在读取之后被改动或替换：收集库未保存它的内容，请重新运行汇总[/]")
    for path, sheet in done.unassigned:
        console.print(f"[yellow]{path}（{sheet}）没有填报单位或年度，未记入收集库[/]")


def _show_target(target: str) -> str:
    if "://" in target:
        import sqlalchemy as sa

        return sa.make_url(target).render_as_string(hide_password=True)
    return target


# ---------------------------------------------------------------------------- roster
@roster_app.command("import")
def roster_import(file: Path = typer.Argument(..., help="名单.xlsx 或 名单.csv"),
                  store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """导入单位名单：单位编码、单位名称、曾用名/别名、主管部门、联系人、电话。"""
    if not file.is_file():
        console.print(f"[red]找不到名单文件：{file}[/]")
        raise typer.Exit(2)
    st = _open(store)
    try:
        roster, moved = C.import_roster(st, file)
    except Exception as exc:  # an unreadable roster is the user's to fix
        console.print(f"[red]名单无法读取：{exc}[/]")
        raise typer.Exit(2)
    for p in roster.problems:
        console.print(f"[yellow]{p}[/]")
    console.print(f"已导入 {len(roster.units)} 个单位、{len(roster.aliases)} 个名称"
                  + (f"；{moved} 个已报送的单位年度归入名单中的单位编码" if moved else ""))
    raise typer.Exit(0 if roster.units else 2)


# ---------------------------------------------------------------------------- status
@app.command()
def status(state: Optional[str] = typer.Option(None, "--state", help="只列此状态：" + "、".join(C.STATES)),
           dept: Optional[str] = typer.Option(None, "--dept", help="只列此主管部门"),
           year: Optional[str] = typer.Option(None, "--year", help="年度"),
           deadline: Optional[str] = typer.Option(None, "--deadline", help="报送截止时间，如 2027-03-31"),
           store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """收集情况：每个单位每年度的状态、版本、问题和说明；报送率；名单外的名称。"""
    if state and state not in C.STATES:
        console.print(f"[red]--state 应为 {'、'.join(C.STATES)} 之一[/]")
        raise typer.Exit(2)
    st = _open(store)
    try:
        limit = C.parse_deadline(deadline)
    except ValueError:
        console.print(f"[red]截止时间无法识别：{deadline}（应为 2027-03-31 或 2027-03-31T17:00）[/]")
        raise typer.Exit(2)
    view = C.collection(st, year)
    for y in sorted({uy.year for uy in view}):
        cov = C.coverage(view, y, limit)
        if cov.expected:
            console.print(f"{y}年度  应报 {cov.expected} · 已报 {cov.received}（{cov.rate(cov.received)}）"
                          f" · 现行 {cov.current}（{cov.rate(cov.current)}）"
                          + (f" · 按时 {cov.on_time}（{cov.rate(cov.on_time)}）" if limit else "")
                          + f" · 通过 {cov.accepted}（{cov.rate(cov.accepted)}）"
                          + " · " + " ".join(f"{s} {cov.by_state[s]}" for s in C.STATES if cov.by_state[s]))
    if not view:
        console.print("收集库中还没有任何报送，也没有导入单位名单（selfeval roster import 名单.xlsx）")
        return
    rows = [uy for uy in view if (not state or uy.state == state)
            and (not dept or uy.unit.get("dept", "") == dept)]
    t = Table(title="收集情况", show_lines=False)
    for h in ("单位编码", "单位名称", "主管部门", "年度", "状态", "版本", "错误", "警告", "已说明", "最近报送", "下一步/审核意见"):
        t.add_column(h, overflow="fold")
    min_chars = int(C.settings()["explain_min_chars"])
    has_roster = any(uy.unit.get("on_roster") for uy in view)
    for uy in rows:
        n = uy.counts()
        ok = sum(C.explained(uy, f, min_chars) for f in uy.findings)
        last = C._local(uy.versions[-1]["received_at"]) if uy.versions else ""
        nxt = C.NEXT_ACTOR[uy.state]
        if uy.returned_by and uy.state == C.RETURNED:
            nxt = f"审核意见：{uy.returned_by['reason']}"
        t.add_row(uy.key if uy.unit.get("on_roster") else ("（名单外）" if has_roster else ""), uy.name, uy.unit.get("dept", ""),
                  uy.year, f"[{STATE_STYLE[uy.state]}]{uy.state}[/]",
                  f"{uy.number}/{len(uy.versions)}" if uy.versions else "", str(n["error"]),
                  str(n["warning"]), str(ok), last, nxt)
    console.print(t)
    _unmatched(st)
    _unfinished(st)
    stale = [(uy, s) for uy in rows for s in uy.stale_notes]
    for uy, s in stale:
        console.print(f"[yellow]失效的说明：{uy.name}（{uy.year}年度）{s['key']}：“{s['text']}”——对应的问题在现行版本中已不存在[/]")


def _unfinished(st) -> None:
    """Runs that never closed (killed, or still going): the versions they recorded stay."""
    with st.transaction() as tx:
        runs = [r for r in st.runs(tx) if r["status"] == "running"]
    for r in runs:
        console.print(f"[yellow]汇总 #{r['id']}（{C._local(r['started'])} 开始，{r['who']}，输入 {r['inbox']}）"
                      "未正常结束或仍在进行：它已记录的版本留在收集库中；如该次汇总已中断，请重新运行汇总[/]")


def _unmatched(st) -> None:
    with st.transaction() as tx:
        aliases = st.aliases(tx)
        rows = st.unmatched(tx)
    seen = {}
    for r in rows:
        if C.name_key(r["name"]) not in aliases:
            seen[(r["name"], r["year"])] = r["path"]
    for (name, year), path in seen.items():
        console.print(f"[yellow]名单外的单位名称：“{name}”（{year}年度，{path}）——未归属，请核对[/]")


# ---------------------------------------------------------------------------- one unit
@app.command()
def show(unit: str = typer.Argument(..., help="单位编码或单位名称"),
         year: str = typer.Option(..., "--year", help="年度"),
         store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """一个单位一个年度：全部版本、现行版本的问题及其说明、与上一版本的变化、审核记录。"""
    st = _open(store)
    uy = C.find(st, unit, year)
    if uy is None:
        console.print(f"[red]收集库中没有 {unit}（{year}年度）[/]")
        raise typer.Exit(1)
    console.print(f"{uy.name}（{uy.key}）{uy.year}年度  状态：[{STATE_STYLE[uy.state]}]{uy.state}[/]  下一步：{C.NEXT_ACTOR[uy.state]}")
    t = Table(title="版本")
    for h in ("版本", "文件", "工作表", "收到时间", "错误", "警告", ""):
        t.add_column(h, overflow="fold")
    for i, v in enumerate(uy.versions, 1):
        t.add_row(f"第 {i} 版", v["path"], v["sheet"], C._local(v["received_at"]), str(v["errors"]),
                  str(v["warnings"]), "现行" if v is uy.current else "历史")
    console.print(t)
    min_chars = int(C.settings()["explain_min_chars"])
    t = Table(title="现行版本的问题")
    for h in ("问题编号", "级别", "规则", "单元格", "问题说明", "说明（单位填写）", ""):
        t.add_column(h, overflow="fold")
    for f in uy.findings:
        note = uy.valid_notes.get(f["key"])
        mark = ("已说明" if C.explained(uy, f, min_chars) else
                ("错误不能以说明代替" if note and f["severity"] == "error" else ("说明过短" if note else "")))
        t.add_row(f["key"], SEVERITY_LABELS.get(f["severity"], f["severity"]), f["rule"], f["cell"],
                  f["message"], note["text"] if note else "", mark)
    console.print(t)
    for s in uy.stale_notes:
        console.print(f"[yellow]失效的说明 {s['key']}：“{s['text']}”（对应的问题已不存在）[/]")
    for n in uy.notes:
        if n.get("rejected_by") is not None:
            console.print(f"[red]已被审核人驳回的说明 {n['key']}：“{n['text']}”[/]")
    if uy.number > 1:
        _changes([r for r in C.changes(st, uy.year) if r["unit_key"] == uy.key])
    for a in uy.actions:
        label = {"accept": "通过", "return": "退回", "reopen": "重新打开"}[a["kind"]]
        console.print(f"审核记录：{C._local(a['at'])} {a['who']} {label}" + (f"：{a['reason']}" if a["reason"] else ""))


def _changes(rows: list[dict]) -> None:
    t = Table(title="与上一版本相比")
    for h in ("单位", "年度", "版本", "变化", "规则/金额", "机构", "原值", "现值", "问题说明"):
        t.add_column(h, overflow="fold")
    for r in rows:
        what = r["rule"] or FIELD_LABELS.get(f"{r['block']}.{r['field']}", r["field"])
        t.add_row(r["unit"], r["year"], f"第 {r['version']} 版", r["change"], what, r["org"], r["before"],
                  r["after"], r["message"])
    console.print(t)


@app.command()
def changes(year: Optional[str] = typer.Option(None, "--year", help="年度"),
            out: Optional[Path] = typer.Option(None, "--out", help="另存为 CSV（如 changes.csv）"),
            store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """各单位现行版本与上一版本相比：问题新增、已解决、仍存在、已说明，金额变化。"""
    st = _open(store)
    rows = C.changes(st, year)
    if out:
        from .write.atomic import atomic_path

        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(C.CHANGE_COLUMNS)
            for r in rows:
                w.writerow([_csv_safe(r[c]) for c in C.CHANGE_COLUMNS])
        console.print(f"已写入 {out}（{len(rows)} 行）")
    else:
        _changes(rows)


def _csv_safe(v) -> str:
    s = str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(s) else s


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------- reviewer actions
def _act(kind: str, unit: str, year: str, reason: str, store: Optional[str], by: Optional[str],
         reject: List[str] = ()) -> None:
    st = _open(store)
    try:
        uy = C.act(st, unit, year, kind, reason=reason, by=by, reject_notes=list(reject))
    except C.ActionRefused as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1)
    console.print(f"{uy.name}（{uy.year}年度）现为：[{STATE_STYLE[uy.state]}]{uy.state}[/]")


@app.command()
def accept(unit: str = typer.Argument(..., help="单位编码或单位名称"),
           year: str = typer.Option(..., "--year", help="年度"),
           reason: str = typer.Option("", "--reason", help="审核意见（尚有未说明的核实性问题时必填）"),
           by: Optional[str] = typer.Option(None, "--by", help="审核人（默认当前用户）"),
           store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """审核通过（锁定，直至 reopen）。"""
    _act("accept", unit, year, reason, store, by)


@app.command("return")
def return_(unit: str = typer.Argument(..., help="单位编码或单位名称"),
            year: str = typer.Option(..., "--year", help="年度"),
            reason: str = typer.Option(..., "--reason", help="审核意见"),
            reject: List[str] = typer.Option([], "--reject", help="驳回的说明（问题编号，可多次）"),
            by: Optional[str] = typer.Option(None, "--by", help="审核人（默认当前用户）"),
            store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """退回单位修改，写明审核意见；可驳回某条说明。"""
    _act("return", unit, year, reason, store, by, reject)


@app.command()
def reopen(unit: str = typer.Argument(..., help="单位编码或单位名称"),
           year: str = typer.Option(..., "--year", help="年度"),
           reason: str = typer.Option("", "--reason", help="原因"),
           by: Optional[str] = typer.Option(None, "--by", help="审核人（默认当前用户）"),
           store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """重新打开已通过（或已退回）的单位年度。"""
    _act("reopen", unit, year, reason, store, by)


@app.command()
def remind(out: Path = typer.Option(Path("催报.xlsx"), "--out", help="催报名单（xlsx）"),
           year: Optional[str] = typer.Option(None, "--year", help="年度"),
           store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """导出催报名单：名单中未报和被退回的单位，附联系人和电话。"""
    st = _open(store)
    view = C.collection(st, year, roster_only=True)
    rows = C.reminders(view)
    C.write_reminders(rows, out)
    console.print(f"催报名单已写入 {out}：{sum(r[6] == C.NOT_SUBMITTED for r in rows)} 个未报，"
                  f"{sum(r[6] == C.RETURNED for r in rows)} 个退回")
