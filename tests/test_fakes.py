"""The fakes must behave like the interfaces they stand in for, or every other test lies."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MakeAssistant
from fakes import FAKE_EMBEDDER_ID, FakeEmbedder, ScriptedGenerator, echo_sources, sources_in

from rag.pipeline import Retrieved
from rag.prompt import passage_messages
from rag.types import Evidence, Passage, Sentence


def test_fake_embedder_shape_dtype_norm_and_determinism() -> None:
    emb = FakeEmbedder()
    assert emb.model_id == FAKE_EMBEDDER_ID and emb.dimension == 64
    texts = ["Lukaschenko trifft Putin in Sotschi.", "80,1 Prozent der Stimmen", "und der die das"]
    vecs = emb.embed_documents(texts)
    assert vecs.shape == (3, 64) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vecs, FakeEmbedder().embed_documents(texts))
    assert emb.embed_queries([]).shape == (0, 64)


def test_fake_embedder_transliterations_collide_and_overlap_is_similar() -> None:
    emb = FakeEmbedder()
    a, b = emb.embed_queries(["Lukashenko Sochi", "Lukaschenko Sotschi"])
    assert float(a @ b) > 0.999
    q, near, far = emb.embed_documents([
        "Putin sicherte Lukaschenko militärische Hilfe zu",
        "Putin sagte Lukaschenko militärische Hilfe zu",
        "Die Fahrzeuge sollen Platz für knapp 600 Soldaten haben",
    ])
    assert float(q @ near) > 0.6
    assert float(q @ near) > float(q @ far) + 0.3


def test_fake_embedder_counts_calls() -> None:
    emb = FakeEmbedder()
    emb.embed_documents(["a b c", "d e f"])
    emb.embed_queries(["frage"])
    assert (emb.document_calls, emb.query_calls, emb.calls) == (1, 1, 2)
    assert emb.documents == ["a b c", "d e f"] and emb.queries == ["frage"]


def test_scripted_generator_streams_pieces_and_records_messages() -> None:
    gen = ScriptedGenerator("Hello world, this is it [1].", piece_chars=4)
    msgs = [{"role": "user", "content": "hi"}]
    pieces = list(gen.stream(msgs, max_tokens=7, temperature=0.5))
    assert len(pieces) > 1 and "".join(pieces) == "Hello world, this is it [1]."
    assert gen.messages == msgs and gen.calls[0]["max_tokens"] == 7


def test_scripted_generator_answer_can_depend_on_messages() -> None:
    passages = [Passage(i, f"d{i}", 0, text, 0, len(text), (Sentence(text, 0, len(text)),))
                for i, text in enumerate(["Satz eins. Und mehr.", "Satz zwei."])]
    messages = passage_messages("x?", [Evidence(i + 1, p, p.sentences[0], 1.0) for i, p in enumerate(passages)], "de")
    assert sources_in(messages) == {1: "Satz eins. Und mehr.", 2: "Satz zwei."}
    gen = ScriptedGenerator(echo_sources(2, 1))
    assert "".join(gen.stream(messages)) == "Satz zwei. [2]\nSatz eins. [1]"


@pytest.mark.parametrize("question", [
    "What share of the vote did Lukashenko get?", "What did Putin promise Lukashenko?",
    "Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?", "Proteste gegen Lukaschenko seit der Wahl",
    "Wie alt ist Lukaschenko?", "How many people have been detained since the protests began?",
])
def test_the_fake_reads_the_passages_the_assistant_shows(make_assistant: MakeAssistant, question: str) -> None:
    gen = ScriptedGenerator("I don't know.")
    shown = next(e for e in list(make_assistant(gen).stream(question)) if isinstance(e, Retrieved)).evidence
    assert sources_in(gen.messages) == {e.n: e.passage.text.strip() for e in shown}
