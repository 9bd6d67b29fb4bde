import sys, onnx
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
src, dst, bits, block = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
m = onnx.load(src)
q = MatMulNBitsQuantizer(m, bits=bits, block_size=block, is_symmetric=True, accuracy_level=4)
q.process()
q.model.save_model_to_file(dst, use_external_data_format=False)
import collections; print(collections.Counter(n.op_type for n in onnx.load(dst, load_external_data=False).graph.node).most_common(8))
