"""A returned copy made by editing the unit's own package, about a tenth of openpyxl's load and
save: the flagged cells' formats gain a fill (their font, borders and number format kept), each
flagged sheet a comments part, the workbook a first sheet 问题清单; the rest of the package is
the unit's, part for part. What could act is taken out as on openpyxl's path (returns.py):
formulas other than the form's simple arithmetic become inert text; hyperlinks, external links,
macros and names that are not plain ranges go; calcChain and printer settings go with them.

Anything this is not sure to keep right — drawings, charts, form controls, threaded comments,
shared formulas it would have to translate, parts it does not know — raises Unsure, and
returns.py makes that copy through openpyxl instead."""
from __future__ import annotations

import html
import re

from .listing import HEADER_ROW, OWN_PROPERTY, RETURN_SHEET, listing, marks, per_cell, quoted, sheet_name, spot
from .keep import plain_range
from .listxml import LAST, NO_COMMENTS, list_sheet, merged_comments, vml_part
from .ooxml_edit import CT, ContentTypes, Package, Rels, Styles, Unsure, attrs, block, esc, set_attr
from .sheetxml import SheetXml, coord, ref

_KEEP = {"worksheet", "styles", "sharedStrings", "theme"}
_DROP = {"calcChain", "externalLink", "vbaProject", "printerSettings", "hyperlink"}
_ROOT_KEEP = {"officeDocument", "core-properties", "extended-properties", "custom-properties", "thumbnail"}
_SHEET_TAG = re.compile(r"<sheet\b[^>]*>")
_PROPERTY = re.compile(r"<property\b([^>]*)>(.*?)</property>", re.S)
_NAME = re.compile(r"<definedName\b([^>]*)>(.*?)</definedName>", re.S)
APP = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.org/'
       'officeDocument/2006/extended-properties"><Application>Microsoft Excel Compatible / selfeval</Application></Properties>')
