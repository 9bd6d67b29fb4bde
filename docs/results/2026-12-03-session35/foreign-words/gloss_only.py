"""foreign_words without its translator, applied to the recorded answers of the default checks.

The check's ``present`` stage rewords kept sentences only, after every check has decided, so applying
it to the recorded answers (the ``--ablate foreign_words`` rows of report.json: the default product's
answers) gives the answers the check would have shown. With no translator it only uses the model's own
gloss: a parenthesised German gloss is dropped, a German phrase followed by its English gloss gives way to it.
Usage: python gloss_only.py report.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.checks import Context
from rag.checks.foreign_words import foreign_words
from rag.eval import metrics
from rag.language import detect_language

report = json.loads(Path(sys.argv[1]).read_text())["datasets"]
for name, section in report.items():
    rows = section["rows"]
    before, after, changed = [], [], 0
    gold_before = gold_after = 0
    for r in rows:
        a = r["ablated"]["foreign_words"]
        lang = detect_language(r["question"])
        text = a["answer"] if a["refused"] else foreign_words(a["answer"], Context(r["question"], lang, []))
        if text != a["answer"]:
            changed += 1
            print(f"{name} {r['id']}\n  {a['answer']}\n  {text}")
        before.append((lang, a["answer"], a["refused"]))
        after.append((lang, text, a["refused"]))
        if name == "xquad":
            gold_before += a["contains_gold"]
            gold_after += not a["refused"] and any(metrics.fact_present(text, [g]) for g in r["gold"])
    gold = f"; contains gold {gold_before} -> {gold_after}" if name == "xquad" else ""
    print(f"{name}: answers changed {changed}; untranslated {metrics.untranslated(before)} -> "
          f"{metrics.untranslated(after)}{gold}")
