"""Answers whose date's day number is a number the question has in another role (GNAD g062's pattern)."""
import json, os, re, sys
sys.path.insert(0, "/work/main")
from rag.language import MONTH_NAMES
from rag.textnorm import numbers
months = "|".join(MONTH_NAMES["en"] + MONTH_NAMES["de"])
DAY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.? (?:of )?(?:{months})\b|\b(?:{months}) (\d{{1,2}})(?:st|nd|rd|th)?\b")
def days(text):
    return {a or b for a, b in DAY.findall(text)}
for path in sys.argv[1:]:
    if not os.path.exists(path): continue
    for sec, d in json.load(open(path))["datasets"].items():
        n = 0
        for r in d.get("rows", []):
            ans = r.get("answer") or ""
            if r.get("refused") or not ans: continue
            q = r.get("question", "")
            hit = (days(ans) - days(q)) & numbers(q)
            if hit:
                n += 1
                print(sec, r.get("id"), "correct" if r.get("correct") else "WRONG", hit, "|", q[:90], "|", ans[:120])
        print(sec, "flagged", n, "of", len(d.get("rows", [])))
