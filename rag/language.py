"""The facts about English and German that the code relies on, in one place.

Month names (for reading and writing dates), the function words of each language (articles,
pronouns, prepositions, conjunctions, question words, auxiliaries), and how a question's language
is told from them. Search leaves the function words out (``STOPWORDS``); ``detect_language``
counts them. No content word belongs here: "Prozent" or "vote" say what a question is about, not
which language it is in.
"""

from __future__ import annotations

import functools
import re

LANGUAGE_NAMES = {"en": "English", "de": "German"}
NOUNS_CAPITALISED = frozenset({"de"})
"""Languages that capitalise every noun: past its first word, a sentence's capitalised words are its nouns and names."""

MONTH_NAMES = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
}
"""Month names in calendar order, per language: for reading dates and for writing them."""
WEEKDAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
"""Weekday names from Monday, per language (German "Sonnabend" and "Jänner" are in ``CALENDAR_ALIASES``)."""
CALENDAR_ALIASES = {"Sonnabend": "Samstag", "Jänner": "Januar"}
"""German calendar words that stand for another one: the northern Saturday, the Austrian January."""
MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Januar|Februar|März|Juni|Juli|Oktober|Dezember")
"""English and German month names as a regex alternation, for telling dates from other numbers."""

CARDINALS = {
    "en": ("two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
           "seventeen eighteen nineteen twenty").split(),
    "de": "zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn "
          "siebzehn achtzehn neunzehn zwanzig".split(),
}
"""Cardinal number words from two to twenty, per language, in order (so the value is the index plus two).

"One" and "ein" are left out: they are also the article and the pronoun ("one of the protesters").
"""
TENS = {
    "en": "thirty forty fifty sixty seventy eighty ninety".split(),
    "de": "dreißig vierzig fünfzig sechzig siebzig achtzig neunzig".split(),
}
"""The tens from thirty, per language, in order (value 30 + 10 times the index)."""


def number_word_values() -> dict[str, int]:
    """Every cardinal and ten of both languages, lower-cased, with its value ("vier" -> 4, "forty" -> 40)."""
    out: dict[str, int] = {}
    for lang in CARDINALS:
        out.update({w: k + 2 for k, w in enumerate(CARDINALS[lang])})
        out.update({w: 30 + 10 * k for k, w in enumerate(TENS[lang])})
    return out


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


FOREIGN_MARGIN = 2.0
"""How much more common (in Zipf units, log10 per billion words) a word must be in the other language."""


def _zipf(word: str, lang: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, lang))


def is_foreign(word: str, lang: str) -> bool:
    """Whether ``word`` belongs to the other language, by the word frequencies of ``wordfreq``.

    A word is foreign to English when it is at least ``FOREIGN_MARGIN`` Zipf units more common in
    German ("umfassende" 4.1 vs 0.0, "Hilfe" 5.2 vs 1.8); words both use ("Minsk", "Bank", "Rat")
    stay. Only German in English answers is looked for: German answers quote German sources.
    """
    if lang != "en" or len(word) < 3:
        return False
    folded = word.lower()
    de = _zipf(folded, "de")
    return de >= 2.0 and de - _zipf(folded, "en") >= FOREIGN_MARGIN


_TOKEN = re.compile(r"[A-Za-zÄÖÜäöüß]+(?:-[A-Za-zÄÖÜäöüß]+)*")
_GERMAN_ONLY = FUNCTION_WORDS["de"] - FUNCTION_WORDS["en"]


def foreign_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """Character spans of runs of other-language words in ``text`` (a run holds a lowercase one).

    A capitalised word alone is left: it is a name ("Lukaschenko") more often than a noun, and
    names are the name checks' business. "umfassende Hilfe" is one run; "Hilfe" alone is not.
    """
    if lang != "en":
        return []
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        if any(m.group()[0].islower() for m in run):
            spans.append((run[0].start(), run[-1].end()))
        run.clear()

    for m in _TOKEN.finditer(text):
        parts = m.group().split("-")
        foreign = [is_foreign(p, lang) for p in parts]
        if all(f or p.lower() in FUNCTION_WORDS["de"] for f, p in zip(foreign, parts, strict=True)) and (
                any(foreign) or (run and m.group().lower() in _GERMAN_ONLY)):
            if run and text[run[-1].end():m.start()].strip(" -,"):
                close()
            run.append(m)
        else:
            close()
    close()
    return spans


PLACE_MARGIN = 1.0
"""How much more common (Zipf units) a German place name must be in German than in English to be replaced.

Below it the name is also an English word or the English name itself: "Island" (Iceland; 4.5 in
German, 5.0 in English), "Rom" (ROM, 0.9 apart), "Myanmar".
"""


_NOT_PLACES = frozenset({"ZZ", "XA", "XB"})
"""CLDR's codes for an unknown region and its two pseudo-locales ("Unbekannt", "Pseudo-Akzente")."""


@functools.cache
def place_names(src: str = "de", dst: str = "en") -> dict[str, str]:
    """Names of countries, territories and cities that ``dst`` writes otherwise than ``src``, from CLDR.

    A German source names places in German, and the model copies them into English answers
    ("Litauen, Lettland, Polen and the Ukraine", seeds; "Philip II. von Spanien", XQuAD), which an
    English reader does not know or cannot search for. CLDR (through Babel, which trafilatura's
    URL library already needs) holds every country's name and the exemplar city of every time
    zone in both languages, so no list of ours is kept: 192 names from "Ägypten" to "Zypern",
    "Moskau", "Wien", "Kiew", "Warschau". Cities that are no zone's exemplar ("München",
    "Sotschi") are not among them.
    """
    from babel import Locale

    source, target = Locale(src), Locale(dst)
    pairs: dict[str, str] = {}
    for code, name in source.territories.items():
        other = target.territories.get(code)
        if code.isalpha() and code not in _NOT_PLACES and other and other != name:
            pairs[name] = other
    for zone, names in source.time_zones.items():
        city = names.get("city") if not zone.startswith("Etc/") else None
        other = target.time_zones.get(zone, {}).get("city") or zone.rsplit("/", 1)[-1].replace("_", " ")
        if city and other != city:
            pairs.setdefault(city, other)
    return {name: other for name, other in pairs.items()
            if "\u00ad" not in name and _zipf(name.lower(), src) - _zipf(name.lower(), dst) >= PLACE_MARGIN}


@functools.cache
def _place_pattern(src: str, dst: str) -> re.Pattern[str]:
    names = sorted(place_names(src, dst), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])")


def foreign_places(text: str, lang: str) -> list[tuple[int, int, str]]:
    """Spans of German place names in an English ``text``, each with its English name."""
    if lang != "en":
        return []
    english = place_names("de", "en")
    return [(m.start(), m.end(), english[m.group()]) for m in _place_pattern("de", "en").finditer(text)]
