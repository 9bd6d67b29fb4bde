"""Per-question diff of two report.md files: answer and verdict by id."""
import re, sys
def parse(path, section=None):
    out = {}; cur = None; sec = None
    for line in open(path):
        if line.startswith("## "): sec = line[3:].strip()
        m = re.match(r"\*\*(\S+)\*\* \((\w+)\)", line)
        if m and (section is None or sec == section): cur = m.group(1); out[cur] = {"kind": m.group(2)}; continue
        if m: cur = None; continue
        if cur and line.startswith("answer:"): out[cur]["answer"] = line[7:].strip()
        if cur and line.startswith("verdict:"): out[cur]["verdict"] = line[8:].split(";")[0].strip()
    return out
a = parse(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None)
b = parse(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
for k in b:
    if k in a and (a[k].get("answer") != b[k].get("answer")):
        print(f"{k} [{a[k].get('verdict')} -> {b[k].get('verdict')}]\n  - {a[k].get('answer','')[:300]}\n  + {b[k].get('answer','')[:300]}")
