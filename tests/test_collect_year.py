"""A scripted collection year on the command line (subprocesses), on SQLite and on PostgreSQL:
roster; a first round with units missing, errors and warnings; returned copies sent back with
fixes and 说明 (and one unit's second file); reviewer accepts and returns; the next year checked
against this one; two runs at once on one store."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

from collect_support import (cell_of, fill_return, make_form, next_year, save, selfeval,
                             store_url)  # noqa: F401  (store_url is a fixture)

from pipeline import collect as C
from pipeline.store import Store

ROSTER = """单位编码,单位名称,曾用名/别名,主管部门,联系人,电话
U01,市甲局,,市政府办,王芳,13800000001
U02,市乙局,,市政府办,李强,13800000002
U03,市丙中心,市丙站、丙站,市农业农村局,刘洋,13800000003
U04,市丁局,,市农业农村局,陈静,13800000004
U05,市戊局,,市政府办,张三,13800000005
U06,市己局,,市政府办,赵六,13800000006
"""


def _states(url: str, year: str) -> dict[str, str]:
    st = Store.open(url)
    try:
        return {uy.key: uy.state for uy in C.collection(st, year) if uy.unit.get("on_roster")}
    finally:
        st.close()


def _view(url: str, key: str, year: str) -> C.UnitYear:
    st = Store.open(url)
    try:
        return C.find(st, key, year)
    finally:
        st.close()


def test_a_collection_year(tmp_path: Path, store_url: str):
    url = store_url
    inbox = tmp_path / "inbox"
    (tmp_path / "名单.csv").write_text(ROSTER, encoding="utf-8-sig")
    r = selfeval("roster", "import", str(tmp_path / "名单.csv"), store=url, check=0)
    assert "已导入 6 个单位" in r.stdout

    # ---- first round: U01 clean · U02 an error · U03 (written by its former name) a warning ·
    # U04 an error and a warning · U05 and U06 nothing · a name not on the roster
    forms = {
        "U01": make_form("市甲局", seed=11),
        "U02": make_form("市乙局", seed=12, plants=["basic"]),
        "U03": make_form("市丙站", seed=13, plants=["staff"]),
        "U04": make_form("市丁局", seed=14, plants=["surplus", "staff"]),
        "X": make_form("市不存在局", seed=15),
    }
    for key, form in forms.items():
        save(form, inbox / "第一轮" / f"{key}.xlsx", seed=int(form.contact != "") + 3)
    r = selfeval("run", str(inbox), "--out", str(tmp_path / "out1"), "--fail-on", "none", store=url, check=0)
    assert "新版本 5" in r.stdout, r.stdout
    assert "名单中没有“市不存在局”" in r.stdout
    states = _states(url, "2021")
    assert states == {"U01": C.EXPLAINED, "U02": C.HAS_ERRORS, "U03": C.NEEDS_NOTE, "U04": C.HAS_ERRORS,
                      "U05": C.NOT_SUBMITTED, "U06": C.NOT_SUBMITTED}, states
    r = selfeval("status", "--year", "2021", store=url, check=0)
    assert "应报 6 · 已报 4（66.7%）" in r.stdout, r.stdout
    assert "名单外的单位名称：“市不存在局”" in r.stdout

    # reviewer: U01 passes; errors cannot be passed
    selfeval("accept", "U01", "--year", "2021", "--by", "审核员甲", store=url, check=0)
    r = selfeval("accept", "市乙局", "--year", "2021", store=url, check=1)
    assert "错误不能以说明代替" in r.stdout

    # ---- second round: returned copies come back
    returns = tmp_path / "out1" / "returns" / "第一轮"
    # U02 fixes its error and (needlessly) explains it: the 说明 goes stale
    f2 = forms["U02"]
    p = f2.planted[0]
    ref, _ = cell_of(f2, p["block"], p["row"], p["field"])
    fill_return(returns / "U02.xlsx", inbox / "第二轮" / "U02.xlsx",
                {"EXP-002": "已按人员支出与公用支出之和改正"},
                {ref: float(f2.amounts[p["block"]][p["field"]][p["row"] - 1])})
    # U03 explains its warning
    fill_return(returns / "U03.xlsx", inbox / "第二轮" / "U03.xlsx", {"STF-001": "编制外聘用人员三名，已报编办备案"})
    # U04 explains both, fixes neither: the error stays
    fill_return(returns / "U04.xlsx", inbox / "第二轮" / "U04.xlsx",
                {"EXP-003": "结余计算口径为财务快报口径", "STF-001": "短"})
    # U05 sends two files; the later one is current
    save(make_form("市戊局", seed=16, plants=["basic"]), inbox / "第二轮" / "U05-初稿.xlsx")
    save(make_form("市戊局", seed=16), inbox / "第二轮" / "U05-正式.xlsx")
    r = selfeval("run", str(inbox), "--out", str(tmp_path / "out2"), "--fail-on", "none", store=url, check=0)
    assert "新版本 5 · 未变 5" in r.stdout, r.stdout
    assert "说明 4" in r.stdout, r.stdout
    states = _states(url, "2021")
    assert states == {"U01": C.ACCEPTED, "U02": C.EXPLAINED, "U03": C.EXPLAINED, "U04": C.HAS_ERRORS,
                      "U05": C.EXPLAINED, "U06": C.NOT_SUBMITTED}, states

    u02 = _view(url, "U02", "2021")
    assert u02.number == 2 and {f["rule"]: f["severity"] for f in u02.findings} == {"DUP-001": "info"}
    assert [n["text"] for n in u02.stale_notes] == ["已按人员支出与公用支出之和改正"]
    u04 = _view(url, "U04", "2021")
    errs = [f for f in u04.findings if f["severity"] == "error"]
    assert errs and all(not C.explained(u04, f, 6) for f in errs)
    assert any(n["text"] == "结余计算口径为财务快报口径" for n in u04.valid_notes.values())  # shown, not clearing
    stf = next(f for f in u04.findings if f["rule"] == "STF-001")
    assert not C.explained(u04, stf, 6)                 # "短": too short to clear
    u05 = _view(url, "U05", "2021")
    assert [v["path"] for v in u05.versions] == ["第二轮/U05-初稿.xlsx", "第二轮/U05-正式.xlsx"]
    assert u05.current["path"] == "第二轮/U05-正式.xlsx"
    dup = [f for f in u05.findings if f["rule"] == "DUP-001"]
    assert dup and dup[0]["severity"] == "info" and dup[0]["message"].startswith("第 2 版，替代 第二轮/U05-初稿.xlsx")

    _round_two_outputs(tmp_path / "out2")
    # round one's folder run again: its forms are history now, outside every total
    r = selfeval("run", str(inbox / "第一轮"), "--out", str(tmp_path / "out1b"), "--fail-on", "none",
                 store=url, check=0)
    assert "新版本 0 · 未变 5" in r.stdout, r.stdout
    status = {row["文件"]: row["状态"] for row in _consolidated(tmp_path / "out1b")}
    assert status == {"U01.xlsx": "无问题", "U02.xlsx": "已被替代", "U03.xlsx": "已被替代",
                      "U04.xlsx": "已被替代", "X.xlsx": "无问题"}, status

    # diffs: U02's error resolved, U03's warning explained
    r = selfeval("changes", "--year", "2021", "--out", str(tmp_path / "changes.csv"), store=url, check=0)
    rows = list(csv.DictReader(open(tmp_path / "changes.csv", encoding="utf-8-sig")))
    kinds = {(row["unit_key"], row["rule"]): row["change"] for row in rows if row["rule"]}
    assert kinds[("U02", "EXP-002")] == C.RESOLVED
    assert kinds[("U03", "STF-001")] == C.EXPLAINED_F
    assert kinds[("U04", "EXP-003")] == C.PERSISTING
    amounts = [row for row in rows if row["unit_key"] == "U02" and row["change"] == "金额变化"]
    assert any(row["field"] == p["field"] and row["block"] == p["block"] for row in amounts)
    r = selfeval("show", "市丙中心", "--year", "2021", store=url, check=0)
    assert "编制外聘用人员三名" in r.stdout and "已说明" in r.stdout

    # reviewer: U03 passes; U04 returned with 审核意见, its 说明 rejected; 通过 locks
    selfeval("accept", "U03", "--year", "2021", store=url, check=0)
    key = next(k for k, n in u04.valid_notes.items() if n["rule"] == "EXP-003")
    r = selfeval("return", "U04", "--year", "2021", "--reason", "结余须按决算口径重填", "--reject", key,
                 store=url, check=0)
    assert C.RETURNED in r.stdout
    r = selfeval("return", "U01", "--year", "2021", "--reason", "x", store=url, check=1)
    assert "已通过并锁定" in r.stdout
    selfeval("reopen", "U01", "--year", "2021", store=url, check=0)
    selfeval("accept", "U01", "--year", "2021", store=url, check=0)
    states = _states(url, "2021")
    assert states["U04"] == C.RETURNED and states["U01"] == C.ACCEPTED and states["U03"] == C.ACCEPTED
    r = selfeval("status", "--state", C.RETURNED, store=url, check=0)
    assert "结余须按决算口径重填" in r.stdout and "市甲局" not in r.stdout
    r = selfeval("remind", "--year", "2021", "--out", str(tmp_path / "催报.xlsx"), store=url, check=0)
    assert "1 个未报，1 个退回" in r.stdout
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(tmp_path / "催报.xlsx")).get_sheet_by_index(0).to_python()
    assert sheet[0][:5] == ["单位编码", "单位名称", "主管部门", "联系人", "电话"]
    assert sorted((row[0], row[6]) for row in sheet[1:]) == [("U04", C.RETURNED), ("U06", C.NOT_SUBMITTED)]
    assert any(row[4] == "13800000006" for row in sheet[1:])

    # ---- the next year, checked against this one
    y2 = tmp_path / "inbox2022"
    save(next_year(forms["U01"], carry_matches=False), y2 / "U01.xlsx")   # 通过 last year: an error
    save(next_year(forms["U03"]), y2 / "U03.xlsx")                         # carries over exactly
    nf = next_year(make_form("市戊局", seed=16), carry_matches=False)       # not 通过 last year: a warning
    save(nf, y2 / "U05.xlsx")
    selfeval("run", str(y2), "--out", str(tmp_path / "out2022"), "--fail-on", "none", store=url, check=0)
    rules = {k: {(f["rule"], f["severity"]) for f in _view(url, k, "2022").findings} for k in ("U01", "U03", "U05")}
    assert ("XYR-001", "error") in rules["U01"]
    assert not any(r == "XYR-001" for r, _ in rules["U03"])
    assert ("XYR-001", "warning") in rules["U05"]
    assert _states(url, "2022")["U01"] == C.HAS_ERRORS


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _sheet(path: Path, name: str, head_word: str = "序号") -> list[dict]:
    """A summary.xlsx sheet as dicts by its header row (the first row holding head_word)."""
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True)[name]
    rows = list(ws.iter_rows(values_only=True))
    h = next(i for i, r in enumerate(rows) if head_word in r)
    return [dict(zip(rows[h], r)) for r in rows[h + 1:] if any(v is not None for v in r)]


def _consolidated(out: Path) -> list[dict]:
    return [r for r in _sheet(out / "summary.xlsx", "汇总表") if isinstance(r["序号"], int)]


def _round_two_outputs(out: Path) -> None:
    """What the second round's run wrote: 说明 beside findings, versions as information, the
    superseded first round out of the totals, 变化 / changes.csv, completeness in 总览, and the
    returned copy carrying the 说明 in force."""
    found = _csv(out / "findings.csv")
    assert list(found[0])[-2:] == ["key", "explanation"]
    u03 = next(f for f in found if f["file"] == "第二轮/U03.xlsx" and f["rule"] == "STF-001")
    assert u03["severity"] == "warning" and u03["explanation"] == "编制外聘用人员三名，已报编办备案"
    assert u03["key"].startswith("STF-001-")
    dups = {f["file"]: (f["severity"], f["message"]) for f in found if f["rule"] == "DUP-001"}
    assert dups == {"第二轮/U02.xlsx": ("info", "第 2 版，替代 第一轮/U02.xlsx"),
                    "第二轮/U03.xlsx": ("info", "第 2 版，替代 第一轮/U03.xlsx"),
                    "第二轮/U04.xlsx": ("info", "第 2 版，替代 第一轮/U04.xlsx"),
                    "第二轮/U05-正式.xlsx": ("info", "第 2 版，替代 第二轮/U05-初稿.xlsx")}, dups
    status = {r["文件"]: r["状态"] for r in _consolidated(out)}
    assert status == {"第一轮/U01.xlsx": "无问题", "第一轮/U02.xlsx": "已被替代", "第一轮/U03.xlsx": "已被替代",
                      "第一轮/U04.xlsx": "已被替代", "第一轮/X.xlsx": "无问题", "第二轮/U02.xlsx": "无问题",
                      "第二轮/U03.xlsx": "已说明", "第二轮/U04.xlsx": "需修改",
                      "第二轮/U05-初稿.xlsx": "已被替代", "第二轮/U05-正式.xlsx": "无问题"}, status
    listed = _sheet(out / "summary.xlsx", "问题清单")
    assert len(listed) == len(found)
    row = next(r for r in listed if r["文件"] == "第二轮/U03.xlsx" and r["规则"] == "STF-001")
    assert row["单位说明"] == "编制外聘用人员三名，已报编办备案" and row["问题编号"] == u03["key"]
    changes = _csv(out / "changes.csv")
    kinds = {(c["unit_key"], c["rule"]): c["change"] for c in changes if c["rule"]}
    assert kinds[("U02", "EXP-002")] == C.RESOLVED and kinds[("U03", "STF-001")] == C.EXPLAINED_F
    assert kinds[("U04", "EXP-003")] == C.PERSISTING
    sheet = _sheet(out / "summary.xlsx", "变化", "单位编码")
    assert len(sheet) == len(changes)
    assert {(r["单位编码"], r["规则"]): r["变化"] for r in sheet if r["规则"]} == kinds
    overview = {r[0]: r[1] for r in _rows(out / "summary.xlsx", "总览") if r and r[0]}
    assert overview["报送情况（2021年度）"] == "应报 6 · 已报 5（83.3%）· 未报 1 · 已通过 1"
    back = _sheet(out / "returns" / "第二轮" / "U04.xlsx", "问题清单")
    noted = {r["规则"]: r["说明（单位填写）"] for r in back}
    assert noted["EXP-003"] == "结余计算口径为财务快报口径" and noted["STF-001"] == "短"


def _rows(path: Path, name: str) -> list[tuple]:
    from openpyxl import load_workbook

    return list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))


def test_two_runs_at_once_lose_nothing(tmp_path: Path, store_url: str):
    """Two runs open a new store at the same moment (the migration runs once) and record into it
    together, one file in both inboxes."""
    url = store_url
    a, b = tmp_path / "a", tmp_path / "b"
    for i in range(6):
        save(make_form(f"市{i}号局", seed=100 + i), a / f"{i}.xlsx")
        save(make_form(f"县{i}号局", seed=200 + i), b / f"{i}.xlsx")
    shutil.copy(a / "0.xlsx", b / "same-as-a0.xlsx")        # one file in both inboxes
    procs = [selfeval("run", str(d), "--out", str(tmp_path / f"out-{d.name}"), "--fail-on", "none",
                      "--jobs", "1", store=url, wait=False) for d in (a, b)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    st = Store.open(url)
    try:
        view = C.collection(st, "2021")
        assert len(view) == 12 and all(len(uy.versions) == 1 for uy in view)
        with st.transaction() as tx:
            runs = st.runs(tx)
            receipts = st.receipts(tx)
        assert [r["status"] for r in runs] == ["done", "done"]
        assert len(receipts) == 13 and sum(r["units"] for r in runs) == 13
    finally:
        st.close()
