import sys, onnx, numpy as np
from onnx import numpy_helper
a, b = (onnx.load(p) for p in sys.argv[1:3])
ia = {i.name: i for i in a.graph.initializer}; ib = {i.name: i for i in b.graph.initializer}
print("names equal", set(ia) == set(ib), len(ia))
nd = 0
for n in sorted(ia):
    x, y = numpy_helper.to_array(ia[n]), numpy_helper.to_array(ib[n])
    if x.shape != y.shape or not np.array_equal(x, y):
        nd += 1
        if x.shape == y.shape:
            d = (x != y)
            print(n, x.dtype, x.shape, "differ:", int(d.sum()), "maxabs", float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max()))
        else:
            print(n, x.shape, y.shape)
print("differing initializers", nd)
ga = [(nd.op_type, list(nd.input), list(nd.output)) for nd in a.graph.node]
gb = [(nd.op_type, list(nd.input), list(nd.output)) for nd in b.graph.node]
print("graph equal", ga == gb, len(ga), len(gb))
