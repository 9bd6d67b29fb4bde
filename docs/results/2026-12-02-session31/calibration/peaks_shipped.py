import sys, numpy as np, torch
from pathlib import Path
from sentence_transformers import SentenceTransformer
from embeddings.onnx_export import _exact_rope_frequencies, _activation_peaks, _rope_in_float64, CALIBRATION
out = sys.argv[1]
torch.set_num_threads(2)
m = SentenceTransformer(str(Path.home()/".cache/rag/models/embeddinggemma-300m"), device="cpu", local_files_only=True).eval()
_exact_rope_frequencies(m)
with _rope_in_float64(m) as n: print("switched", n)
before = {k: v.clone() for k, v in m.state_dict().items()}
mlps = [x for _, x in m.named_modules() if all(isinstance(getattr(x, k, None), torch.nn.Linear) for k in ("gate_proj","up_proj","down_proj"))]
peaks = _activation_peaks(m, [x.down_proj for x in mlps], list(CALIBRATION), "document")
after = m.state_dict()
print("restored exactly:", all(torch.equal(before[k], after[k]) and before[k].dtype == after[k].dtype for k in before), next(m.parameters()).dtype)
w = [mlp.down_proj.weight.abs().amax(dim=0).detach().double().numpy() for mlp in mlps]
np.savez(out, peaks=np.stack([p.numpy() for p in peaks]), w=np.stack(w))
print(torch.backends.cpu.get_cpu_capability(), "saved", out)
