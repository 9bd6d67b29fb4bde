import os, sys, numpy as np, torch
from pathlib import Path
from sentence_transformers import SentenceTransformer
from embeddings.onnx_export import _exact_rope_frequencies, CALIBRATION
dtype, out = sys.argv[1], sys.argv[2]
torch.set_num_threads(2)
m = SentenceTransformer(str(Path.home()/".cache/rag/models/embeddinggemma-300m"), device="cpu", local_files_only=True).eval()
_exact_rope_frequencies(m)
if dtype == "double":
    m = m.double()
mlps = [x for _, x in m.named_modules() if all(isinstance(getattr(x, k, None), torch.nn.Linear) for k in ("gate_proj","up_proj","down_proj"))]
peaks = {}
def hook(i):
    def rec(_m, args):
        x = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(dim=0)
        peaks[i] = torch.maximum(peaks[i], x) if i in peaks else x
    return rec
for i, mlp in enumerate(mlps): mlp.down_proj.register_forward_pre_hook(hook(i))
m.encode(list(CALIBRATION), prompt_name="document", batch_size=4, show_progress_bar=False)
w = [mlp.down_proj.weight.abs().amax(dim=0).detach().double().numpy() for mlp in mlps]
np.savez(out, peaks=np.stack([peaks[i].double().numpy() for i in range(len(mlps))]), w=np.stack(w))
print(torch.backends.cpu.get_cpu_capability(), dtype, "saved", out)
