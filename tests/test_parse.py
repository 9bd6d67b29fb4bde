"""Reading article files: metadata lines, captions, HTML and Markdown, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEEDS

from rag.chunk import chunk_document
from rag.errors import InputError
from rag.parse import iter_files, parse_file, parse_text


def seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


@pytest.mark.parametrize(("prefix", "date"), [
    ("000", "2020-08"),  # no date line: taken from the English caption ("August 16, 2020")
    ("001", "2020-09"), ("002", "2020-09"), ("003", "2021-02"), ("004", "2025-07"),
])
def test_date(prefix: str, date: str) -> None:
    assert parse_file(seed(prefix)).date == date


@pytest.mark.parametrize(("prefix", "dateline", "source"), [
    ("000", "Minsk/Wilna/Brüssel", "Reuters"),
    ("001", "MOSKAU", "dpa-AFX"),
    ("003", "MINSK", "dpa-AFX"),
])
def test_dateline_and_agency(prefix: str, dateline: str, source: str) -> None:
    doc = parse_file(seed(prefix))
    assert (doc.dateline, doc.source) == (dateline, source)
    # the body starts right after "MOSKAU (dpa-AFX) - ", so the dateline is not body text
    assert "(" + source + ")" not in doc.text[doc.body_start:doc.body_start + 40]


def test_body_start_after_dateline_001() -> None:
    doc = parse_file(seed("001"))
    assert doc.text[doc.body_start:].startswith("Angesichts der anhaltenden Massenproteste")


def test_update_note_003_is_not_body_text() -> None:
    doc = parse_file(seed("003"))
    assert doc.text[doc.body_start:].startswith("Sechs Monate nach Beginn")
    assert all("neu: Reaktion" not in p.text for p in chunk_document(doc))


def test_english_caption_of_000_is_kept_apart_from_the_body() -> None:
    doc = parse_file(seed("000"))
    assert doc.caption is not None
    assert doc.caption.startswith("People take part in a protest")
    assert doc.caption.endswith("REUTERS/Vasily Fedosenko")
    passages = chunk_document(doc)
    assert passages
    for p in passages:
        assert "People take part" not in p.text
        assert "Vasily Fedosenko" not in p.text
        assert p.start >= doc.body_start
    assert doc.text[doc.body_start:].startswith("Nach den Massenprotesten")


def test_german_seeds_have_no_caption() -> None:
    for prefix in ("001", "002", "003", "004"):
        assert parse_file(seed(prefix)).caption is None


def test_headline_of_002() -> None:
    doc = parse_file(seed("002"))
    assert doc.title == "Belarussischer Präsident Lukaschenko trifft Putin am Montag in Russland"
    assert doc.text[doc.body_start:].startswith("Der in seiner Heimat umstrittene")
    assert all(not p.text.startswith("Belarussischer Präsident") for p in chunk_document(doc))


def test_title_falls_back_to_first_sentence_shortened() -> None:
    doc = parse_file(seed("001"))
    assert doc.title.startswith("Angesichts der anhaltenden Massenproteste")
    assert len(doc.title) <= 92 and doc.title.endswith("…")


def test_content_hash_tracks_the_text() -> None:
    a = parse_text("x", "Ein Satz. Noch einer.")
    b = parse_text("x", "Ein Satz. Noch einer!")
    assert a.content_hash and a.content_hash != b.content_hash
    assert a.content_hash == parse_text("y", "Ein Satz. Noch einer.").content_hash


HTML = """<!doctype html>
<html><head><title>Seitentitel &amp; mehr</title>
<script>var secret = "SCRIPT-TEXT";</script><style>p { color: red }</style></head>
<body><nav>Startseite | Nachrichten</nav>
<h1>Lukaschenko trifft Putin am Schwarzen Meer</h1>
<p>MINSK (dpa) - Der Präsident reiste am Montag nach Russland. Es war sein erster Besuch.</p>
<p>Die Gespräche dauerten &quot;lange&quot; &amp; blieben ohne Ergebnis.</p>
<script>alert("ALERT-TEXT")</script>
<footer>Impressum</footer>
</body></html>
"""


def test_html(tmp_path: Path) -> None:
    path = tmp_path / "artikel.html"
    path.write_text(HTML, encoding="utf-8")
    doc = parse_file(path)
    assert doc.doc_id == "artikel"
    assert doc.title == "Lukaschenko trifft Putin am Schwarzen Meer"  # <h1> wins over <title>
    for dropped in ("SCRIPT-TEXT", "ALERT-TEXT", "color: red", "Startseite", "Impressum", "<p>", "Seitentitel"):
        assert dropped not in doc.text
    body = " ".join(p.text for p in chunk_document(doc))
    assert "Der Präsident reiste am Montag nach Russland." in body
    assert 'Die Gespräche dauerten "lange" & blieben ohne Ergebnis.' in body  # entities decoded once


def test_html_dateline_after_h1(tmp_path: Path) -> None:
    path = tmp_path / "artikel.html"
    path.write_text(HTML, encoding="utf-8")
    doc = parse_file(path)
    assert (doc.dateline, doc.source) == ("MINSK", "dpa")
    body = " ".join(p.text for p in chunk_document(doc))
    assert "MINSK (dpa)" not in body


def test_txt_headline_then_dateline() -> None:
    """The same article as plain text: headline skipped, dateline and agency read."""
    doc = parse_text("x", "Lukaschenko trifft Putin am Schwarzen Meer\n\nMINSK (dpa) - Der Präsident reiste am "
                          "Montag nach Russland. Es war sein erster Besuch.\n\nDie Gespräche dauerten lange.")
    assert doc.title == "Lukaschenko trifft Putin am Schwarzen Meer"
    assert (doc.dateline, doc.source) == ("MINSK", "dpa")
    assert doc.text[doc.body_start:].startswith("Der Präsident reiste")


def test_html_title_used_when_there_is_no_h1(tmp_path: Path) -> None:
    path = tmp_path / "t.htm"
    path.write_text("<html><head><title>Nur der Titel</title></head><body><p>Ein Satz. Noch ein Satz.</p>"
                    "<p>Zweiter Absatz.</p></body></html>", encoding="utf-8")
    doc = parse_file(path)
    assert doc.title == "Nur der Titel"
    assert "Nur der Titel" not in doc.text


def test_german_h1_with_in_is_not_a_caption(tmp_path: Path) -> None:
    path = tmp_path / "h.html"
    path.write_text("<h1>Lukaschenko trifft Putin in Sotschi</h1><p>Der Präsident reiste am Montag nach Russland. "
                    "Es war sein erster Besuch.</p>", encoding="utf-8")
    assert parse_file(path).caption is None


def test_headline_without_date_line_is_not_a_caption() -> None:
    raw = seed("002").read_text(encoding="utf-8").replace(" date 2020-09 ", "", 1)
    doc = parse_text("002", raw)
    assert doc.caption is None
    assert doc.title == "Belarussischer Präsident Lukaschenko trifft Putin am Montag in Russland"


def test_markdown(tmp_path: Path) -> None:
    path = tmp_path / "notiz.md"
    path.write_text("# Treffen der Staatschefs\n\nPutin empfing Lukaschenko am Montag. Sie sprachen lange.\n\n"
                    "## Reaktionen\n\nDie EU kritisierte das Treffen.\n", encoding="utf-8")
    doc = parse_file(path)
    assert doc.title == "Treffen der Staatschefs"
    assert "#" not in doc.text
    texts = [p.text for p in chunk_document(doc)]
    assert texts[0] == "Putin empfing Lukaschenko am Montag. Sie sprachen lange."
    assert texts[-1].endswith("Die EU kritisierte das Treffen.")
    assert all("Treffen der Staatschefs" not in t for t in texts)


@pytest.mark.parametrize("content", [b"", b"   \n\n\t \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "leer.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match="empty"):
        parse_file(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bild.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputError, match="not a text file"):
        parse_file(path)


@pytest.mark.parametrize("name", ["artikel.pdf", "artikel.docx", "ohne_endung"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("Ein Satz.", encoding="utf-8")
    with pytest.raises(InputError, match="unsupported file type"):
        parse_file(path)


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        parse_file(tmp_path / "fehlt.txt")
    with pytest.raises(InputError, match="no such file"):
        iter_files([tmp_path / "fehlt"])


def test_cp1252_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "alt.txt"
    path.write_bytes("Die Gespräche in Minsk dauerten lange. Danach reiste er ab.".encode("cp1252"))
    assert "Gespräche" in parse_file(path).text


def test_iter_files_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.md").write_text("x")
    (tmp_path / "c.pdf").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.html").write_text("x")
    assert [p.name for p in iter_files([tmp_path])] == ["a.txt", "b.md", "e.html"]