CUSTOM_NS = ('xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
             'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"')
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def repack(data: bytes, content: dict) -> bytes:
    """The marked copy's bytes (what stays active: keep.py)."""
    pkg = Package(data)
    types = ContentTypes(pkg)
    root = Rels(pkg, "")
    office = [r for r in root.items if root.kind(r) == "officeDocument"]
    if len(office) != 1 or any(root.kind(r) not in _ROOT_KEEP for r in root.items):
        raise Unsure("package relationships")
    wb_part = root.target(office[0])
    wb_xml = pkg.text(wb_part)
    if (not re.search(r"<workbook\b", wb_xml[:2000]) or "purl.oclc.org" in wb_xml[:2000]
            or 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"' not in wb_xml[:2000]):
        raise Unsure("not a transitional workbook part")
    wb_rels = Rels(pkg, wb_part)
    by_id = {r.get("Id"): r for r in wb_rels.items}
    for r in list(wb_rels.items):   # a part whose relationship goes, goes at the end (_reachable)
        kind = wb_rels.kind(r)
        if kind in _DROP:
            wb_rels.items.remove(r)
        elif kind not in _KEEP:
            raise Unsure(f"workbook part {kind}")
    styles_rel = [r for r in wb_rels.items if wb_rels.kind(r) == "styles"]
    if len(styles_rel) != 1:
        raise Unsure("styles")
    styles_part = wb_rels.target(styles_rel[0])
    styles = Styles(pkg.text(styles_part))

    sheets = []   # (tag, attrs, part)
    for tag in _SHEET_TAG.findall(block(wb_xml, "sheets").group() if block(wb_xml, "sheets") else ""):
        a = attrs(tag)
        rel = by_id.get(a.get("r:id"))
        if rel is None or wb_rels.kind(rel) != "worksheet":
            raise Unsure("a sheet that is not a worksheet")
        sheets.append((tag, a, wb_rels.target(rel)))
    if not sheets:
        raise Unsure("no sheets")

    custom = _custom(pkg, root)
    ours_back = custom is not None and custom[1] == "return"   # a returned copy sent back
    removed = None
    if ours_back and len(sheets) > 1 and any(a.get("name") == RETURN_SHEET for _, a, _ in sheets):
        removed = next(k for k, (_, a, _) in enumerate(sheets) if a.get("name") == RETURN_SHEET)
        _, a, part = sheets[removed]
        if Rels(pkg, part).items:
            raise Unsure("our old list with relationships")
        wb_rels.items = [r for r in wb_rels.items if r.get("Id") != a.get("r:id")]
    kept = [s for k, s in enumerate(sheets) if k != removed]
    # a sheet's index in the copy (问题清单 is 0): names scoped to a sheet follow it
    index_after = {old: new for new, old in enumerate((k for k in range(len(sheets)) if k != removed), 1)}

    # every sheet: links, printer settings and active formulas out; flagged ones marked
    edits = {part: _open_sheet(pkg, part) for _, _, part in kept}
    names = [a["name"] for _, a, _ in kept]
    by_name = {a["name"]: part for _, a, part in kept}
    targets: dict[tuple[str, str], tuple[str, str]] = {}   # mark → (sheet name, its top-left cell)
    notes: dict[str, list] = {}
    for m in marks(content):
        sheet, cell = spot(m.sheet, m.cell)
        if sheet not in by_name or not cell:
            continue
        sx = edits[by_name[sheet]][0]
        rc = sx.top_left(coord(cell))
        targets[(m.sheet, m.cell)] = (sheet, ref(*rc))
        notes.setdefault(sheet, []).append((rc, m.text, m.color))

    for block_no, (sheet, items) in enumerate(notes.items(), 1):
        part = by_name[sheet]
        sx, rels = edits[part]
        gathered = per_cell(items)
        texts = {rc: text for rc, (text, _) in gathered.items()}
        for rc, (_, color) in gathered.items():
            sx.styles[rc] = styles.with_fill(sx.style_of(rc), color)
        old = [r for r in rels.items if rels.kind(r) in ("comments", "vmlDrawing")]
        if old:   # the unit's own comments (or an earlier round's) stay where no new one replaces them
            cpart, vpart, rid = _their_comments(pkg, rels, old, sx)
            xml, cells = merged_comments(pkg.text(cpart), texts)
        else:
            cpart, vpart = pkg.fresh("xl/comments{}.xml"), pkg.fresh("xl/drawings/vmlDrawing{}.vml")
            xml, cells = merged_comments(NO_COMMENTS, texts)
            types.set(cpart, CT["comments"])
            types.defaults.setdefault("vml", CT["vml"])
            rels.add("comments", "/" + cpart)
            rid = rels.add("vmlDrawing", "/" + vpart)
        pkg.put(cpart, xml)
        pkg.put(vpart, vml_part(cells, block_no))
        edits[part] = (sx, rels, None if old else rid)
    for part, (sx, rels, *rid) in edits.items():
        xml = sx.render(rid[0] if rid else None)   # (rid: a new comments drawing to link)
        _linked(xml, rels, rid[0] if rid else None)
        if xml != sx.xml:   # a sheet the marks do not touch keeps its deflated bytes
            pkg.put(part, xml)
        if rels.items:
            pkg.put(rels.name, rels.xml())
        else:
            pkg.drop(rels.name)

    # 问题清单, first
    plan = listing(content)
    name = sheet_name(names)
    links = {}
    for n, where in enumerate(plan.spots):
        if where in targets:
            sheet, cell = targets[where]
            links[n] = f"{quoted(sheet)}!{cell}"
    list_part = pkg.fresh("xl/worksheets/sheet{}.xml")
    pkg.put(list_part, list_sheet(plan, styles, links))
    types.set(list_part, CT["sheet"])
    rid = wb_rels.add("worksheet", _relative(wb_part, list_part))
    sheet_id = max(int(a.get("sheetId", 0)) for _, a, _ in sheets) + 1
    own = quoted(name)
    h, last = HEADER_ROW, max(HEADER_ROW + 1, plan.last_row)
    ours = [f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">{esc(own)}!$A${h}:${LAST}${last}</definedName>',
            f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{esc(own)}!${h}:${h}</definedName>']
    new_tag = f'<sheet name="{esc(name)}" sheetId="{sheet_id}" r:id="{rid}"/>'
    pkg.put(wb_part, _workbook(wb_xml, new_tag, [t for t, _, _ in kept], index_after, ours))
    pkg.put(wb_rels.name, wb_rels.xml())
    pkg.put(styles_part, styles.render())
    if types.of(wb_part) != CT["main"]:
        types.set(wb_part, CT["main"])
    _stamp(pkg, root, types, custom)
    if pkg.has("docProps/app.xml"):
        pkg.put("docProps/app.xml", APP)
    # parts nothing refers to any more: what the dropped relationships named (a macro project and
    # its signature, printer settings, external links, our old 问题清单) and orphans (a program)
    every = {i.filename for i in pkg.infos} | set(pkg.edited)
    for name in every - _reachable(pkg):
        pkg.drop(name)
        types.set(name, None)
    pkg.put("[Content_Types].xml", types.xml())
    return pkg.bytes()


def _their_comments(pkg: Package, rels: Rels, old: list[dict], sx: SheetXml):
    """The flagged sheet's own comments part and drawing: (comments part, VML part, drawing id).
    """
    comments = [r for r in old if rels.kind(r) == "comments"]
    drawings = [r for r in old if rels.kind(r) == "vmlDrawing"]
    linked = re.search(r"<legacyDrawing\b[^>]*>", sx.xml)
    if len(comments) != 1 or len(drawings) != 1 or not linked or attrs(linked.group()).get("r:id") != drawings[0].get("Id"):
        raise Unsure("comments drawn in a way not redrawn here")
    return rels.target(comments[0]), rels.target(drawings[0]), drawings[0]["Id"]   # (boxes only: _only_notes)


def _open_sheet(pkg: Package, part: str):
    sx = SheetXml(pkg.text(part))
    rels = Rels(pkg, part)
    for r in list(rels.items):
        kind = rels.kind(r)
        if kind in ("hyperlink", "printerSettings"):   # (the part goes at the end: _reachable)
            rels.items.remove(r)
        elif kind == "vmlDrawing":
            _only_notes(pkg, rels.target(r))
        elif kind != "comments":   # comments stay where no cell of the sheet is flagged (see repack)
            raise Unsure(f"sheet part {kind}")
    sx.inert_formulas()
    return sx, rels


def _only_notes(pkg: Package, vml: str) -> None:
    """A VML drawing kept or redrawn holds comment boxes only: no form control (a button may call
    a macro), nothing of its own it links to (an image from the web)."""
    text = pkg.text(vml)
    kinds = set(re.findall(r"""ObjectType\s*=\s*["']([^"']*)["']""", text))
    if kinds - {"Note"} or "FmlaMacro" in text or Rels(pkg, vml).items:
        raise Unsure("a drawing with more than comment boxes")


def _linked(xml: str, rels: Rels, new_rid: str | None) -> None:
    """Every relationship the edited sheet still names is one it keeps (printer settings and
    links are gone with their ids: a <pageSetup> of a custom view must not keep one)."""
    named = re.findall(r'\s([\w.-]+):id\s*=\s*"([^"]*)"', xml)
    ids = {r.get("Id") for r in rels.items} | {new_rid}
    if any(prefix != "r" or rid not in ids for prefix, rid in named):
        raise Unsure("a relationship named that is not kept")


def _reachable(pkg: Package) -> set[str]:
    """Parts the package's relationships reach (from _rels/.rels), with their .rels parts."""
    seen, todo = {"[Content_Types].xml"}, [""]
    while todo:
        part = todo.pop()
        rels = Rels(pkg, part)
        if pkg.has(rels.name):
            seen.add(rels.name)
        for r in rels.items:
            if r.get("TargetMode") == "External":
                continue
            target = rels.target(r)
            if target not in seen and pkg.has(target):
                seen.add(target)
                todo.append(target)
    return seen


def _relative(base_part: str, part: str) -> str:
    folder = base_part.rsplit("/", 1)[0] + "/" if "/" in base_part else ""
    return part[len(folder):] if part.startswith(folder) else "/" + part


def _workbook(xml: str, new_tag: str, tags: list[str], index_after: dict[int, int], ours: list[str]) -> str:
    """workbook.xml with 问题清单 first, names that are not plain ranges gone and the others'
    sheet indexes moved, external references gone, the first tab active."""
    m = block(xml, "sheets")
    xml = xml[:m.start()] + "<sheets>" + new_tag + "".join(tags) + "</sheets>" + xml[m.end():]
    kept = []
    dm = block(xml, "definedNames")
    for a_text, value in _NAME.findall(dm.group()) if dm else []:
        a = attrs(a_text)
        text = html.unescape(value).strip()
        name = a.get("name", "")
        if not plain_range(text, printing=name.startswith("_xlnm.Print_") or name == "_xlnm._FilterDatabase"):
            continue
        tag = "<definedName" + a_text + ">"
        if "localSheetId" in a:
            local = int(a["localSheetId"])
            if local not in index_after:
                continue
            tag = set_attr(tag, "localSheetId", str(index_after[local]))
        kept.append(tag + value + "</definedName>")
    names = "<definedNames>" + "".join(ours + kept) + "</definedNames>"
    if dm:
        xml = xml[:dm.start()] + names + xml[dm.end():]
    else:
        at = xml.index("</sheets>") + len("</sheets>")
        xml = xml[:at] + names + xml[at:]
    for gone in ("externalReferences", "webPublishObjects"):   # (web publishing republishes to a share)
        m = block(xml, gone)
        if m:
            xml = xml[:m.start()] + xml[m.end():]
    for v in reversed(list(re.finditer(r"<workbookView\b[^>]*>", xml))):
        tag = set_attr(set_attr(v.group(), "activeTab", None), "firstSheet", None)
        xml = xml[:v.start()] + tag + xml[v.end():]
    return xml


def _custom(pkg: Package, root: Rels):
    """(part, our property's value or None, xml) of docProps/custom.xml, or None without one."""
    rel = [r for r in root.items if root.kind(r) == "custom-properties"]
    if not rel:
        return None
    part = root.target(rel[0])
    xml = pkg.text(part)
    value = None
    for m in _PROPERTY.finditer(xml):
        if attrs(m[1]).get("name") == OWN_PROPERTY:
            v = re.search(r">([^<]*)<", m[2])
            value = html.unescape(v[1]) if v else ""
    return part, value, xml


def _stamp(pkg: Package, root: Rels, types: ContentTypes, custom) -> None:
    """selfeval=return in the custom properties: a later run reads the copy as the unit's form."""
    def prop(pid: int) -> str:
        return f'<property fmtid="{FMTID}" pid="{pid}" name="{OWN_PROPERTY}"><vt:lpwstr>return</vt:lpwstr></property>'

    if custom is None:
        part = "docProps/custom.xml"   # (an unlisted part of that name, in any case, is no property of the book)
        for name in [n for n in pkg.names if n.casefold() == part]:
            pkg.drop(name)
        pkg.put(part, f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties {CUSTOM_NS}>'
                      + prop(2) + "</Properties>")
        root.add("custom-properties", part)
        types.set(part, CT["custom"])
        pkg.put(root.name, root.xml())
        return
    part, _, xml = custom
    if 'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"' not in xml or "</Properties>" not in xml:
        raise Unsure("custom properties")
    pids = []
    for m in reversed(list(_PROPERTY.finditer(xml))):   # ours goes (one of ours comes back below)
        a = attrs(m[1])
        if a.get("name") == OWN_PROPERTY:
            xml = xml[:m.start()] + xml[m.end():]
        elif a.get("pid", "").isdigit():
            pids.append(int(a["pid"]))
    at = xml.rindex("</Properties>")
    pkg.put(part, xml[:at] + prop(max([1, *pids]) + 1) + xml[at:])
