"""listing.py's 问题清单 as a worksheet part, and the comments of flagged cells as a comments part
with its VML drawing: the XML openpyxl writes for the same sheet (returns.py), written directly."""
from __future__ import annotations

import re

from .listing import (FONT, HEAD_FILL, HEADER_ROW, LINK_COL, LINK_COLOR, NOTE_FILL, NUMBER_COLS,
                      RETURN_HEADER, TODO_COLOR, WIDTHS, COMMENT_MAX, Listing, escaped)
from .ooxml_edit import Styles, Unsure, attrs, block, esc
from .printing import PAGE, _amp
from ..models import col_letter
from .sheetxml import coord, ref

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
LAST = col_letter(len(RETURN_HEADER) - 1)


def _text(at: str, s: int, text: str) -> str:
    return f'<c r="{at}" s="{s}" t="inlineStr"><is><t xml:space="preserve">{esc(escaped(text))}</t></is></c>'


def _value(at: str, s: int, v) -> str:
    if isinstance(v, (int, float)):
        return f'<c r="{at}" s="{s}"><v>{v!r}</v></c>'
    if v is None:
        return f'<c r="{at}" s="{s}"/>'
    return _text(at, s, v)


def list_sheet(plan: Listing, styles: Styles, links: dict[int, str]) -> str:
    """The sheet part; links: finding's index → the location its 单元格 jumps to."""
    font = styles.font(10)
    top = 'vertical="top" wrapText="1"'
    kinds = {"title": styles.xf(styles.font(14, bold=True), align='vertical="center"'),
             "plain": styles.xf(font, align='vertical="center" wrapText="1"'),
             "todo": styles.xf(styles.font(10, bold=True, color=TODO_COLOR), align='vertical="center" wrapText="1"')}
    head = styles.xf(styles.font(10, bold=True), styles.fill(HEAD_FILL),
                     align='horizontal="center" vertical="center" wrapText="1"')
    body = styles.xf(font, align=top)
    note = styles.xf(font, styles.fill(NOTE_FILL), align=top)
    link = styles.xf(styles.font(10, color=LINK_COLOR, underline=True), align=top)
    rows = []
    for r, (text, kind) in enumerate(plan.lines, 1):
        rows.append(f'<row r="{r}" ht="{plan.heights[r]:g}" customHeight="1">{_text(f"A{r}", kinds[kind], text)}</row>')
    cells = "".join(_text(ref(HEADER_ROW, c), head, h) for c, h in enumerate(RETURN_HEADER, 1))
    rows.append(f'<row r="{HEADER_ROW}">{cells}</row>')
    for n, vals in enumerate(plan.body):
        r = HEADER_ROW + n + 1
        number = styles.xf(font, fmt=styles.number_format(plan.formats[n]), align=top)
        kind = styles.xf(font, styles.fill(plan.colors[n]), align=top)
        out = []
        for c, v in enumerate(vals, 1):
            s = body
            if c == 2:
                s = kind
            elif c == 4:
                s = note
            elif c == LINK_COL and n in links:
                s = link
            elif c in NUMBER_COLS and isinstance(v, (int, float)):
                s = number
            out.append(_value(ref(r, c), s, v))
        rows.append(f'<row r="{r}" ht="{plan.heights[r]:g}" customHeight="1">{"".join(out)}</row>')
    last = max(HEADER_ROW + 1, plan.last_row)
    cols = "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>' for c, w in enumerate(WIDTHS, 1))
    merges = "".join(f'<mergeCell ref="A{r}:{LAST}{r}"/>' for r in range(1, len(plan.lines) + 1))
    hyperlinks = "".join(f'<hyperlink ref="{ref(HEADER_ROW + n + 1, LINK_COL)}" location="{esc(loc)}"/>'
                         for n, loc in sorted(links.items()))
    first = f"C{HEADER_ROW + 1}"
    header = (f'&L&"{FONT}"&9 {_amp(plan.print_title)}&C&"{FONT}"&11 &A&R&"{FONT}"&9 {_amp(plan.print_right)}')
    footer = f'&C&"{FONT}"&9 {PAGE}'
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<dimension ref="A1:{LAST}{plan.last_row}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
            f'<pane xSplit="2" ySplit="{HEADER_ROW}" topLeftCell="{first}" activePane="bottomRight" state="frozen"/>'
            '<selection pane="topRight"/><selection pane="bottomLeft"/>'
            f'<selection pane="bottomRight" activeCell="{first}" sqref="{first}"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
            f'<sheetData>{"".join(rows)}</sheetData>'
            f'<autoFilter ref="A{HEADER_ROW}:{LAST}{last}"/>'
            f'<mergeCells count="{len(plan.lines)}">{merges}</mergeCells>'
            + (f"<hyperlinks>{hyperlinks}</hyperlinks>" if hyperlinks else "")
            + '<printOptions horizontalCentered="1"/>'
            '<pageMargins left="0.4" right="0.4" top="0.75" bottom="0.6" header="0.5" footer="0.5"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
            f'<headerFooter><oddHeader>{esc(header)}</oddHeader><oddFooter>{esc(footer)}</oddFooter></headerFooter>'
            '</worksheet>')


