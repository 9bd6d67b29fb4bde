"""The int8 embedder's RMSNorms as one SimplifiedLayerNormalization each: speed and vectors beside the shipped graph.

The exported graph writes RMSNorm as Pow, ReduceMean, Add, Sqrt, Reciprocal, Mul, Mul; ONNX Runtime's
fusion looks for Div where this has Reciprocal and Mul, so the norms run as seven kernels each.
Usage: python rmsnorm.py OUT.onnx  (writes the rewritten graph, then compares one-thread runs)
"""

from __future__ import annotations

import collections
import sys
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper

from rag.chunk import split_sentences
from rag.eval.gnad import article_files
from rag.factory import build_embedder
from rag.parse import parse_file
from rag.settings import Settings

out = sys.argv[1]
emb = build_embedder(Settings.from_env())
src = emb.locate()
m = onnx.load(str(src))
g = m.graph
cons: dict[str, list[onnx.NodeProto]] = collections.defaultdict(list)
prod: dict[str, onnx.NodeProto] = {}
for n in g.node:
    for i in n.input:
        cons[i].append(n)
    for o in n.output:
        prod[o] = n
consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
for n in g.node:
    if n.op_type == "Constant":
        consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)


def only(name: str, op: str) -> onnx.NodeProto | None:
    c = cons[name]
    return c[0] if len(c) == 1 and c[0].op_type == op else None


drop: set[int] = set()
new: dict[int, onnx.NodeProto] = {}
for pw in [n for n in g.node if n.op_type == "Pow"]:
    x = pw.input[0]
    if pw.input[1] not in consts or float(consts[pw.input[1]]) != 2.0:
        continue
    rm = only(pw.output[0], "ReduceMean")
    ad = rm and only(rm.output[0], "Add")
    sq = ad and only(ad.output[0], "Sqrt")
    rc = sq and only(sq.output[0], "Reciprocal")
    mu = rc and only(rc.output[0], "Mul")
    if not mu or x not in mu.input:
        continue
    mw = only(mu.output[0], "Mul")
    if mw is None:
        continue
    eps_name = ad.input[1] if ad.input[0] == rm.output[0] else ad.input[0]
    weight = mw.input[1] if mw.input[0] == mu.output[0] else mw.input[0]
    node = helper.make_node("SimplifiedLayerNormalization", [x, weight], [mw.output[0]], axis=-1,
                            epsilon=float(consts[eps_name]), stash_type=1, name=f"rms_{mw.output[0]}")
    drop |= {id(k) for k in (pw, rm, ad, sq, rc, mu, mw)}
    new[id(pw)] = node
nodes = []
for n in g.node:
    if id(n) in drop:
        if id(n) in new:
            nodes.append(new[id(n)])
        continue
    nodes.append(n)
print(f"{sum(1 for n in nodes if n.op_type == 'SimplifiedLayerNormalization')} RMSNorms fused, "
      f"{len(g.node)} -> {len(nodes)} nodes")
del g.node[:]
g.node.extend(nodes)
onnx.save(m, out)

import onnxruntime as ort  # noqa: E402


def session(path: str) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.log_severity_level = 3
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


texts: list[str] = []
passages: list[str] = []
for f in article_files()[:200]:
    doc = parse_file(f)
    texts += [s.text for s in split_sentences(doc.text)]
    passages += [doc.text[i:i + 850] for i in range(0, len(doc.text) - 850, 850)]
prompt = emb._prompts.get("document", "")
tok = emb._tokenizer_()
a, b = session(str(src)), session(out)
for name, batch in (("sentences", texts[:300]), ("passages", passages[:60])):
    ids = [e.ids for e in tok.encode_batch([prompt + t for t in batch])]
    vecs = {}
    for label, s in (("shipped", a), ("fused", b), ("shipped again", a), ("fused again", b)):
        emb._run(s, ids[0])
        t = time.perf_counter()
        vecs[label] = np.stack([emb._run(s, x) for x in ids])
        print(f"{name} {label}: {len(ids) / (time.perf_counter() - t):.1f} texts/s")
    cos = (vecs["shipped"] * vecs["fused"]).sum(1)
    print(f"{name}: cosine fused/shipped mean {cos.mean():.6f} min {cos.min():.6f}; "
          f"identical {np.array_equal(vecs['shipped'], vecs['fused'])}")
