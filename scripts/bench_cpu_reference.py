"""Reference (PyTorch) side of scripts/bench_cpu_vs_reference.sh (own code).

Three modes, each printing per timed repetition its wall time ("step I SECONDS") and the
process's CPU time, all threads ("cpu I SECONDS"), and a final JSON line with the peak RSS:
  matmul   torch.matmul at the encoder's GEMM shapes (GFLOP/s per shape, best of --steps)
  encoder  a DeBERTa-v2 encoder (transformers' DebertaV2Model, random weights, training mode),
           forward + backward of sum(last_hidden_state * w) on a batch of --batch x --seq tokens
  step     one training step of the reference GLiNER UniEncoderSpan (markerV0, 1 BiLSTM layer)
           over that encoder, as /work/shared/reference/bench_reference.py times it: zero the
           gradients, forward + backward, AdamW (lr 1e-5, weight decay 0.01)
The encoder is DeBERTa-v3-small's shape by default (hidden 768, 6 layers, 12 heads, FFN 3072,
vocabulary 128100, position_buckets 256, p2c|c2p, dropout 0.1).

usage: OMP_WAIT_POLICY=PASSIVE PYTHONPATH=/tmp/refenv python3 bench_cpu_reference.py MODE [flags]
"""
import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["matmul", "encoder", "step"])
p.add_argument("--hidden", type=int, default=768)
p.add_argument("--layers", type=int, default=6)
p.add_argument("--heads", type=int, default=12)
p.add_argument("--ffn", type=int, default=3072)
p.add_argument("--vocab", type=int, default=128100)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=384)
p.add_argument("--types", type=int, default=25)
p.add_argument("--max-width", type=int, default=12)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--steps", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--shared", default=os.environ.get("GLINER_SHARED", ""))
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
random.seed(0)


def done(extra=None):
    res = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    res.update(extra or {})
    print(json.dumps(res), flush=True)


def encoder_config():
    return dict(model_type="deberta-v2", vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
                num_attention_heads=a.heads, intermediate_size=a.ffn, hidden_act="gelu", hidden_dropout_prob=0.1,
                attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=0,
                relative_attention=True, max_relative_positions=-1, position_buckets=256,
                pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm", share_att_key=True,
                position_biased_input=False, pad_token_id=0, layer_norm_eps=1e-7)


if a.mode == "matmul":
    # The encoder's dense products for N = batch*seq tokens, as (m, k, n, transA, transB) of
    # C[m,n] = op(A)·op(B): forward x·Wᵀ, input gradient dy·W, weight gradient dyᵀ·x.
    N, H, F = a.batch * a.seq, a.hidden, a.ffn
    shapes = []
    for (i, o) in ((H, H), (H, F), (F, H)):
        shapes += [("fwd", N, i, o, False, True), ("dx", N, o, i, False, False), ("dw", o, N, i, True, False)]
    for name, m, k, n, ta, tb in shapes:
        A = torch.randn(k, m) if ta else torch.randn(m, k)
        B = torch.randn(n, k) if tb else torch.randn(k, n)
        best = 0.0
        for r in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            torch.matmul(A.t() if ta else A, B.t() if tb else B)
            dt = time.perf_counter() - t0
            if r >= a.warmup:
                best = max(best, 2.0 * m * n * k / dt / 1e9)
        print(f"gemm {name} {m} {k} {n} {int(ta)} {int(tb)} {best:.2f}", flush=True)
    done()
    sys.exit(0)

if a.mode == "encoder":
    from transformers import DebertaV2Config, DebertaV2Model
    model = DebertaV2Model(DebertaV2Config(**encoder_config()))
    model.train()
    n = a.batch * a.seq
    ids = (torch.arange(n, dtype=torch.long) * 31 % a.vocab).view(a.batch, a.seq)
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    w = (torch.arange(n * a.hidden) % 7).float().view(a.batch, a.seq, a.hidden) * 0.01
    for step in range(a.warmup + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        for q in model.parameters():
            q.grad = None
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
        (out * w).sum().backward()
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            print(f"step {step - a.warmup} {dt:.3f}", flush=True)
            print(f"cpu {step - a.warmup} {time.process_time() - c0:.3f}", flush=True)
    done({"n_params": sum(q.numel() for q in model.parameters())})
    sys.exit(0)

# mode == "step": the GLiNER model and batch of bench_reference.py, scaled.
sys.path.insert(0, os.path.join(a.shared, "reference"))
import gliner.model as gm  # noqa: E402
from refshim import ShimAutoTokenizer  # noqa: E402

gm.AutoTokenizer = ShimAutoTokenizer
V = a.vocab
# The text fills the sequence: [CLS] + types*(<<ENT>> label) + <<SEP>> + text + [SEP]; 28% of
# the words split into two WordPieces (w123 + ##x).
text_len = a.seq - 2 - 2 * a.types - 1
n_words = round(text_len / 1.28)
n_split = text_len - n_words
words = [f"w{i}" for i in range(V - 5 - 40)] + ["##x"]
labels = [f"type{i}" for i in range(a.types)]
tmp = tempfile.mkdtemp()
with open(os.path.join(tmp, "vocab.txt"), "w") as f:
    f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + labels +
                      [f"[unused{i}]" for i in range(V - 5 - len(words) - len(labels))]) + "\n")
enc = encoder_config()
json.dump(enc, open(os.path.join(tmp, "config.json"), "w"))
json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512},
          open(os.path.join(tmp, "tokenizer_config.json"), "w"))
cfg = dict(model_name=tmp, encoder_config=dict(enc), hidden_size=a.hidden, max_width=a.max_width, dropout=0.4,
           max_len=max(384, n_words), max_types=a.types, max_neg_type_ratio=0, span_mode="markerV0",
           num_rnn_layers=1)
model = gm.UniEncoderSpanGLiNER.load_from_config(cfg, backbone_from_pretrained=False, load_tokenizer=True)
inner = model.model
rng = random.Random(0)
examples = []
for _ in range(a.batch):
    toks = [rng.choice(words[:-1]) for _ in range(n_words)]
    for j in rng.sample(range(n_words), n_split):
        toks[j] = toks[j] + "x"
    ner = []
    for s in range(0, n_words - 5, 10):
        w = rng.randint(0, 3)
        ner.append([s, s + w, rng.choice(labels)])
    examples.append({"tokenized_text": toks, "ner": ner})
coll = model.data_collator_class(model.config, data_processor=model.data_processor, prepare_labels=True)
batch = coll(examples, entity_types=[list(labels) for _ in examples])
inputs = {k: v for k, v in batch.items() if k not in ("tokens", "id_to_classes", "entities")}
print("input_ids", tuple(batch["input_ids"].shape), "span_idx", tuple(batch["span_idx"].shape),
      "labels", tuple(batch["labels"].shape), flush=True)
opt = torch.optim.AdamW(inner.parameters(), lr=1e-5, weight_decay=0.01)
inner.train()
for step in range(a.warmup + a.steps):
    t0, c0 = time.perf_counter(), time.process_time()
    opt.zero_grad(set_to_none=True)
    out = inner(**inputs)
    out.loss.backward()
    opt.step()
    dt = time.perf_counter() - t0
    if step >= a.warmup:
        print(f"step {step - a.warmup} {dt:.3f}", flush=True)
        print(f"cpu {step - a.warmup} {time.process_time() - c0:.3f}", flush=True)
done({"n_params": sum(q.numel() for q in inner.parameters()), "seq_len": int(batch["input_ids"].shape[1])})