AUTHOR = "审核"
# a sheet's comments part before any comment: where a flagged sheet has none of its own
NO_COMMENTS = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}">'
               "<authors></authors><commentList></commentList></comments>")


def merged_comments(xml: str, texts: dict[tuple[int, int], str]) -> tuple[str, list]:
    """A sheet's comments part (its own, or NO_COMMENTS) with ours in: a cell we flag gets our
    comment in place of its own, the others keep theirs as written. Returns the part and every
    comment's (row, column)."""
    authors = re.findall(r"<author>(.*?)</author>", xml, re.S)
    if AUTHOR in authors:
        ours = authors.index(AUTHOR)
    else:
        ours = len(authors)
        authors.append(AUTHOR)
    kept = {}
    for m in re.finditer(r"<comment\b([^>]*)>.*?</comment>", xml, re.S):
        rc = coord(attrs(m[1]).get("ref", ""))
        if rc not in texts:
            kept[rc] = m.group()
    for (r, c), text in texts.items():
        kept[(r, c)] = (f'<comment ref="{ref(r, c)}" authorId="{ours}"><text><t xml:space="preserve">'
                        f"{esc(escaped(text[:COMMENT_MAX]))}</t></text></comment>")
    cells = sorted(kept)
    a, cl = block(xml, "authors"), block(xml, "commentList")
    if a is None or cl is None or a.end() > cl.start():
        raise Unsure("a comments part not laid out as authors, then comments")
    body = f"<authors>{''.join(f'<author>{x}</author>' for x in authors)}</authors>"
    body += f"<commentList>{''.join(kept[rc] for rc in cells)}</commentList>"
    return xml[:a.start()] + body + xml[cl.end():], cells


def vml_part(cells: list[tuple[int, int]], block: int) -> str:
    """The hidden note boxes of the comments at (row, column), 1-based; block: this drawing's
    shape-id block (1, 2, … per sheet: ids block*1024+1…)."""
    shapes = []
    for k, (r, c) in enumerate(cells):
        shapes.append(
            f'<v:shape id="_x0000_s{block * 1024 + 1 + k}" type="#_x0000_t202" '
            'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:315pt;height:120pt;z-index:1;visibility:hidden" '
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            f'<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f'<x:Anchor>{c}, 15, {max(r - 2, 0)}, 10, {c + 5}, 15, {r + 8}, 4</x:Anchor><x:AutoFill>False</x:AutoFill>'
            f'<x:Row>{r - 1}</x:Row><x:Column>{c - 1}</x:Column></x:ClientData></v:shape>')
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            + "".join(shapes) + "</xml>")
