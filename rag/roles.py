"""Who holds which office, as the articles say it.

Asked "which Russian government leader was due to visit?", the small model
answered "Alexander Lukaschenko [2]", and every check passed: the name stands
in the source, and the yes/no judge did not notice that the source calls him
head of state, not head of government. When a question asks for the holder
of an office, an answer naming someone must name a person the sources place
next to that office ("Regierungschef Michail Mischustin"), or next to a
colleague of it ("Außenminister Lawrow ... seinem Kollegen Makej"). Offices
are matched inside German compounds ("Kremlsprecher"), the longest form
winning ("Ministerpräsident" is not "Präsident").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.chunk import split_sentences

ROLES: dict[str, tuple[str, ...]] = {
    "head of government": ("prime minister", "premier", "government leader", "head of government",
                           "regierungschef", "ministerpräsident", "premierminister"),
    "head of state": ("president", "head of state", "präsident", "staatschef", "staatsoberhaupt", "staatsführer"),
    "foreign minister": ("foreign minister", "foreign secretary", "außenminister", "aussenminister"),
    "interior minister": ("interior minister", "innenminister"),
    "defence minister": ("defence minister", "defense minister", "verteidigungsminister"),
    "spokesperson": ("spokesman", "spokeswoman", "spokesperson", "sprecher"),
    "secretary general": ("secretary general", "secretary-general", "generalsekretär"),
    "chancellor": ("chancellor", "kanzler"),
}
COLLEAGUES = ("kollege", "kollegin", "amtskollege", "counterpart")
WINDOW = 6
_FORMS = sorted(((form, role) for role, forms in ROLES.items() for form in forms), key=lambda f: -len(f[0]))
_ASKED = re.compile(
    r"^\s*(?:which|what|who (?:is|was) the|wer (?:ist|war) der|wie hei(?:ß|ss)t der|welche[rs]?)\s+"
    r"(?P<head>(?:[\w-]+\s+){0,2}?)(?P<role>" + "|".join(re.escape(f) for f, _ in _FORMS) + r")(?!'s)\b",
    re.IGNORECASE,
)


def asked_role(question: str) -> str | None:
    """The office a question asks the holder of ("Which Kremlin spokesman ...?" -> "spokesperson")."""
    m = _ASKED.search(question)
    return role_of(m.group("role")) if m else None


def role_of(word: str) -> str | None:
    """The office a word names, the longest form inside it winning; None if it names none."""
    low = word.lower()
    return next((role for form, role in _FORMS if form in low), None)


def role_at(words: list[str], i: int) -> str | None:
    """The office named at word ``i``: inside the word, or by a phrase of several words starting there."""
    word = words[i].lower()
    for form, role in _FORMS:
        if " " in form or "-" in form:
            phrase = " ".join(words[i: i + form.count(" ") + 1]).lower()
            if phrase.startswith(form):
                return role
        elif form in word:
            return role
    return None


def holds_role(name_in: Callable[[str, str], bool], name: str, role: str, texts: Iterable[str]) -> bool:
    """Whether some sentence of ``texts`` puts ``name`` within a few words of ``role`` or of its colleague."""
    for text in texts:
        for sentence in split_sentences(text):
            words = sentence.text.split()
            offices = [role_at(words, i) for i in range(len(words))]
            if role not in offices:
                continue
            anchors = [i for i, (w, r) in enumerate(zip(words, offices, strict=True))
                       if r == role or any(c in w.lower() for c in COLLEAGUES)]
            for i in anchors:
                if name_in(name, " ".join(words[max(0, i - WINDOW): i + WINDOW + 1])):
                    return True
    return False


_RUN = re.compile(r"(?:[A-ZÄÖÜ][\w'’-]*\s+)*[A-ZÄÖÜ][\w'’-]*")


_DEMONYM = re.compile(r"\w+(?:ian|ish|ese|ean)|German|American|French|Dutch|Czech|Swiss|Greek|NATO|Nato|EU|US")


def surnames(text: str) -> list[str]:
    """The last word of each run of capitalised words ("Russian President Vladimir Putin" -> "Putin").

    Nationalities ("the Russian government") name no one and are left out.
    """
    last = (re.sub(r"['’]s$", "", m.group().split()[-1]) for m in _RUN.finditer(text))
    return [w for w in last if not _DEMONYM.fullmatch(w)]
