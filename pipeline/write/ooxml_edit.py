"""Small, exact edits of an OOXML package's parts as text: attributes, relationships, content
types, styles. Used by repack.py on bytes the reader's guard already bounded (no DTD, sizes
checked) and whose digest the run recorded. The parts are not parsed into trees: rewriting a
part through a DOM would cost more than the whole copy may, and would re-prefix namespaces that
Excel expects as written. Whatever these edits cannot be sure of raises Unsure."""
from __future__ import annotations

import html
import io
import posixpath
import re
import struct
import zipfile
import zlib

from .listing import FONT

PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = {
    "sheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    "main": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "comments": "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml",
    "vml": "application/vnd.openxmlformats-officedocument.vmlDrawing",
    "custom": "application/vnd.openxmlformats-officedocument.custom-properties+xml",
}
_ATTR = re.compile(r'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_REL = re.compile(r"<Relationship\b[^>]*>")


LEVEL = 1   # deflate level of a returned copy's parts (level 6: a fifth smaller, 2.5 times the CPU)


class Unsure(Exception):
    """This package holds something the edits are not sure to keep right: openpyxl makes the copy."""


def attrs(tag: str) -> dict[str, str]:
    return {m[1]: html.unescape(m[2] if m[2] is not None else m[3]) for m in _ATTR.finditer(tag)}


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def set_attr(tag: str, name: str, value: str | None) -> str:
    """The start tag with the attribute set (or removed with None)."""
    pattern = re.compile(r'\s' + re.escape(name) + r'\s*=\s*(?:"[^"]*"|\'[^\']*\')')
    tag = pattern.sub("", tag)
    if value is None:
        return tag
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{esc(value)}"{tag[end:]}'


def block(xml: str, name: str) -> re.Match | None:
    """<name …>…</name> or <name …/> (the first), unprefixed."""
    return re.search(rf"<{name}\b[^>]*?(?:/>|>.*?</{name}>)", xml, re.S)


class Package:
    """The parts of one package, read as needed; edits, drops and new parts written once."""

    def __init__(self, data: bytes):
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as e:
            raise Unsure(str(e)) from e
        self.data = data
        self.infos = self.zip.infolist()
        names = [i.filename for i in self.infos]
        if len({n.casefold() for n in names}) != len(names):
            raise Unsure("two parts of one name")
        self.names = set(names)
        self.edited: dict[str, bytes] = {}
        self.dropped: set[str] = set()

    def has(self, name: str) -> bool:
        return (name in self.names or name in self.edited) and name not in self.dropped

    def text(self, name: str) -> str:
        if name in self.edited:
            return self.edited[name].decode("utf-8")
        if name not in self.names:
            raise Unsure(f"no part {name}")
        try:
            text = self.zip.read(name).decode("utf-8")
        except UnicodeDecodeError as e:
            raise Unsure(f"{name} is not UTF-8") from e
        if "<!--" in text or "<![CDATA[" in text:   # a text search would read what they hide as markup
            raise Unsure(f"comments or CDATA in {name}")
        return text

    def put(self, name: str, text: str) -> None:
        self.edited[name] = text.encode("utf-8")
        self.dropped.discard(name)

    def drop(self, name: str) -> None:
        self.dropped.add(name)

    def fresh(self, pattern: str) -> str:
        """An unused part name: pattern with {} replaced by 1, 2, …"""
        taken = {n.casefold() for n in self.names | set(self.edited)}
        k = 1
        while pattern.format(k).casefold() in taken:
            k += 1
        return pattern.format(k)

    def bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info in self.infos:
                name = info.filename
                if name in self.dropped:
                    continue
                raw = None if name in self.edited else self._raw(info)
                if raw is not None:
                    _copied(z, info, raw)
                else:
                    _deflated(z, name, info.date_time, self.edited.get(name) or self.zip.read(name))
            for name, data in self.edited.items():
                if name not in self.names:
                    _deflated(z, name, (1980, 1, 1, 0, 0, 0), data)
        return out.getvalue()

    def _raw(self, info: zipfile.ZipInfo) -> bytes | None:
        """A part left as it is, as its deflated bytes: copied, not inflated and deflated again
        (the guard inflated it, checked its CRC, when the run read these very bytes)."""
        if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
            return None
        at = info.header_offset
        if self.data[at:at + 4] != b"PK\x03\x04":
            return None
        n, e = struct.unpack("<HH", self.data[at + 26:at + 30])
        start = at + 30 + n + e
        raw = self.data[start:start + info.compress_size]
        return raw if len(raw) == info.compress_size else None


def _copied(z: zipfile.ZipFile, src: zipfile.ZipInfo, raw: bytes) -> None:
    """A deflated member written as it came (zipfile has no call for it: its own bookkeeping)."""
    info = zipfile.ZipInfo(src.filename, src.date_time)
    info.CRC, info.compress_size, info.file_size = src.CRC, src.compress_size, src.file_size
    _append(z, info, raw)


def _deflated(z: zipfile.ZipFile, name: str, when: tuple, data: bytes | str) -> None:
    """A part deflated here: the bytes zipfile's writestr writes (the same deflate stream and
    header), without its file object and the header written twice, for the dozen parts a copy."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    raw = deflate.compress(data) + deflate.flush()
    info = zipfile.ZipInfo(name, when)
    info.CRC, info.compress_size, info.file_size = zlib.crc32(data), len(raw), len(data)
    info.external_attr = 0o600 << 16   # what writestr gives a member (-rw-------)
    _append(z, info, raw)


def _append(z: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes) -> None:
    info.compress_type = zipfile.ZIP_DEFLATED
    info.header_offset = z.fp.tell()
    z.fp.write(info.FileHeader(zip64=False))
    z.fp.write(raw)
    z.filelist.append(info)
    z.NameToInfo[info.filename] = info
    z.start_dir = z.fp.tell()
    z._didModify = True


def rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


class Rels:
    """A part's relationships: [{Id, Type, Target, TargetMode?}], written back fresh."""

    def __init__(self, pkg: Package, part: str):
        self.name = rels_name(part)
        self.folder = posixpath.dirname(part)
        self.items = []
        if pkg.has(self.name):
            xml = pkg.text(self.name)
            if not re.search(r"<Relationships\b", xml):
                raise Unsure(f"{self.name} written with a prefix")
            self.items = [attrs(t) for t in _REL.findall(xml)]

    def kind(self, rel: dict) -> str:
        return rel.get("Type", "").rsplit("/", 1)[-1]

    def target(self, rel: dict) -> str:
        if rel.get("TargetMode") == "External":
            raise Unsure("external target")
        t = rel.get("Target", "")
        path = t[1:] if t.startswith("/") else posixpath.join(self.folder, t)
        return posixpath.normpath(path)

    def add(self, kind: str, target: str) -> str:
        ids = {r.get("Id") for r in self.items}
        k = len(self.items) + 1
        while f"rId{k}" in ids:
            k += 1
        rid = f"rId{k}"
        self.items.append({"Id": rid, "Type": f"{OFFICE_RELS}/{kind}", "Target": target})
        return rid

    def xml(self) -> str:
        body = "".join("<Relationship" + "".join(f' {k}="{esc(v)}"' for k, v in r.items()) + "/>"
                       for r in self.items)
        return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_RELS}">{body}</Relationships>'


