"""The reader's shortcuts (read/sheet.py amount(), the memoised per-text results) give what the
general path gives."""
from decimal import Decimal

from pipeline.read.grid import Grid
from pipeline.read.labels import load_labels, strip_enum
from pipeline.read.sheet import SheetView


def _sheet() -> SheetView:
    g = Grid(name="s")
    cells = [12.0, 255.18, -0.0, 1e-7, 123456789012.5, float("inf"), float("-inf"), True, False,
             "12.50", "1,234.5元", "—", "", "  ", "abc", "(12.5)", 7]
    for c, v in enumerate(cells):
        g.values[(0, c)] = v
    g.values[(1, 0)] = 3.0
    g.formulas[(1, 0)] = "A1/4"        # a formula with its cached value
    g.formulas[(1, 1)] = "SUM(A1:B1)"  # without one: evaluated
    g.formulas[(1, 2)] = "FOO(A1)"     # unsupported
    g.errors[(1, 3)] = "#REF!"
    g.finish()
    return SheetView(g)


def test_amount_is_number_and_raw():
    sv = _sheet()
    for r in range(sv.g.nrows):
        for c in range(sv.g.ncols + 2):   # blank cells past the last column too
            fast = sv.amount((r, c))
            fresh = _sheet()   # number() memoises: compare against a view that never took the shortcut
            assert fast == (*fresh.number((r, c)), fresh.raw((r, c))), (r, c)
            assert [type(x) for x in fast] == [type(x) for x in (*fresh.number((r, c)), fresh.raw((r, c)))]


def test_amount_keeps_shortest_repr():
    sv = _sheet()
    assert sv.amount((0, 1)) == (Decimal("255.18"), "ok", "", "255.18")
    assert sv.amount((0, 0))[3] == "12" and sv.amount((0, 2))[3] == "0"


def test_summary_memo_matches_rule():
    lab = load_labels()
    for org in ("合计", "总计", "局机关及二级机构汇总", "1、二级机构1", "小计", "办公室", ""):
        n = strip_enum(org)
        rule = n in lab.summary or any(w in n for w in lab.summary_contains)
        assert lab.is_summary(org) is rule and lab.is_summary(org) is rule   # computed, then memoised


def test_plain_text_numbers_as_the_general_path(monkeypatch):
    import random
    import re

    from pipeline.read import numbers

    texts = ["1", "12.50", "1,234.50", " 999.99 ", ",5", "5,", "0012", "0.0", "1,2,3", "12.", ".5",
             "1e5", "\t7\n", "00.00", "1,,2", "9,999,999.99", "12 34", "-5", "+5", "(5)", "5元", "٣"]
    rnd = random.Random(7)
    texts += ["".join(rnd.choice("0123456789,. \t-") for _ in range(rnd.randint(1, 9))) for _ in range(3000)]
    texts += ["".join(rnd.choice("0123456789１２．，,. 　万元万元¥△()（）٣") for _ in range(rnd.randint(1, 9)))
              for _ in range(6000)]
    texts += ["１２．５", "9，999，999．99", "12.5万元", "1,234万元", " 12 万元", "5,万元", "12万元整", "٣٤"]
    def outcome(t):
        try:
            a = numbers.parse_amount(t)
            return a, str(a[0])
        except IndexError:   # "，" or "¥" alone: the general path raises, before and after
            return "IndexError"
    fast = [outcome(t) for t in texts]
    monkeypatch.setattr(numbers, "_PLAIN", re.compile(r"(?!)"))   # never matches: the general path only
    general = [outcome(t) for t in texts]
    for t, a, b in zip(texts, fast, general):
        assert a == b, t
