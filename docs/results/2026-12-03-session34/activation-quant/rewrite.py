import collections
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

def per_token_activations(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    cons = collections.defaultdict(list)
    for n in g.node:
        for i in n.input:
            cons[i].append(n)
    new_nodes = []
    added_inits = []
    replaced = 0
    for node in list(g.node):
        if node.op_type != "DynamicQuantizeLinear":
            new_nodes.append(node)
            continue
        x = node.input[0]
        q, s, z = node.output
        p = node.name
        zero = f"{p}_zero_f"; k255 = f"{p}_255"; lo = f"{p}_lo"; hi = f"{p}_hi"; tiny = f"{p}_tiny"; axes = f"{p}_axes"
        added_inits += [numpy_helper.from_array(np.array(0.0, np.float32), zero),
                        numpy_helper.from_array(np.array(255.0, np.float32), k255),
                        numpy_helper.from_array(np.array(1e-30, np.float32), tiny),
                        numpy_helper.from_array(np.array([-1], np.int64), axes)]
        zf = f"{p}_zp_row"
        new_nodes += [
            helper.make_node("ReduceMin", [x, axes], [f"{p}_min"], keepdims=1, name=f"{p}_rmin"),
            helper.make_node("ReduceMax", [x, axes], [f"{p}_max"], keepdims=1, name=f"{p}_rmax"),
            helper.make_node("Min", [f"{p}_min", zero], [lo], name=f"{p}_lo"),
            helper.make_node("Max", [f"{p}_max", zero], [hi], name=f"{p}_hi"),
            helper.make_node("Sub", [hi, lo], [f"{p}_range"], name=f"{p}_range"),
            helper.make_node("Div", [f"{p}_range", k255], [f"{p}_s0"], name=f"{p}_s0"),
            helper.make_node("Max", [f"{p}_s0", tiny], [s], name=f"{p}_scale_row"),
            helper.make_node("Div", [lo, s], [f"{p}_lo_s"], name=f"{p}_lo_s"),
            helper.make_node("Neg", [f"{p}_lo_s"], [f"{p}_nlo"], name=f"{p}_nlo"),
            helper.make_node("Round", [f"{p}_nlo"], [f"{p}_zr"], name=f"{p}_zr"),
            helper.make_node("Clip", [f"{p}_zr", zero, k255], [zf], name=f"{p}_zclip"),
            helper.make_node("Div", [x, s], [f"{p}_xs"], name=f"{p}_xs"),
            helper.make_node("Round", [f"{p}_xs"], [f"{p}_xr"], name=f"{p}_xr"),
            helper.make_node("Add", [f"{p}_xr", zf], [f"{p}_xz"], name=f"{p}_xz"),
            helper.make_node("Clip", [f"{p}_xz", zero, k255], [f"{p}_xc"], name=f"{p}_xc"),
            helper.make_node("Cast", [f"{p}_xc"], [q], to=TensorProto.UINT8, name=f"{p}_xq"),
        ]
        replaced += 1
    # fix MatMulIntegers: drop a_zero_point that came from a DQL, add correction after the Cast
    dql_z = {n.output[2]: n for n in g.node if n.op_type == "DynamicQuantizeLinear"}
    out_nodes = []
    for node in new_nodes:
        out_nodes.append(node)
        if node.op_type != "MatMulInteger" or len(node.input) < 3 or node.input[2] not in dql_z:
            continue
        dq = dql_z[node.input[2]]
        zf = f"{dq.name}_zp_row"
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.int64)
        wz = numpy_helper.to_array(inits[node.input[3]]).astype(np.int64) if len(node.input) > 3 and node.input[3] else 0
        colsum = (w - wz).sum(axis=0).astype(np.float32)
        cs = f"{node.name}_colsum"
        added_inits.append(numpy_helper.from_array(colsum, cs))
        node.input[2] = ""
        casts = [c for c in cons[node.output[0]] if c.op_type == "Cast"]
        assert len(casts) == 1, node.name
        cast = casts[0]
        old = cast.output[0]
        cast.output[0] = f"{old}_raw"
        corr = [helper.make_node("Mul", [zf, cs], [f"{node.name}_zcorr"], name=f"{node.name}_zcorr"),
                helper.make_node("Sub", [f"{old}_raw", f"{node.name}_zcorr"], [old], name=f"{node.name}_zsub")]
        pending[cast.name] = corr
    # insert corrections right after their casts
    final = []
    for node in out_nodes:
        final.append(node)
        if node.name in pending:
            final += pending.pop(node.name)
    assert not pending
    del g.node[:]
    g.node.extend(final)
    g.initializer.extend(added_inits)
    return replaced

pending = {}
if __name__ == "__main__":
    import sys
    m = onnx.load(sys.argv[1])
    print("replaced", per_token_activations(m))
    onnx.save(m, sys.argv[2])
