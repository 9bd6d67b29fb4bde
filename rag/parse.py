"""Read article files (.txt, .md, .html) into ``Document`` records.

News files carry their metadata in the text itself: a leading ``date YYYY-MM``
line, a dateline with the agency (``MOSKAU (dpa-AFX) -``), sometimes a headline
line and, on wire photos, an English caption with a photo credit. We pull these
out so answers can say who reported what and when, and so a caption is never
mistaken for body text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from rag.errors import InputError
from rag.textnorm import MONTH_NAMES
from rag.types import Document, text_digest

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")

_DATE_LINE = re.compile(r"\A\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)[ \t]*")
_DATELINE = re.compile(
    r"(?P<dateline>[A-ZÄÖÜ][\wÄÖÜäöüß./\- ]{1,60}?)\s*\((?P<agency>[A-Za-z][A-Za-z\-./ ]{1,24})\)\s*[-–—]\s*"
)
_CREDIT = re.compile(r"(?:REUTERS|AFP|AP|DPA|EPA|Reuters)/[A-Z][\w.\- ]+\s*$")
_EN_DATE = re.compile(rf"\b({'|'.join(MONTH_NAMES['en'])})\s+\d{{1,2}},\s+(\d{{4}})")
_MONTHS = {m: i for i, m in enumerate(MONTH_NAMES["en"], 1)}
_EN_WORDS = {"the", "and", "of", "in", "a", "to", "for", "against", "take", "part", "people", "is", "are"}
_DE_WORDS = {"der", "die", "das", "und", "nicht", "mit", "sich", "ist", "ein", "eine", "den", "von", "zu", "auf"}


def english_share(text: str) -> float:
    words = re.findall(r"[a-zäöüß]+", text.lower())
    en = sum(w in _EN_WORDS for w in words)
    de = sum(w in _DE_WORDS for w in words)
    if en + de < 3:
        return 0.5
    return en / (en + de)


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page, one paragraph per block element."""

    _BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "section", "article", "header", "figcaption"}
    _SKIP = {"script", "style", "nav", "footer", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.h1 = ""
        self._skip = 0
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        if tag in ("title", "h1"):
            self._in = tag
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        if tag == self._in:
            self._in = None
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in == "title":
            self.title += data
            return
        if self._in == "h1":
            self.h1 += data
        self.parts.append(data)


def html_to_text(raw: str) -> tuple[str, str]:
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, html.unescape((parser.h1 or parser.title).strip())


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data[:4096]:
        raise InputError(f"{path} is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_file(path: Path) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'}; use .txt, .md or .html")
    raw = read_text(path)
    html_title = ""
    if suffix in (".html", ".htm"):
        raw, html_title = html_to_text(raw)
    elif suffix in (".md", ".markdown"):
        raw = re.sub(r"^#{1,6}[ \t]+", "", raw, flags=re.M)
    return parse_text(path.stem, raw, path=str(path), title_hint=html_title)


def _paragraphs(text: str, start: int) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text[start:]):
        s, e = m.start() + start, m.end() + start
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def parse_text(doc_id: str, text: str, path: str = "", title_hint: str = "") -> Document:
    """Split a raw article into metadata and the offset where body text begins."""
    if not text.strip():
        raise InputError(f"{path or doc_id}: the file is empty")
    date = None
    pos = 0
    m = _DATE_LINE.match(text)
    if m:
        date = m.group(1)
        pos = m.end()
    paras = _paragraphs(text, pos)
    caption = None
    if paras and not m:
        s, e = paras[0]
        first = text[s:e]
        if len(paras) > 1 and (_CREDIT.search(first) or english_share(first) > 0.7):
            caption = first
            paras = paras[1:]
            dm = _EN_DATE.search(first)
            if dm and not date:
                date = f"{dm.group(2)}-{_MONTHS[dm.group(1)]:02d}"
    title = title_hint
    source = dateline = None
    body_start = paras[0][0] if paras else pos
    for i, (s, e) in enumerate(paras[:3]):
        para = text[s:e]
        dm = _DATELINE.match(para)
        if dm:
            dateline, source = dm.group("dateline").strip(), dm.group("agency").strip()
            body_start = s + dm.end()
            break
        if para.startswith("(") and para.endswith(")"):
            body_start = paras[i + 1][0] if i + 1 < len(paras) else e
            continue
        if i == 0 and title and para.strip() == title.strip() and len(paras) > 1:
            body_start = paras[1][0]
            continue
        if i == 0 and not title and _looks_like_headline(para) and len(paras) > 1:
            title = para
            body_start = paras[1][0]
            continue
        break
    if not title:
        title = _headline_from_body(text[body_start:])
    return Document(
        doc_id=doc_id,
        path=path,
        text=text,
        title=title,
        date=date,
        source=source,
        dateline=dateline,
        caption=caption,
        body_start=body_start,
        content_hash=text_digest(text),
    )


def _looks_like_headline(para: str) -> bool:
    return "\n" not in para and len(para) <= 160 and not para.rstrip().endswith((".", ":", ",", ";"))


def _headline_from_body(body: str, limit: int = 90) -> str:
    first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0]
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def iter_files(paths: list[Path]) -> list[Path]:
    """Article files under the given files or folders, sorted, hidden files skipped."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(
                f for f in sorted(p.rglob("*"))
                if f.is_file() and f.suffix.lower() in SUFFIXES
                and not any(x.startswith(".") for x in f.relative_to(p).parts)
            )
        elif p.is_file():
            found.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    return found
