"""HTML and Markdown for the chat: citation links and the source panel (no gradio here).

Every [n] in an answer becomes a link to ``#cite-T-n`` (T = the answer's turn).
The source panel holds one card per citation with the whole original article,
the cited passage framed and the supporting sentence in a <mark>; a small
script in the page shows the card whose link was clicked and scrolls to it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from rag.prompt import REFUSALS
from rag.types import Answer, Citation, Document, Evidence

CLICK_SCRIPT = """
<script>
document.addEventListener('click', function (ev) {
  const a = ev.target.closest('a[href^="#cite-"]');
  if (!a) return;
  ev.preventDefault();
  ev.stopPropagation();
  const id = a.getAttribute('href').slice(1);
  document.querySelectorAll('.src-card').forEach(function (el) {
    el.classList.toggle('open', el.id === id);
  });
  const card = document.getElementById(id);
  if (card) {
    const mark = card.querySelector('mark') || card;
    mark.scrollIntoView({block: 'center'});
  }
}, true);
</script>
"""

CSS = """
.src-card { display: none; border: 1px solid #ccc; border-radius: 8px; padding: 10px; margin: 6px 0; }
.src-card.open { display: block; }
.src-card .meta { font-size: 0.85em; color: #555; margin-bottom: 6px; }
.src-card .article { max-height: 420px; overflow-y: auto; white-space: pre-wrap; line-height: 1.45; }
.src-card .passage { background: #fff8dc; border-left: 3px solid #e0b000; padding: 2px 4px; }
.src-card mark { background: #ffd54f; font-weight: 600; }
.src-list li { margin: 4px 0; }
"""

_MARK = re.compile(r"\[(\d+)\]")


def link_citations(text: str, turn: int) -> str:
    """'... [2].' -> '... [[2]](#cite-T-2).' so each marker opens its source card."""
    return _MARK.sub(lambda m: f"[[{m.group(1)}]](#cite-{turn}-{m.group(1)})", text)


def answer_markdown(answer: Answer, turn: int) -> str:
    t = answer.timings
    first = f"first token {t.first_token_s:.1f} s · " if t.first_token_s is not None else ""
    timing = f"\n\n<sub>{first}total {t.total_s:.1f} s · checked {t.checked_s:.1f} s</sub>"
    if answer.refused:
        said = next((r for r in REFUSALS.values() if answer.answer.startswith(r)), answer.answer)
        rest = answer.answer[len(said):].strip()
        closest = (f"  \n{link_citations(rest, turn)}" if rest
                   else "  \n<sub>No passage in the articles answers this.</sub>")
        return f"⚠️ **{said}**{closest}{timing}"
    return link_citations(answer.answer, turn) + timing


def is_refusal_text(text: str) -> bool:
    return any(r in text for r in REFUSALS.values())


def sources_html(evidence: Sequence[Evidence], documents: Mapping[str, Document]) -> str:
    """Shown as soon as retrieval finishes: what the answer will be drawn from."""
    if not evidence:
        return "<p>No matching passages.</p>"
    items = []
    for e in evidence:
        d = documents.get(e.passage.doc_id)
        meta = _meta(d) if d else e.passage.doc_id
        items.append(f"<li><b>[{e.n}]</b> {html.escape(meta)}<br><i>{html.escape(e.sentence.text)}</i></li>")
    return "<p><b>Sources found</b></p><ol class='src-list'>" + "".join(items) + "</ol>"


def _meta(d: Document) -> str:
    parts = [d.title, d.date or "", d.source or "agency unknown", d.doc_id]
    return " · ".join(p for p in parts if p)


def citation_card(c: Citation, doc: Document | None, turn: int) -> str:
    """One article with the cited passage framed and the quote marked."""
    text = doc.text if doc else c.passage
    body_start = doc.body_start if doc else 0
    p_start = text.find(c.passage, body_start) if c.passage_id >= 0 else -1
    if p_start < 0:
        p_start = text.find(c.passage)
    q_start, q_end = c.quote_start, c.quote_end
    if not (0 <= q_start < q_end <= len(text)) or text[q_start:q_end] != c.quote:
        q_start = text.find(c.quote)
        q_end = q_start + len(c.quote)
    if p_start < 0 or q_start < 0:
        article = f"<span class='passage'>{_mark_in(c.passage, c.quote)}</span>"
    else:
        p_end = p_start + len(c.passage)
        article = (html.escape(text[body_start:p_start]) + "<span class='passage'>"
                   + html.escape(text[p_start:q_start]) + "<mark>" + html.escape(text[q_start:q_end]) + "</mark>"
                   + html.escape(text[q_end:p_end]) + "</span>" + html.escape(text[p_end:]))
    meta = " · ".join(x for x in (c.date or "", c.source or "agency unknown", c.doc_id) if x)
    return (f"<div class='src-card' id='cite-{turn}-{c.n}' data-doc='{html.escape(c.doc_id)}'>"
            f"<div class='meta'><b>[{c.n}] {html.escape(c.title)}</b><br>{html.escape(meta)}</div>"
            f"<div class='article' lang='de'>{article}</div></div>")


def _mark_in(passage: str, quote: str) -> str:
    i = passage.find(quote)
    if i < 0:
        return html.escape(passage)
    return (html.escape(passage[:i]) + "<mark>" + html.escape(quote) + "</mark>"
            + html.escape(passage[i + len(quote):]))


def panel_html(cards: Sequence[str], sources: str = "") -> str:
    hint = "<p><small>Click a [n] in an answer to open the original article here.</small></p>"
    return hint + "".join(cards) + sources
