"""A run validates and writes its units in chunks while the workers read on: the outputs must not
depend on how the units were cut into chunks, and run-wide rules must see across chunks."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE_SEED, build
from openpyxl import load_workbook

from pipeline.run import run


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("stream") / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE_SEED, inbox / "a_seed.xlsx")
    build(inbox / "b_planted.xlsx", seed=31, unit="问题单位", plants=["identity", "negative", "text"])
    (inbox / "c_broken.xlsx").write_bytes(b"PK\x03\x04broken")
    for i in range(5):
        build(inbox / f"d_{i}.xlsx", seed=40 + i, unit=f"单位{i}")
    shutil.copy(SAMPLE_SEED, inbox / "z_seed_again.xlsx")   # the same unit, resubmitted
    return inbox


def _sheets(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    out = {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}
    out["总览"] = [r for r in out["总览"] if r[0] != "汇总日期"]   # the run's own clock
    comments = {ws.title: sorted((c.coordinate, c.comment.text) for row in ws.iter_rows()
                                 for c in row if c.comment) for ws in wb.worksheets}
    return out, comments


def test_chunking_does_not_change_any_output(inbox: Path, tmp_path: Path):
    whole = run(inbox, tmp_path / "whole", jobs=2, returns=False)
    # one unit per chunk, and no file read more than one ahead of the one being written
    cut = run(inbox, tmp_path / "cut", jobs=2, returns=False, chunk_size=1, backlog=1)
    # chunks cut wherever the next file happens not to be read yet: a different cut every time
    eager = run(inbox, tmp_path / "eager", jobs=2, returns=False, chunk_size=5, min_chunk=1)
    assert whole.units == cut.units == eager.units == 8
    assert (whole.timings["chunks"], cut.timings["chunks"]) == (1, 8)   # the broken file has no unit
    for other in ("cut", "eager"):
        for name in ("values.csv", "findings.csv", "manifest.csv"):
            assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / other / name).read_bytes(), name
        assert _sheets(tmp_path / "whole" / "summary.xlsx") == _sheets(tmp_path / other / "summary.xlsx")
    # the resubmitted seed is in the first and the last chunk: the duplicate rule remembers the first
    with open(tmp_path / "cut" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        dup = [r for r in csv.DictReader(fh) if r["rule"] == "DUP-001"]
    assert [r["file"] for r in dup] == ["z_seed_again.xlsx"]
    assert dup[0]["message"].endswith("已是第 2 份（第 1 份：a_seed.xlsx）；请确认以哪一份为准")


def test_detail_sheet_marks_cells_of_later_chunks(inbox: Path, tmp_path: Path):
    report = run(inbox, tmp_path / "out", jobs=1, returns=False, chunk_size=2)
    ws = load_workbook(tmp_path / "out" / "summary.xlsx")["明细"]
    notes = [c.comment.text for row in ws.iter_rows(min_row=2) for c in row if c.comment]
    on_amounts = [x for x in report.findings if x.uid >= 0 and x.cell
                  and x.block in ("income", "expenditure", "three_public", "fixed_assets")]
    assert {x.rule for x in on_amounts if x.unit == "问题单位"} >= {"NEG-001", "TXT-001"}
    # one commented cell per flagged amount cell, each carrying every finding on it
    assert len(notes) == len({(x.uid, x.cell) for x in on_amounts})
    text = "\n".join(notes)
    assert all(f"[{x.rule}] {x.message}" in text for x in on_amounts)


def test_lists_longer_than_a_sheet_go_on_in_continuation_sheets(inbox: Path, tmp_path: Path, monkeypatch):
    """Excel holds 1,048,576 rows a sheet and xlsxwriter drops cells beyond without a word: a
    streamed list goes on in "名（续n）". Here a sheet holds 6 rows (header and 5)."""
    import pipeline.write.xlsheet as xlsheet

    run(inbox, tmp_path / "one", jobs=1, returns=False)
    monkeypatch.setattr(xlsheet, "ROW_LIMIT", 6)
    run(inbox, tmp_path / "split", jobs=1, returns=False, chunk_size=3)
    one = load_workbook(tmp_path / "one" / "summary.xlsx")
    split = load_workbook(tmp_path / "split" / "summary.xlsx")
    assert split.sheetnames[:6] == one.sheetnames
    for name in ("汇总表", "明细", "问题清单", "提交情况"):
        parts = [split[name]] + [split[n] for n in split.sheetnames if n.startswith(f"{name}（续")]
        assert all(ws.max_row <= 6 for ws in parts)
        # 汇总表 has its title, note and per-year totals above its header (issue 14)
        head = next(r for r in range(1, 7) if parts[0].cell(row=r, column=1).value == "序号") if name == "汇总表" else 1
        one_head = next(r for r in range(1, 9) if one[name].cell(row=r, column=1).value == "序号") if name == "汇总表" else 1
        rows = [tuple(c.value for c in r) for ws in parts for r in ws.iter_rows(min_row=head + 1 if ws is parts[0] else 2)]
        whole = [tuple(c.value for c in r) for r in one[name].iter_rows(min_row=one_head + 1)]
        header = tuple(c.value for c in one[name][one_head])
        assert [tuple(c.value for c in ws[head if ws is parts[0] else 1]) for ws in parts] == [header] * len(parts)
        if name == "汇总表":   # the year's total spans every part
            col = header.index("收入·收入合计") + 1
            letter = parts[0].cell(row=head, column=col).column_letter
            formula = parts[0].cell(row=head - 1, column=col).value
            status = header.index("状态")
            last = {ws.title: max([i for i, r in enumerate(ws.iter_rows(values_only=True), 1)
                                   if r[status] not in (None, "状态", "已被替代")] or [0]) for ws in parts}
            assert formula == "=SUBTOTAL(9," + ",".join(
                (f"{letter}{head + 1}:{letter}{last[ws.title]}" if ws is parts[0] else
                 f"'{ws.title}'!{letter}2:{letter}{last[ws.title]}") for ws in parts if last[ws.title] > 1) + ")"
            assert [ws.title for ws in parts] == [name] + [f"{name}（续{i}）" for i in range(1, len(parts))]
        assert rows == whole and len(parts) >= 2, name
    overview = {r[0]: r[1] for r in split["总览"].iter_rows(values_only=True) if r and r[0]}
    assert "明细（续1）" in overview["续表（超出一张工作表的行数）"]
