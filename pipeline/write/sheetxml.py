"""One worksheet part edited as text: its cells indexed once, a flagged cell's style changed (or the
cell added where the unit left none), formulas that are not the form's simple arithmetic made
inert text, links and printer settings taken out, a comments drawing attached."""
from __future__ import annotations

import html
import re

from ..models import a1
from ..read.ooxml import ref_to_rc
from .keep import REACHING_OUT, simple
from .ooxml_edit import OFFICE_RELS, Unsure, attrs, esc, set_attr

_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ROW = re.compile(r"<row\b[^>]*?(/?)>", re.S)
_F = re.compile(r"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_REF = re.compile(r'\br="([A-Z]{1,3})(\d+)"')
# what Excel, WPS, LibreOffice and the usual libraries never write, and a text search would misread:
# attributes in single quotes or with spaces around "=", references written with character entities
# (comments and CDATA never reach here: Package.text refuses a part holding them)
_UNUSUAL = re.compile(r"\s[\w:.-]+\s*=\s*'|\s[\w:.-]+\s+=|=\s+[\"']|\sr=\"[^\"]*&")
_TEXT = re.compile(r">[^<]+<")
_SPACED = ("= ", " =", "=\n", "\n=", "=\t", "\t=", "=\r", "\r=")


def _unusual(xml: str) -> bool:
    """_UNUSUAL in the tags, not in the cells' text; the part stripped of its text only where a
    plain substring says the pattern may match at all (most sheets: none)."""
    if "'" in xml or "&" in xml or any(s in xml for s in _SPACED):
        return bool(_UNUSUAL.search(_TEXT.sub("><", xml)))
    return False


# the children a worksheet may have after <legacyDrawing>, in the schema's order
# (other than the worksheet's <extLst>, found apart: nested ones belong to conditional formats)
_AFTER_LEGACY = ("<legacyDrawingHF", "<drawingHF", "<picture", "<oleObjects", "<controls",
                 "<webPublishItems", "<tableParts", "<mc:AlternateContent")


def ref(r: int, c: int) -> str:
    """A1 text of a 1-based (row, column), as the edits count (a1 counts from 0)."""
    return a1(r - 1, c - 1)


def coord(text: str) -> tuple[int, int]:
    """1-based (row, column) of A1-style text, $ allowed."""
    try:
        r, c = ref_to_rc(text.upper())
    except ValueError:
        raise Unsure(f"not a cell: {text}") from None
    return r + 1, c + 1


class SheetXml:
    def __init__(self, xml: str):
        if not re.search(r"<worksheet\b", xml[:2000]) or "<sheetData" not in xml:
            raise Unsure("not a plain worksheet part")
        if "<xm:f" in xml and any(REACHING_OUT.search(html.unescape(f)) for f in re.findall(r"<xm:f>(.*?)</xm:f>", xml, re.S)):
            raise Unsure("an x14 rule's formula that could reach out")   # (openpyxl's path drops x14 rules)
        if _unusual(xml):
            raise Unsure("XML written in a way these edits do not read")
        self.xml = xml
        self._found: dict[tuple[int, int], re.Match | None] = {}
        self._merges: list[tuple[int, int, int, int]] | None = None
        self.styles: dict[tuple[int, int], int] = {}     # cell → new style index
        self.texts: dict[tuple[int, int], str] = {}      # cell → inert text in place of its formula

    def cell(self, rc: tuple[int, int]) -> re.Match | None:
        """The cell's element, found by its reference (no index of the whole sheet: a copy
        touches a few cells)."""
        if rc not in self._found:
            xml, key = self.xml, f' r="{ref(*rc)}"'   # only a cell's r holds letters
            at, found = xml.find(key), None
            while at >= 0 and found is None:
                start = xml.rfind("<c ", 0, at + 1)
                m = _CELL.match(xml, start) if start >= 0 else None
                if m is not None and start + 2 + len(m[1]) > at:   # the key inside that start tag
                    found = m
                at = xml.find(key, at + 1)
            self._found[rc] = found
        return self._found[rc]

    def merges(self) -> list[tuple[int, int, int, int]]:
        if self._merges is None:
            self._merges = []
            for span in re.findall(r'<mergeCell\b[^>]*\bref="([^"]+)"', self.xml):
                a, _, b = span.partition(":")
                (r1, c1), (r2, c2) = coord(a), coord(b or a)
                self._merges.append((r1, c1, r2, c2))
        return self._merges

    def top_left(self, rc: tuple[int, int]) -> tuple[int, int]:
        """The cell that holds a merged range's value and look."""
        for r1, c1, r2, c2 in self.merges():
            if r1 <= rc[0] <= r2 and c1 <= rc[1] <= c2:
                return r1, c1
        return rc

    def style_of(self, rc: tuple[int, int]) -> int:
        m = self.cell(rc)
        s = attrs(m[1]).get("s") if m else None
        return int(s) if s and s.isdigit() else 0

    def inert_formulas(self) -> None:
        """Formulas that are not simple (keep.simple) become their text; a shared formula
        whose master is not simple, or a data table, cannot be kept right here."""
        if "<f" not in self.xml:
            return
        masters, followers = {}, set()
        for fm in re.finditer(r"<f\b", self.xml):
            start = self.xml.rfind("<c ", 0, fm.start())
            m = _CELL.match(self.xml, start) if start >= 0 else None
            r = _REF.search(m[1]) if m else None
            if r is None or m.end() < fm.end():
                raise Unsure("a formula outside a cell")
            rc = coord(r[1] + r[2])
            self._found[rc] = m
            inner = m[2] or ""
            f = _F.search(inner)
            if f is None:
                continue
            a = attrs(f[1])
            kind = a.get("t", "normal")
            text = html.unescape(f[2] or "")
            if kind == "dataTable":
                raise Unsure("a data table formula")
            if kind == "shared" and not text:
                followers.add(a.get("si"))
                continue
            ok = simple("=" + text)
            if kind == "shared":
                masters[a.get("si")] = ok
                if not ok:
                    raise Unsure("a shared formula that is not simple")
            if not ok:
                self.texts[rc] = "=" + text
        if any(masters.get(si) is not True for si in followers):
            raise Unsure("a shared formula without its master")

    def render(self, legacy_rid: str | None) -> str:
        """The part with the edits: flagged cells restyled (added where absent), inert texts,
        <hyperlinks> gone, printer settings unlinked, the comments drawing linked."""
        xml = self.xml
        edits = []   # (start, end, text), applied from the end
        absent: dict[int, list[int]] = {}
        for rc in set(self.styles) | set(self.texts):
            m = self.cell(rc)
            if m is None:
                absent.setdefault(rc[0], []).append(rc[1])
                continue
            start_tag = "<c" + m[1] + (">" if m[2] is not None else "/>")
            if rc in self.styles:
                start_tag = set_attr(start_tag, "s", str(self.styles[rc]))
            if rc in self.texts:
                head = set_attr(set_attr(set_attr(start_tag, "t", "inlineStr"), "cm", None), "vm", None)
                head = head[:-2] + ">" if head.endswith("/>") else head
                edits.append((m.start(), m.end(), f'{head}<is><t xml:space="preserve">{esc(self.texts[rc])}</t></is></c>'))
            else:
                edits.append((m.start(), m.start() + _start_len(m), start_tag))
        if absent:
            edits.extend(self._insertions(absent))
        for cm in re.finditer(r"<conditionalFormatting\b.*?</conditionalFormatting>", xml, re.S) \
                if "<conditionalFormatting" in xml else ():
            if self._active(cm.group()):
                edits.append((cm.start(), cm.end(), ""))
        dm = re.search(r"<dataValidations\b[^>]*?(?:/>|>(.*?)</dataValidations>)", xml, re.S) \
            if "<dataValidations" in xml else None
        if dm and dm[1] and self._active(dm[1]):
            kept = [v for v in re.findall(r"<dataValidation\b.*?</dataValidation>|<dataValidation\b[^>]*/>", dm[1], re.S)
                    if not self._active(v)]
            head = set_attr(re.match(r"<dataValidations\b[^>]*>", dm.group()).group(), "count", str(len(kept)))
            edits.append((dm.start(), dm.end(), head + "".join(kept) + "</dataValidations>" if kept else ""))
        for tag in ("hyperlinks", "webPublishItems"):
            for hm in re.finditer(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", xml, re.S):
                edits.append((hm.start(), hm.end(), ""))
        for pm in re.finditer(r"<pageSetup\b[^>]*>", xml):   # the sheet's and its custom views'
            if "r:id" in pm.group():
                edits.append((pm.start(), pm.end(), set_attr(pm.group(), "r:id", None)))
        for sv in re.finditer(r"<sheetView\b[^>]*>", xml):
            if "tabSelected" in sv.group():
                edits.append((sv.start(), sv.end(), set_attr(sv.group(), "tabSelected", None)))
        if legacy_rid:
            at = self._legacy_at()
            edits.append((at, at, f'<legacyDrawing xmlns:r="{OFFICE_RELS}" r:id="{legacy_rid}"/>'))
        for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            xml = xml[:start] + text + xml[end:]
        return xml

    def _active(self, xml: str) -> bool:
        """Some formula of a conditional format or validation could reach out (REACHING_OUT)."""
        return any(REACHING_OUT.search(html.unescape(f)) for f in re.findall(r"<formula\d?>(.*?)</formula\d?>", xml, re.S))

    def _insertions(self, absent: dict[int, list[int]]):
        """Empty styled cells where the unit's sheet has none: into their row in column order,
        or in a new row in row order."""
        xml = self.xml
        rows = {}
        data_start = xml.index("<sheetData")
        for m in _ROW.finditer(xml, data_start):
            if xml.startswith("</sheetData", m.start()):
                break
            r = attrs(m.group()).get("r")
            if r is None or not r.isdigit():
                raise Unsure("a row without its number")
            rows[int(r)] = m
        end = xml.find("</sheetData>", data_start)
        at_pos: dict[int, list[str]] = {}   # one insertion per position, its pieces in order
        new_rows = []
        for r, cols in sorted(absent.items()):
            cells = [f'<c r="{ref(r, c)}" s="{self.styles[(r, c)]}"/>' for c in sorted(cols)]
            m = rows.get(r)
            if m is None:
                new_rows.append((r, f'<row r="{r}">{"".join(cells)}</row>'))
                continue
            head = set_attr(m.group(), "spans", None)
            if m[1]:   # <row …/>
                yield m.start(), m.end(), head[:-2] + ">" + "".join(cells) + "</row>"
                continue
            close = xml.index("</row>", m.end())
            yield m.start(), m.end(), head
            row_cells = []
            for cm in _CELL.finditer(xml, m.end(), close):
                found = _REF.search(cm[1])
                if found is None:
                    raise Unsure("a cell without its reference")
                row_cells.append((coord(found[1] + found[2])[1], cm.start()))
            for c, cell in zip(sorted(cols), cells):
                later = [at for cc, at in row_cells if cc > c]
                at_pos.setdefault(min(later) if later else close, []).append(cell)
        if new_rows and end < 0:   # <sheetData/>: every new row in one
            sd = re.search(r"<sheetData\b[^>]*/>", xml)
            yield sd.start(), sd.end(), "<sheetData>" + "".join(t for _, t in new_rows) + "</sheetData>"
        else:
            for r, text in new_rows:
                later = [rows[k].start() for k in rows if k > r]
                at_pos.setdefault(min(later) if later else end, []).append(text)
        for at, pieces in at_pos.items():
            yield at, at, "".join(pieces)

    def _legacy_at(self) -> int:
        """Where <legacyDrawing> goes: before the first top-level child the schema puts after it.
        A worksheet's own <extLst> is its last child (conditional formats hold extLst of their own)."""
        xml = self.xml
        tail = xml.index("</sheetData>") if "</sheetData>" in xml else xml.index("<sheetData")
        found = [i for i in (xml.find(t, tail) for t in _AFTER_LEGACY) if i >= 0]
        last = re.search(r"</extLst>\s*</worksheet>\s*$", xml)
        if last:
            depth, pos = 0, last.start()
            for t in reversed(list(re.finditer(r"<extLst\b|</extLst>", xml[:last.start()]))):
                if t.group() == "</extLst>":
                    depth += 1
                elif depth:
                    depth -= 1
                else:
                    pos = t.start()
                    break
            found.append(pos)
        return min(found) if found else xml.rindex("</worksheet>")


def _start_len(m: re.Match) -> int:
    """Length of a cell's start tag (or of the whole empty element)."""
    return len("<c" + m[1]) + (1 if m[2] is not None else 2)
