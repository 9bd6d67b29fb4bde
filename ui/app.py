"""The Gradio chat app: streamed answers whose [n] open the original article.

Layout and wiring only; behaviour lives in ``ui.service`` and ``ui.render``.
Gradio is imported here and nowhere in the core.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.language import detect_language
from rag.pipeline import Corroborated, Done, Retrieved, Token
from rag.settings import Settings
from rag.types import Turn
from ui import render
from ui.security import AuthGate, parse_auth, require_auth_beyond_loopback
from ui.service import ChatService, started_service

log = logging.getLogger("rag.ui")

GENERIC_ERROR = "Something went wrong; see the server log."

EXAMPLES = [
    "What did Putin promise Lukashenko?",
    "What share of the vote did Lukashenko get?",
    "Wie viel Prozent der Stimmen erhielt Lukaschenko?",
    "Where did Putin and Lukashenko meet?",
]


def user_message(exc: Exception, where: str) -> str:
    """What a client may see of an error: a ``RagError``'s own line (written for users), else a generic line.

    Anything else is logged here with its traceback and never sent to the client.
    """
    if isinstance(exc, RagError):
        log.info("%s: %s", where, exc)
        return str(exc)
    log.error("%s failed", where, exc_info=exc)
    return GENERIC_ERROR


def build_app(service: ChatService) -> Any:
    import gradio as gr

    def respond(question: str, chat: list[dict[str, Any]], turns: list[Turn], cards: list[str],
                passages: float, temperature: float) -> Iterator[tuple[Any, ...]]:
        question = (question or "").strip()
        chat = list(chat or [])
        if not question:
            gr.Warning("Please type a question.")
            yield "", chat, turns, cards, render.panel_html(cards), gr.update()
            return
        chat.append({"role": "user", "content": question})
        turn = sum(1 for m in chat if m["role"] == "user")
        reply: dict[str, Any] = {"role": "assistant", "content": "…"}
        chat.append(reply)
        sources = ""
        streamed = ""
        new_cards: list[str] = []
        try:
            for event in service.stream(question, turns, int(passages), float(temperature)):
                if isinstance(event, Retrieved):
                    docs = service.documents_by_id()
                    sources = render.sources_html(event.evidence, docs)
                    if turns:
                        chat.insert(len(chat) - 1, {"role": "assistant", "content": event.query,
                                                    "metadata": {"title": "🔎 Searched as a standalone question"}})
                    yield "", chat, turns, cards, render.panel_html(cards, sources), gr.update()
                elif isinstance(event, Token):
                    streamed += event.text
                    reply["content"] = streamed
                    yield "", chat, turns, cards, render.panel_html(cards, sources), gr.update()
                elif isinstance(event, Done | Corroborated):
                    answer = event.answer
                    docs = service.documents_by_id()
                    reply["content"] = render.answer_markdown(answer, turn)
                    if isinstance(event, Corroborated):  # the same answer, more quotes: replaces this turn's
                        cards, turns = cards[:len(cards) - len(new_cards)], turns[:-1]
                    new_cards = [render.citation_card(c, docs.get(c.doc_id), turn) for c in answer.citations]
                    cards = cards + new_cards
                    turns = [*turns, Turn(question, answer.answer)]
                    lang = detect_language(question)
                    choices = [(f"[{c.n}] {c.doc_id} (answer {turn})", f"{lang}|{c.passage}") for c in answer.citations]
                    yield "", chat, turns, cards, render.panel_html(cards, sources), gr.update(choices=choices)
        except Exception as exc:
            reply["content"] = f"⚠️ {user_message(exc, 'answer')}"
            yield "", chat, turns, cards, render.panel_html(cards), gr.update()

    def translate(choice: str) -> str:
        if not choice:
            return "Choose a citation first."
        lang, text = choice.split("|", 1)
        try:
            out = service.translate(text, lang)
        except Exception as exc:
            return f"⚠️ {user_message(exc, 'translation')}"
        return f"**Machine translation (local model, may contain errors):**\n\n{out}"

    def corpus_rows() -> list[list[Any]]:
        try:
            return [[d.doc_id, d.title, d.date, d.source, d.passages] for d in service.documents()]
        except Exception as exc:
            gr.Warning(user_message(exc, "corpus list"))
            return []

    def add(files: list[Any] | None, progress: Any = gr.Progress()) -> tuple[str, Any, Any]:  # noqa: B008
        if not files:
            return "Choose .txt, .md or .html files first.", corpus_rows(), gr.update()
        paths = [Path(f if isinstance(f, str) else f.name) for f in files]
        try:
            report = service.add_files(paths, lambda done, total: progress((done, total), desc="embedding"))
        except Exception as exc:
            return f"⚠️ {user_message(exc, 'adding files')}", corpus_rows(), gr.update()
        lines = [report.summary()] + [f"⚠️ skipped {Path(p).name}: {why}" for p, why in report.failed]
        rows = corpus_rows()
        return "\n\n".join(lines), rows, gr.update(choices=[r[0] for r in rows])

    def delete(doc_id: str) -> tuple[str, Any, Any]:
        try:
            report = service.delete(doc_id)
        except Exception as exc:
            return f"⚠️ {user_message(exc, 'deleting ' + repr(doc_id))}", corpus_rows(), gr.update()
        rows = corpus_rows()
        return report.summary(), rows, gr.update(choices=[r[0] for r in rows], value=None)

    def ask(question: str) -> dict[str, object]:
        """The same JSON object as `rag ask --json`."""
        try:
            return service.ask_json(question)
        except Exception as exc:
            return {"question": question, "error": user_message(exc, "ask")}

    with gr.Blocks(title="News archive Q&A") as demo:
        gr.Markdown("## Ask your news archive\nAnswers cite the original articles; click a [n] to check it.")
        turns = gr.State([])
        cards = gr.State([])
        if service.error:
            gr.Markdown(f"⚠️ **{service.error}**")
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(height=520, label="Chat", elem_id="chat")
                question = gr.Textbox(placeholder="Ask in English or German …", show_label=False,
                                      elem_id="question")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("New conversation")
                gr.Examples(EXAMPLES, inputs=question)
            with gr.Column(scale=2):
                panel = gr.HTML(render.panel_html([]), elem_id="source-panel")
                cite_choice = gr.Dropdown(label="Translate a cited passage", choices=[], elem_id="translate-choice")
                translate_btn = gr.Button("Translate (machine translation)")
                translation = gr.Markdown()
        with gr.Tab("Corpus"):
            table = gr.Dataframe(headers=["id", "headline", "date", "agency", "passages"], interactive=False)
            files = gr.File(file_count="multiple", file_types=[".txt", ".md", ".html", ".htm"], label="Add articles")
            add_btn = gr.Button("Index files")
            status = gr.Markdown()
            to_delete = gr.Dropdown(label="Delete an article", choices=[r[0] for r in corpus_rows()])
            delete_btn = gr.Button("Delete", variant="stop")
        with gr.Tab("Settings"):
            passages = gr.Slider(1, 8, value=service.settings.passages, step=1, label="Passages shown to the model")
            temperature = gr.Slider(0.0, 1.0, value=service.settings.temperature, step=0.05, label="Temperature")
            gr.Markdown("\n".join(f"- **{k}**: `{v}`" for k, v in service.models().items()))

        outputs = [question, chat, turns, cards, panel, cite_choice]
        inputs = [question, chat, turns, cards, passages, temperature]
        model: dict[str, Any] = {"concurrency_id": "model", "concurrency_limit": 1}
        send.click(respond, inputs, outputs, api_visibility="private", **model)
        question.submit(respond, inputs, outputs, api_visibility="private", **model)
        clear.click(lambda: ([], [], [], render.panel_html([])), None, [chat, turns, cards, panel],
                    api_visibility="private")
        translate_btn.click(translate, cite_choice, translation, api_visibility="private", **model)
        add_btn.click(add, files, [status, table, to_delete], api_visibility="private", **model)
        delete_btn.click(delete, to_delete, [status, table, to_delete], api_visibility="private", **model)
        gr.api(ask, api_name="ask", **model)
        demo.load(corpus_rows, None, table, api_visibility="private")
    return demo


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, service: ChatService | None = None,
           block: bool = True) -> Any:
    """Start the app; models load once (warmed up before the first visitor) and stay loaded.

    Beyond loopback a login (``settings.ui_auth``) is required, checked before any model loads.
    """
    auth = parse_auth(settings.ui_auth)
    require_auth_beyond_loopback(host, auth)
    from starlette.middleware import Middleware

    service = started_service(settings, service, log)
    demo = build_app(service)
    demo.queue(default_concurrency_limit=1)
    # Gradio's own start-up probe gives the server 3 s to answer and then refuses to start, which a
    # loaded machine can miss; without blocking (tests, benches), wait for it patiently instead.
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block, head=render.CLICK_SCRIPT,
                css=render.CSS, show_error=False, quiet=not block, auth=auth,
                auth_message="Sign in with the login set in RAG_UI_AUTH.", ssr_mode=False,
                app_kwargs={"middleware": [Middleware(AuthGate)]}, _frontend=block)
    if not block:
        wait_until_up(demo.local_url)
    return demo


def wait_until_up(url: str, timeout_s: float = 300.0) -> None:
    """Return once the server at ``url`` answers anything; ``RuntimeError`` after ``timeout_s``."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.head(url, timeout=10.0)
            return
        except httpx.HTTPError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app at {url} did not answer within {timeout_s:g} s ({exc})") from None
            time.sleep(0.2)
