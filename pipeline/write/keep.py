"""What a returned copy keeps active, for both writers (the package edited in place and openpyxl):
formulas of the form's simple arithmetic, names that are plain ranges, conditional formats and
validations that cannot reach out. Everything else becomes inert text or goes."""
from __future__ import annotations

import re

_SIMPLE = re.compile(r"^=\s*(?:SUM\(|[A-Z]{1,3}\$?\d|\$|\(|\d|[-+])[A-Z0-9$:,+\-*/(). ]*$", re.I)
_BAD = re.compile(r"[A-Z_]+\(", re.I)
_SHEET = r"(?:'(?:[^'\[\]]|'')+'|[^'!\[\]()\s&\"]+)!"     # a sheet of this workbook, quoted or not
_CELLS = r"\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?"
_RANGE = re.compile(rf"^(?:{_SHEET})?{_CELLS}$")
# print titles, areas and filters: whole rows and columns too
_PRINT_RANGE = re.compile(rf"^(?:{_SHEET})?(?:{_CELLS}|\$?\d+:\$?\d+|\$?[A-Z]{{1,3}}:\$?[A-Z]{{1,3}})$")
# a formula of a conditional format or a validation that can reach out (the web, another file, a
# program) when Excel evaluates it: such a rule does not come back
REACHING_OUT = re.compile(r"(?:WEBSERVICE|FILTERXML|HYPERLINK|CALL|REGISTER|EXEC|RTD|INDIRECT|IMAGE)\s*\(|\[|\|", re.I)


def simple(formula: str) -> bool:
    """The form's own arithmetic (=B5+B6, =SUM(C7:C9)): kept as a formula."""
    return bool(_SIMPLE.match(formula)) and not _BAD.search(formula.replace("SUM(", "").replace("sum(", ""))


def plain_range(value: str, printing: bool = False) -> bool:
    """A defined name's text that is cells of this workbook only (printing: a print title, area or
    filter, which may be whole rows or columns): no function, no link."""
    pattern = _PRINT_RANGE if printing else _RANGE
    value = value.strip()
    return bool(value) and all(pattern.match(part.strip()) for part in value.split(","))
