"""The focused read on two GNAD dev questions whose right drafts it refused (session 33)."""
import json, re
from rag.settings import Settings
from rag.factory import build_generator
from rag.focused import FocusedReader, agrees
cases = [("g021", "gnad_0113", "Baumeister Richard Lugner liegt mit minus 45 Punkten",
          "Richard Lugner got -45 points in the APA/OGM trust index published about a week before the 2016 Austrian presidential election."),
         ("g023", "gnad_0836", "Also habe er sich Schleppern anvertraut",
          "The smugglers charged Husam M., the Syrian boy whose fingers were cut off by IS for smoking, for the journey to Austria at 6,500 euros.")]
qs = {json.loads(l)["id"]: json.loads(l) for l in open("/work/main/rag/data/gnad_qa.jsonl")}
read = FocusedReader(build_generator(Settings.from_env()))
for gid, doc, start, claim in cases:
    text = open(f"/work/shared/gnad/articles/{doc}.txt").read()
    sents = re.split(r"(?<=[.!?:“])\s+", text)
    i = next(k for k, s in enumerate(sents) if s.startswith(start))
    source = (sents[i - 1] + " " + sents[i])
    q = qs[gid]["question"]
    reply = read(q, source, "en")
    print(gid, "| source:", source[:400], "\n  reply:", reply, "\n  agrees:", agrees(claim, reply, q))