class ContentTypes:
    def __init__(self, pkg: Package):
        xml = pkg.text("[Content_Types].xml")
        if not re.search(r"<Types\b", xml):
            raise Unsure("[Content_Types].xml written with a prefix")
        self.defaults = {a["Extension"].lower(): a["ContentType"]
                         for a in map(attrs, re.findall(r"<Default\b[^>]*>", xml))}
        self.overrides = {a["PartName"]: a["ContentType"] for a in map(attrs, re.findall(r"<Override\b[^>]*>", xml))}

    def of(self, part: str) -> str:
        return self.overrides.get("/" + part) or self.defaults.get(part.rsplit(".", 1)[-1].lower(), "")

    def set(self, part: str, ctype: str | None) -> None:
        if ctype is None:
            self.overrides.pop("/" + part, None)
        else:
            self.overrides["/" + part] = ctype

    def xml(self) -> str:
        body = "".join(f'<Default Extension="{esc(k)}" ContentType="{esc(v)}"/>' for k, v in self.defaults.items())
        body += "".join(f'<Override PartName="{esc(k)}" ContentType="{esc(v)}"/>' for k, v in self.overrides.items())
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{body}</Types>')


_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4}


class Styles:
    """styles.xml's fonts, fills, number formats and cell formats, with new ones appended."""

    def __init__(self, xml: str):
        self.xml = xml
        self.count = {}
        for name, item in (("fonts", "font"), ("fills", "fill"), ("cellXfs", "xf")):
            m = block(xml, name)
            if m is None or m.group().endswith("/>"):
                raise Unsure(f"styles.xml has no {name}")
            self.count[name] = len(re.findall(rf"<{item}\b", m.group()))
        self.xfs = re.findall(r"<xf\b[^>]*/>|<xf\b[^>]*>.*?</xf>", block(xml, "cellXfs").group(), re.S)
        m = block(xml, "numFmts")
        fmts = [attrs(t) for t in re.findall(r"<numFmt\b[^>]*>", m.group())] if m else []
        self.formats = {f.get("formatCode"): int(f.get("numFmtId", 0)) for f in fmts}
        self.next_format = max([163, *self.formats.values()]) + 1
        self.new: dict[str, list[str]] = {"fonts": [], "fills": [], "cellXfs": [], "numFmts": []}
        self._seen: dict[tuple[str, str], int] = {}

    def _add(self, kind: str, xml: str) -> int:
        key = (kind, xml)
        if key not in self._seen:
            self._seen[key] = self.count[kind] + len(self.new[kind])
            self.new[kind].append(xml)
        return self._seen[key]

    def font(self, size: float, bold: bool = False, color: str | None = None, underline: bool = False) -> int:
        xml = ("<font>" + ("<b/>" if bold else "") + ("<u/>" if underline else "") + f'<sz val="{size:g}"/>'
               + (f'<color rgb="FF{color}"/>' if color else "") + f'<name val="{FONT}"/><charset val="134"/></font>')
        return self._add("fonts", xml)

    def fill(self, rgb: str) -> int:
        return self._add("fills", f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>'
                                  f'<bgColor indexed="64"/></patternFill></fill>')

    def number_format(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        if code not in self.formats:
            self.formats[code] = self.next_format
            self.new["numFmts"].append(f'<numFmt numFmtId="{self.next_format}" formatCode="{esc(code)}"/>')
            self.next_format += 1
        return self.formats[code]

    def xf(self, font: int, fill: int = 0, fmt: int = 0, align: str = "", border: int = 0) -> int:
        xml = (f'<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0" applyFont="1"'
               + (' applyFill="1"' if fill else "") + (' applyNumberFormat="1"' if fmt else "")
               + (' applyBorder="1"' if border else "")
               + (f' applyAlignment="1"><alignment {align}/></xf>' if align else "/>"))
        return self._add("cellXfs", xml)

    def with_fill(self, s: int, rgb: str) -> int:
        """A copy of cell format s with a solid fill: the unit's font, borders and format kept."""
        if s >= len(self.xfs):
            raise Unsure(f"cell format {s} not in styles.xml")
        xf = self.xfs[s]
        end = xf.index(">") + 1
        start, rest = xf[:end], xf[end:]
        start = set_attr(set_attr(start, "fillId", str(self.fill(rgb))), "applyFill", "1")
        return self._add("cellXfs", start + rest)

    def render(self) -> str:
        xml = self.xml
        if self.new["numFmts"]:   # the list of number formats, empty, where the unit's has none
            m = block(xml, "numFmts")
            if m is None or m.group().endswith("/>"):
                at = (m.start(), m.end()) if m else (re.search(r"<styleSheet\b[^>]*>", xml).end(),) * 2
                xml = xml[:at[0]] + '<numFmts count="0"></numFmts>' + xml[at[1]:]
        for name, item in (("numFmts", "numFmt"), ("fonts", "font"), ("fills", "fill"), ("cellXfs", "xf")):
            if not self.new[name]:
                continue
            m = block(xml, name)
            inner_end = m.end() - len(f"</{name}>")
            head = re.match(rf"<{name}\b[^>]*>", m.group()).group()
            total = len(re.findall(rf"<{item}\b", m.group())) + len(self.new[name])
            xml = (xml[:m.start()] + set_attr(head, "count", str(total)) + xml[m.start() + len(head):inner_end]
                   + "".join(self.new[name]) + xml[inner_end:])
        return xml
