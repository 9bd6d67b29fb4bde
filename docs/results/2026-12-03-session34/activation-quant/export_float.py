import os, sys, torch
sys.path.insert(0, "/work/main")
os.environ["HF_HUB_OFFLINE"] = "1"
from pathlib import Path
from sentence_transformers import SentenceTransformer
from embeddings import onnx_export as X
torch.set_num_threads(2)
source = Path("/root/.cache/rag/models/embeddinggemma-300m")
model = SentenceTransformer(str(source), device="cpu", local_files_only=True).eval()
X._exact_rope_frequencies(model)
prompt = "document"
smooth = sys.argv[1] == "smooth"
if smooth:
    X._smooth_down_projections(model, list(X.CALIBRATION), prompt)
class Pipeline(torch.nn.Module):
    def forward(self, input_ids, attention_mask):
        out = model({"input_ids": input_ids, "attention_mask": attention_mask})
        return out["sentence_embedding"], out["token_embeddings"]
sample = model.preprocess(["title: none | text: Hallo Welt, das ist ein Test.", "kurz"])
batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
with torch.no_grad():
    program = torch.onnx.export(Pipeline().eval(), (sample["input_ids"], sample["attention_mask"]), input_names=["input_ids", "attention_mask"],
                                output_names=["sentence_vector", "token_states"], dynamo=True,
                                dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}})
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
program.save(str(out / "float.onnx"), external_data=True)
print("saved")
