import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
g = m.graph
inits = {i.name: i for i in g.initializer}
consumers = {}
for n in g.node:
    for i in n.input:
        consumers.setdefault(i, []).append(n)
new_nodes = []
posts = {}
extra_inits = [
    numpy_helper.from_array(np.array(0.0, np.float32), "bi_zero"),
    numpy_helper.from_array(np.array(255.0, np.float32), "bi_255"),
    numpy_helper.from_array(np.array([1, 2], np.int64), "bi_axes12"),
    numpy_helper.from_array(np.array([2], np.int64), "bi_axis2"),
    numpy_helper.from_array(np.array([1], np.int64), "bi_axis1"),
    numpy_helper.from_array(np.array([-1], np.int64), "bi_flat"),
]
head = [
    helper.make_node("Cast", ["attention_mask"], ["bi_mask_f"], to=TensorProto.FLOAT, name="bi_mask_cast"),
    helper.make_node("Unsqueeze", ["bi_mask_f", "bi_axis2"], ["bi_mask3"], name="bi_mask_unsq"),
]
for n in g.node:
    if n.op_type != "DynamicQuantizeLinear":
        new_nodes.append(n)
        continue
    x = n.input[0]
    q, s, z = n.output
    p = n.name + "_bi"
    pooled = x in ("div", "linear_168")
    if pooled:
        new_nodes += [
            helper.make_node("ReduceMax", [x, "bi_axis1"], [p + "_hi"], keepdims=1, name=p + "_max"),
            helper.make_node("ReduceMin", [x, "bi_axis1"], [p + "_lo"], keepdims=1, name=p + "_min"),
        ]
    else:
        new_nodes += [
            helper.make_node("ReduceMax", [x, "bi_axis2"], [p + "_hit"], keepdims=1, name=p + "_maxt"),
            helper.make_node("ReduceMin", [x, "bi_axis2"], [p + "_lot"], keepdims=1, name=p + "_mint"),
            helper.make_node("Mul", [p + "_hit", "bi_mask3"], [p + "_him"], name=p + "_maskh"),
            helper.make_node("Mul", [p + "_lot", "bi_mask3"], [p + "_lom"], name=p + "_maskl"),
            helper.make_node("ReduceMax", [p + "_him", "bi_axis1"], [p + "_hi"], keepdims=1, name=p + "_max"),
            helper.make_node("ReduceMin", [p + "_lom", "bi_axis1"], [p + "_lo"], keepdims=1, name=p + "_min"),
        ]
    new_nodes += [
        helper.make_node("Max", [p + "_hi", "bi_zero"], [p + "_hi0"], name=p + "_hi0n"),
        helper.make_node("Min", [p + "_lo", "bi_zero"], [p + "_lo0"], name=p + "_lo0n"),
        helper.make_node("Sub", [p + "_hi0", p + "_lo0"], [p + "_range"], name=p + "_rangen"),
        helper.make_node("Div", [p + "_range", "bi_255"], [s], name=p + "_scale"),
        helper.make_node("Neg", [p + "_lo0"], [p + "_nlo"], name=p + "_neg"),
        helper.make_node("Div", [p + "_nlo", s], [p + "_zpf"], name=p + "_zpdiv"),
        helper.make_node("Clip", [p + "_zpf", "bi_zero", "bi_255"], [p + "_zpc"], name=p + "_clip"),
        helper.make_node("Round", [p + "_zpc"], [p + "_zpr"], name=p + "_round"),
        helper.make_node("Cast", [p + "_zpr"], [z], to=TensorProto.UINT8, name=p + "_zpu8"),
        helper.make_node("Reshape", [s, "bi_flat"], [p + "_s1"], name=p + "_s1n"),
        helper.make_node("Reshape", [z, "bi_flat"], [p + "_z1"], name=p + "_z1n"),
        helper.make_node("QuantizeLinear", [x, p + "_s1", p + "_z1"], [q], axis=0, name=p + "_q"),
        helper.make_node("Cast", [z], [p + "_zi32"], to=TensorProto.INT32, name=p + "_zi"),
    ]
    for mm in consumers[q]:
        assert mm.op_type == "MatMulInteger", mm.op_type
        w = numpy_helper.to_array(inits[mm.input[1]]).astype(np.int32)
        wz = numpy_helper.to_array(inits[mm.input[3]]).astype(np.int32) if len(mm.input) > 3 and mm.input[3] else 0
        colsum = (w - wz).sum(axis=0).astype(np.int32)
        cs = mm.name + "_bi_colsum"
        extra_inits.append(numpy_helper.from_array(colsum, cs))
        out = mm.output[0]
        raw = out + "_bi_raw"
        mm.input[2] = ""
        mm.output[0] = raw
        mm_p = mm.name + "_bi"
        post = [
            helper.make_node("Mul", [p + "_zi32", cs], [mm_p + "_corr"], name=mm_p + "_corrn"),
            helper.make_node("Sub", [raw, mm_p + "_corr"], [out], name=mm_p + "_sub"),
        ]
        posts[mm.name] = post
final = []
for n in new_nodes:
    final.append(n)
    final += posts.get(n.name, [])
del g.node[:]
g.node.extend(head + final)
g.initializer.extend(extra_inits)
onnx.checker.check_model(m, full_check=False)
onnx.save(m, dst)
print("rewrote", sum(1 for n in final if n.name.endswith("_bi_q")), "quantizers")
