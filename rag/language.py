"""The facts about English and German that the code relies on, in one place.

Month names (for reading and writing dates), the function words of each language (articles,
pronouns, prepositions, conjunctions, question words, auxiliaries), and how a question's language
is told from them. Search leaves the function words out (``STOPWORDS``); ``detect_language``
counts them. No content word belongs here: "Prozent" or "vote" say what a question is about, not
which language it is in.
"""

from __future__ import annotations

import re

LANGUAGE_NAMES = {"en": "English", "de": "German"}

MONTH_NAMES = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
}
"""Month names in calendar order, per language: for reading dates and for writing them."""
MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Januar|Februar|März|Juni|Juli|Oktober|Dezember")
"""English and German month names as a regex alternation, for telling dates from other numbers."""

FUNCTION_WORDS = {
    "en": frozenset("""
a an and are as at be by did do does for from had has have he her his how in is it its of on or she that the
their them they this to was were what when where which who whom whose why will with would about after into
than then there these those also any can could should may might much many more most other some such only not
""".split()),
    "de": frozenset("""
der die das den dem des ein eine einer eines einem einen und oder ist sind war waren wird werden hat haben
hatte hatten mit von zu zum zur im in auf für fur bei nach aus als wie was wer wen wem wo wann warum welche
welcher welches sich sie er es ihr ihm ihn man nicht auch noch dass daß am an um über uber vor bis so
""".split()),
}
"""Each language's function words, as written or as typed without umlauts ("fur", "uber")."""
STOPWORDS = FUNCTION_WORDS["en"] | FUNCTION_WORDS["de"]
"""Words search leaves out: the function words of both languages."""
SHARED = frozenset("in was an am so also".split())
"""Function words both languages use, which say nothing about the language."""


def detect_language(text: str) -> str:
    """'de' or 'en' by function words and umlauts; English when unsure."""
    lowered = text.lower()
    words = [w for w in re.findall(r"[a-zäöüß]+", lowered) if w not in SHARED]
    de = sum(w in FUNCTION_WORDS["de"] for w in words) + 2 * len(re.findall(r"[äöüß]", lowered))
    en = sum(w in FUNCTION_WORDS["en"] for w in words)
    return "de" if de > en else "en"
