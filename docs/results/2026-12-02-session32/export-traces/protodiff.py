import sys, onnx
a, b = (onnx.load(p) for p in sys.argv[1:3])
print("ir/producer", a.ir_version, b.ir_version, a.producer_name, a.producer_version, b.producer_version)
print("model meta", list(a.metadata_props) == list(b.metadata_props), a.doc_string == b.doc_string)
ga, gb = a.graph, b.graph
print("init order same:", [i.name for i in ga.initializer] == [i.name for i in gb.initializer], len(ga.initializer), len(gb.initializer))
print("nodes", len(ga.node), len(gb.node))
shown = 0
for i, (x, y) in enumerate(zip(ga.node, gb.node)):
    if x.SerializeToString() == y.SerializeToString():
        continue
    fields = [f for f in ("op_type", "name", "input", "output", "attribute", "doc_string", "metadata_props", "domain")
              if getattr(x, f) != getattr(y, f)]
    if shown < 6:
        print("node", i, x.name, "differs in", fields)
        for f in fields:
            if f == "metadata_props":
                for p, q in zip(x.metadata_props, y.metadata_props):
                    if p != q:
                        print("   ", p.key, "|", p.value[:300].replace("\n", " / "), "\n    vs", q.value[:300].replace("\n", " / "))
            else:
                print("   ", str(getattr(x, f))[:300], "\n    vs", str(getattr(y, f))[:300])
    shown += 1
print("differing nodes:", shown)
for f in ("input", "output", "value_info"):
    print(f, getattr(ga, f) == getattr(gb, f))
print("functions", len(a.functions), len(b.functions), list(a.functions) == list(b.functions))
