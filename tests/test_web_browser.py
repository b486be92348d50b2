"""The web desk in a real browser: Debian's chromium driven by Playwright (executable_path, since
Playwright's own browser download cannot work here), against a real server on a SQLite file.
Screenshots of every page go to the test's folder and to /tmp/web_shots for review."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from web_support import web_server  # noqa: F401  (a desk for this module)
from web_support import PASSWORD, SEED_UNIT, seed_form

from pipeline import collect as C

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/web_shots")
CONSOLE: list[str] = []     # errors the browser printed (CSP violations among them)
NOTE = "经核实，评价报告中的数字为四舍五入前的口径，表内数据准确。"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed "
                                "(apt-get install chromium fonts-wqy-microhei); the browser tests need it")


@pytest.fixture(scope="module")
def desk(web_server, tmp_path_factory):
    pytest.importorskip("playwright", reason="playwright from PyPI is not installed")
    from collect_support import make_form, save

    web_server.second = save(make_form("岳阳市第二测试单位", 2021, seed=7),
                             tmp_path_factory.mktemp("forms") / "第二单位.xlsx")
    return web_server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--lang=zh-CN"])
        yield b
        b.close()


class Shots:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        SHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str, full: bool = True) -> None:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shutil.copyfile(path, SHOTS / path.name)


@pytest.fixture(scope="module")
def shot(desk):
    return Shots(desk.tmp / "shots")   # the test's artifacts; copies in /tmp/web_shots


def _page(browser, desk):
    ctx = browser.new_context(base_url=desk.base, locale="zh-CN", viewport={"width": 1366, "height": 860},
                              accept_downloads=True)
    page = ctx.new_page()
    # the CSP allows no inline script or style: a page that needed one would say so here
    page.on("console", lambda m: CONSOLE.append(m.text) if m.type == "error" else None)
    return ctx, page


def _sign_in(page, name: str) -> None:
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _upload_and_submit(page, path: Path, shot=None, prefix: str = "") -> None:
    page.set_input_files("input[type=file]", str(path))
    page.click("form.upload button[type=submit]")
    page.wait_for_url(re.compile(r"/unit/draft/\d+$"), timeout=30000)
    if shot:
        shot(page, f"{prefix}2_self_check", full=False)
    for box in page.locator("textarea").all():
        box.fill(NOTE)
    page.locator("button[value=submit]").first.click()
    page.wait_for_url(re.compile(r"/unit/year/2021"), timeout=30000)


def test_unit_self_checks_explains_and_submits(desk, browser, shot):
    ctx, page = _page(browser, desk)
    page.goto("/")
    assert page.url.endswith("/login")
    shot(page, "u0_login", full=False)
    _sign_in(page, "unit1")
    assert page.url.endswith("/unit")
    shot(page, "u1_home", full=False)
    page.set_input_files("input[type=file]", str(seed_form()))
    page.click("form.upload button[type=submit]")
    page.wait_for_url(re.compile(r"/unit/draft/\d+$"), timeout=30000)
    # the contradiction at its cell: A71 marked as a warning, the message beside its row
    cell = page.locator('td[title="A71"]')
    assert "sev-warning" in cell.get_attribute("class")
    assert "收入合计255.12万元" in cell.inner_text()
    assert cell.locator("mark").inner_text() == "收入合计255.12万元"   # the quoted words marked
    row = cell.locator("xpath=..")
    beside = row.locator("td.msgs").inner_text()
    assert "255.12" in beside and "255.18" in beside and "C15" in beside
    shot(page, "u2_self_check", full=False)
    page.locator('td[title="C13"]').scroll_into_view_if_needed()
    shot(page, "u2a_amount_cells", full=False)
    cell.scroll_into_view_if_needed()
    shot(page, "u2b_report_cell", full=False)
    # 上报 without 说明 is refused, with them it goes through
    page.click("button[value=submit]")
    page.wait_for_load_state()
    assert "尚未填写说明" in page.locator(".alert").first.inner_text()
    shot(page, "u3_refused", full=False)
    boxes = page.locator("textarea").all()
    assert len(boxes) == 7
    for box in boxes:
        box.fill(NOTE)
    page.locator("#notes").scroll_into_view_if_needed()
    shot(page, "u4_notes", full=False)
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/unit/year/2021"), timeout=30000)
    assert "已上报" in page.inner_text("main") and "已说明" in page.inner_text("main")
    shot(page, "u5_submitted")
    with page.expect_download() as dl:
        page.click("text=标注表")
    assert dl.value.suggested_filename.endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert wb.sheetnames[0] == "问题清单"
    ctx.close()
    assert C.find(desk.desk.store, "001", "2021").state == C.EXPLAINED


def test_a_second_unit_sees_nothing_of_the_first(desk, browser, shot):
    ctx, page = _page(browser, desk)
    _sign_in(page, "unit1")
    page.goto("/unit")
    href = page.locator("a", has_text="查看").first.get_attribute("href")
    ctx.close()
    ctx, page = _page(browser, desk)
    _sign_in(page, "unit2")
    r = page.goto(href)
    assert r.status == 404 and "页面不存在" in page.inner_text("main")
    assert SEED_UNIT not in page.content()
    shot(page, "x1_other_unit_404", full=False)
    assert page.goto("/review").status == 404
    # its own form goes through
    page.goto("/unit")
    _upload_and_submit(page, desk.second, shot, prefix="x")
    ctx.close()


def test_reviewer_filters_returns_accepts_and_downloads(desk, browser, shot):
    store = desk.desk.store
    if not C.find(store, "001", "2021").versions or not C.find(store, "002", "2021").versions:
        pytest.skip("the unit flows above did not submit")
    ctx, page = _page(browser, desk)
    _sign_in(page, "rev")
    assert page.url.endswith("/review")
    shot(page, "r1_status")
    page.select_option("select[name=state]", "未报")
    page.click("text=筛选")
    page.wait_for_load_state()
    assert "岳阳市第三测试单位" in page.inner_text("table.status") and SEED_UNIT not in page.inner_text("table.status")
    shot(page, "r2_filtered", full=False)
    page.goto("/review?year=2021")
    page.click(f"text={SEED_UNIT}")
    page.wait_for_load_state()
    assert "收入合计255.12万元" in page.inner_text("main") and NOTE in page.inner_text("main")
    shot(page, "r3_unit", full=False)
    page.fill("textarea[name=reason]", "请核对评价报告中的收入合计，与表内 255.18 万元一致后重报")
    page.click("button[value=return]")
    page.wait_for_load_state()
    assert "退回" in page.inner_text(".state")
    shot(page, "r4_returned", full=False)
    page.goto("/review?year=2021")
    page.click("text=岳阳市第二测试单位")
    page.wait_for_load_state()
    page.click("button[value=accept]")
    page.wait_for_load_state()
    assert "通过" in page.inner_text(".state")
    page.goto("/review?year=2021")
    shot(page, "r5_after")
    with page.expect_download() as dl:
        page.click("text=下载汇总表")
    assert dl.value.suggested_filename == "summary_2021.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()), read_only=True)
    names = {str(v) for row in wb["汇总表"].iter_rows(values_only=True) for v in row if v}
    assert SEED_UNIT in names and "岳阳市第二测试单位" in names
    ctx.close()
    assert C.find(store, "001", "2021").state == C.RETURNED
    assert C.find(store, "002", "2021").state == C.ACCEPTED
    # the unit sees the 审核意见
    ctx, page = _page(browser, desk)
    _sign_in(page, "unit1")
    assert "请核对评价报告中的收入合计" in page.inner_text("main")
    shot(page, "u6_returned_home", full=False)
    ctx.close()
    assert not [m for m in CONSOLE if "Content Security Policy" in m or "Refused" in m], CONSOLE
