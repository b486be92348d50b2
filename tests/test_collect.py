"""The collection's logic without a run: finding identity, roster, 说明 by key, states, diffs and
the cross-year rules (pure functions of collect.py and crossyear.py, on real files where they
read files)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline import collect as C
from pipeline.check import crossyear
from pipeline.check.ruleset import load_pack


def _f(rule="EXP-001", severity="error", block="expenditure", org="1、局机关", field="total", cell="C20", **kw):
    return dict(rule=rule, severity=severity, block=block, org=org, field=field, cell=cell, sheet="自评表",
                file="a.xlsx", message="m", **kw)


def test_finding_identity_ignores_the_cell_and_the_enumeration():
    k = C.finding_key("EXP-001", "expenditure", "1、局机关", "total")
    assert k == C.finding_key("EXP-001", "expenditure", "2、局机关", "total")   # a row inserted above
    assert k == C.finding_key("EXP-001", "expenditure", "（1）局机关", "total")
    assert k.startswith("EXP-001-")
    assert k != C.finding_key("EXP-001", "expenditure", "1、局机关", "basic")
    assert k != C.finding_key("EXP-002", "expenditure", "1、局机关", "total")
    assert C.finding_key("SUM-001", "income", "局机关及二级机构汇总", "total") == \
        C.finding_key("SUM-001", "income", "汇总", "total")
    keys = C.finding_keys([_f(cell="C20"), _f(cell="C21"), _f(field="basic")])
    assert keys[1] == keys[0] + "-2" and len(set(keys)) == 3


def test_roster_from_csv_and_xlsx(tmp_path: Path):
    text = ("单位编码,单位名称,曾用名/别名,主管部门,联系人,电话\n"
            "001,市甲局,甲局、市甲 局旧称,市政府办,王芳,13800000001\n"
            "002,市乙局,,市政府办,,\n"
            "002,市乙局重复,,,,\n"
            ",没有编码,,,,\n"
            "003,市丙局,甲局,,,\n")
    (tmp_path / "名单.csv").write_text(text, encoding="utf-8-sig")
    r = C.read_roster(tmp_path / "名单.csv")
    assert [u["key"] for u in r.units] == ["001", "002", "003"]
    assert r.aliases[C.name_key("市甲 局旧称")] == "001" and r.aliases[C.name_key("甲局")] == "001"
    assert len(r.problems) == 3 and any("重复" in p for p in r.problems) and any("甲局" in p for p in r.problems)
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(tmp_path / "名单.xlsx"))
    ws = wb.add_worksheet()
    for i, row in enumerate([["单位编码", "单位名称", "别名", "主管部门", "联系人", "联系电话"],
                             [101, "市丁局", "丁局", "市农业农村局", "刘洋", 13800000004]]):
        ws.write_row(i, 0, row)
    wb.close()
    r = C.read_roster(tmp_path / "名单.xlsx")
    assert r.units == [{"key": "101", "name": "市丁局", "dept": "市农业农村局", "contact": "刘洋",
                        "phone": "13800000004"}]
    (tmp_path / "bad.csv").write_text("名称,电话\n甲,1\n", encoding="utf-8")
    assert "缺少列" in C.read_roster(tmp_path / "bad.csv").problems[0]


def _returned(path: Path, rows: list[list[str]], key_column: bool) -> Path:
    import xlsxwriter

    head = ["序号", "严重程度", "规则", "问题说明", "工作表", "单元格", "应为", "实为", "差额", "说明（单位填写）"]
    if key_column:
        head = head + ["问题编号"]
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("问题清单")
    ws.write_row(0, 0, head)
    for i, r in enumerate(rows, 1):
        ws.write_row(i, 0, r)
    wb.add_worksheet("自评表").write(0, 0, "表")
    wb.close()
    return path


def test_notes_are_read_by_key_or_by_the_rows_other_columns(tmp_path: Path):
    prior = [dict(_f(rule="STF-001", severity="warning", block="unit", org="", field="staff_actual", cell="E6"),
                  key="STF-001-AAAAAA")]
    rows = [["1", "警告", "STF-001", "…", "自评表", "E6", "", "", "", "编制外聘用人员三名"],
            ["2", "警告", "NAR-001", "…", "自评表", "A51", "", "", "", "报告数字已更正"],
            ["3", "错误", "INC-001", "…", "自评表", "C13", "", "", "", ""]]
    old = _returned(tmp_path / "old.xlsx", rows, key_column=False)
    assert C.has_return_sheet(old)
    notes = C.match_notes(C.read_notes(old), prior)
    assert [(n["key"], n["note"]) for n in notes] == [
        ("STF-001-AAAAAA", "编制外聘用人员三名"), ("NAR-001-?自评表!A51", "报告数字已更正")]
    new = _returned(tmp_path / "new.xlsx", [r + [f"K{i}"] for i, r in enumerate(rows)], key_column=True)
    assert [n["key"] for n in C.match_notes(C.read_notes(new), prior)] == ["K0", "K1"]
    plain = tmp_path / "plain.xlsx"
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(plain))
    wb.add_worksheet("自评表")
    wb.close()
    assert not C.has_return_sheet(plain)


def _t(minutes: int) -> dt.datetime:
    return dt.datetime(2027, 3, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=minutes)


def _uy(findings, notes=(), actions=(), versions=2):
    vs = [dict(id=i + 1, received_at=_t(i * 10), path=f"v{i}.xlsx", sheet="s") for i in range(versions)]
    uy = C.UnitYear("U1", "2026", {"name": "甲"}, 1, vs, list(actions), list(notes))
    uy.findings = [dict(f, key=C.finding_key(f["rule"], f["block"], f["org"], f["field"])) for f in findings]
    return C.derive(uy, 6)


def test_states():
    warn = _f(rule="STF-001", severity="warning", block="unit", org="", field="staff_actual")
    err = _f()
    kw = C.finding_key("STF-001", "unit", "", "staff_actual")
    ke = C.finding_key("EXP-001", "expenditure", "局机关", "total")
    assert _uy([]).state == C.EXPLAINED
    assert _uy([], versions=0).state == C.NOT_SUBMITTED
    assert _uy([warn]).state == C.NEEDS_NOTE
    assert _uy([warn], [dict(key=kw, text="编制外聘用三人", rejected_by=None)]).state == C.EXPLAINED
    assert _uy([warn], [dict(key=kw, text="短 短", rejected_by=None)]).state == C.NEEDS_NOTE
    assert _uy([warn], [dict(key=kw, text="编制外聘用三人", rejected_by=7)]).state == C.NEEDS_NOTE
    u = _uy([err], [dict(key=ke, text="这是一条足够长的说明", rejected_by=None)])
    assert u.state == C.HAS_ERRORS and ke in u.valid_notes and not C.explained(u, u.findings[0], 6)
    stale = _uy([], [dict(key="GONE-1", text="没有了的问题的说明", rejected_by=None)])
    assert [n["key"] for n in stale.stale_notes] == ["GONE-1"]
    ret = dict(kind="return", at=_t(15), version_id=2, reason="重填")
    assert _uy([], actions=[ret]).state == C.RETURNED
    assert _uy([], actions=[dict(ret, at=_t(5))]).state == C.EXPLAINED       # a version came after it
    acc = dict(kind="accept", at=_t(5), version_id=1, reason="")
    locked = _uy([err], actions=[acc])
    assert locked.state == C.ACCEPTED and locked.current["id"] == 1         # 通过 keeps its version
    reopened = _uy([], actions=[acc, dict(acc, kind="reopen", at=_t(6))])
    assert reopened.state == C.EXPLAINED and reopened.current["id"] == 2


def test_diffs():
    a, b, c = (dict(_f(field=x), key=x) for x in ("total", "basic", "project"))
    kinds = {f["key"]: k for k, f in C.diff_findings([a, b], [b, c])}
    assert kinds == {"total": C.RESOLVED, "basic": C.PERSISTING, "project": C.NEW}
    before = "a.xlsx,表,甲,2026,1、局机关,income,total,10,C13,10\na.xlsx,表,甲,2026,1、局机关,income,other,1,H13,1\n"
    after = "a.xlsx,表,甲,2026,2、局机关,income,total,10.00,C14,10\na.xlsx,表,甲,2026,2、局机关,income,other,2,H14,2\n"
    assert C.diff_amounts(before, after) == [(("income", "局机关", "other"), "1", "2")]


def _cross(rules, unit, this, last, **kw):
    return [f for r in rules if (f := crossyear.check(r, unit, this, last, **kw))]


def test_cross_year_rules():
    pack = load_pack()
    rules = [r for r in pack.rules if r.kind == crossyear.KIND]
    assert [r.id for r in rules] == ["XYR-001", "XYR-002", "XYR-003", "XYR-004"]
    assert pack.explain_min_chars == 6 and C.settings()["explain_min_chars"] == 6
    unit = {"file": "a.xlsx", "sheet": "表", "unit": "甲", "year": "2027", "uid": 0}
    last = {"expenditure.surplus_cumulative": "20", "three_public.total": "5", "income.total": "100",
            "expenditure.total": "80"}
    same = {"income.carryover": "20.004", "three_public.total": "5", "income.total": "120",
            "expenditure.total": "100"}
    assert _cross(rules, unit, same, last, last_year="2026", last_approved=True) == []
    moved = {"income.carryover": "25", "income.carryover@cells": "D13", "three_public.total": "6.5",
             "income.total": "140", "expenditure.total": "40"}
    got = {f.rule: f for f in _cross(rules, unit, moved, last, last_year="2026", last_approved=True)}
    assert set(got) == {"XYR-001", "XYR-002", "XYR-003", "XYR-004"}
    assert got["XYR-001"].severity == "error" and got["XYR-001"].cell == "D13"
    assert got["XYR-001"].expected == "20" and got["XYR-001"].actual == "25"
    assert "2026年度" in got["XYR-001"].message and "+40.0%" in got["XYR-003"].message
    soft = _cross(rules, unit, moved, last, last_year="2026", last_approved=False)
    assert {f.rule: f.severity for f in soft}["XYR-001"] == "warning"
    assert _cross(rules, unit, moved, {}, last_year="2026", last_approved=True) == []


def test_cross_year_rule_file_errors(tmp_path: Path):
    """A bureau's cross_year rule with a wrong key is said with the rule and the key."""
    from pipeline.check.ruleset import RuleFileError

    base = (Path(load_pack().path)).read_text(encoding="utf-8")
    cases = [('check = "carry"\nfields', 'check = "carrry"\nfields', "check 应为 carry、growth、change 之一"),
             ('previous = "expenditure.surplus_cumulative"', 'previous = "expenditure.surplus"',
              "previous 字段无法识别"),
             ("share = 0.3", 'share = "三成"', "share 应为大于 0 的数字"),
             ("explain_min_chars = 6", "explain_min_chars = 0", "explain_min_chars 应为正整数")]
    for old, new, words in cases:
        f = tmp_path / "rules.toml"
        f.write_text(base.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(RuleFileError) as exc:
            load_pack(f)
        assert words in str(exc.value), (new, str(exc.value))


def test_store_target(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SELFEVAL_STORE", raising=False)
    assert C.store_target(None, tmp_path / "out") == str(tmp_path / "selfeval.db")
    assert C.store_target("none", tmp_path / "out") is None
    monkeypatch.setenv("SELFEVAL_STORE", "postgresql+psycopg://x@/y")
    assert C.store_target(None, tmp_path / "out") == "postgresql+psycopg://x@/y"
    assert C.store_target(str(tmp_path / "z.db")) == str(tmp_path / "z.db")


def test_deadline():
    d = C.parse_deadline("2027-03-31")
    assert (d.hour, d.minute) == (23, 59) and d.tzinfo is not None
    with pytest.raises(ValueError):
        C.parse_deadline("三月底")
