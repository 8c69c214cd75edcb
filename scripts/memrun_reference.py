"""The reference's side of the memory run (scripts/memory_vs_reference.sh, issue 11).

Builds the reference UniEncoderSpan GLiNER (urchade/GLiNER c2bb58d, gliner/model.py
UniEncoderSpanGLiNER.load_from_config) with the memory run's config (scripts/memrun: random
DeBERTa-v2 encoder, hidden 128, 2 layers) over the WordPiece vocabulary gliner-go built for the
same data, then either
  train DIR VOCAB    100 AdamW steps of 8 shuffled training sentences (torch.set_num_threads(2)),
                     saving the weights to DIR/ref_weights.pt, or
  evaluate DIR VOCAB model.evaluate on DIR/dev.jsonl (flat NER, threshold 0.5, batch 8, the 17
                     types) with the saved weights,
and prints one JSON line with the peak RSS (ru_maxrss) and the times.

usage: PYTHONPATH=/tmp/refenv python3 scripts/memrun_reference.py train|evaluate DIR VOCAB
"""
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time

import torch

REFENV = os.environ.get("REFENV", "/tmp/refenv")
SHARED = os.environ.get("GLINER_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
sys.path.insert(0, REFENV)
sys.path.insert(0, os.path.join(SHARED, "reference"))
import gliner.model as gm  # noqa: E402
from refshim import ShimAutoTokenizer  # noqa: E402

gm.AutoTokenizer = ShimAutoTokenizer
torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
torch.manual_seed(0)
random.seed(0)

LABELS = ["algorithm", "conference", "country", "field", "location", "metric", "misc", "organisation", "person",
          "product", "programming language", "researcher", "task", "university", "event", "award", "book"]

mode, data_dir, vocab = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp()
shutil.copy(vocab, os.path.join(tmp, "vocab.txt"))
n_vocab = sum(1 for _ in open(vocab))
enc = dict(model_type="deberta-v2", vocab_size=n_vocab, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=512, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
           max_position_embeddings=512, type_vocab_size=0, relative_attention=True, max_relative_positions=-1,
           position_buckets=256, pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm", share_att_key=True,
           position_biased_input=False, pad_token_id=0, layer_norm_eps=1e-7)
json.dump(enc, open(os.path.join(tmp, "config.json"), "w"))
json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512},
          open(os.path.join(tmp, "tokenizer_config.json"), "w"))
cfg = dict(model_name=tmp, encoder_config=dict(enc), hidden_size=128, max_width=12, dropout=0.4, max_len=384,
           max_types=25, max_neg_type_ratio=1, span_mode="markerV0", num_rnn_layers=1)
model = gm.UniEncoderSpanGLiNER.load_from_config(cfg, backbone_from_pretrained=False, load_tokenizer=True)
inner = model.model
weights = os.path.join(data_dir, "ref_weights.pt")


def read(name):
    with open(os.path.join(data_dir, name)) as f:
        return [json.loads(line) for line in f]


t0 = time.perf_counter()
res = {"mode": mode}
if mode == "train":
    train = read("train.jsonl")
    coll = model.data_collator_class(model.config, data_processor=model.data_processor, prepare_labels=True)
    opt = torch.optim.AdamW(inner.parameters(), lr=1e-5, weight_decay=0.01)
    inner.train()
    rng = random.Random(0)
    order, step, epoch_times, t_epoch = [], 0, [], time.perf_counter()
    while step < 100:
        if not order:
            if step:
                epoch_times.append(time.perf_counter() - t_epoch)
                t_epoch = time.perf_counter()
            order = list(range(len(train)))
            rng.shuffle(order)
        idx, order = order[:8], order[8:]
        batch = coll([train[i] for i in idx])
        inputs = {k: v for k, v in batch.items() if k not in ("tokens", "id_to_classes", "entities")}
        opt.zero_grad(set_to_none=True)
        out = inner(**inputs)
        out.loss.backward()
        opt.step()
        step += 1
    epoch_times.append(time.perf_counter() - t_epoch)  # the last one, possibly partial
    res["epoch_s"] = epoch_times
    torch.save(inner.state_dict(), weights)
elif mode == "evaluate":
    inner.load_state_dict(torch.load(weights))
    with torch.no_grad():
        _, f1 = model.evaluate(read("dev.jsonl"), flat_ner=True, threshold=0.5, batch_size=8, entity_types=LABELS)
    res["f1"] = float(f1)
else:
    sys.exit(f"unknown mode {mode!r} (train or evaluate)")
res["seconds"] = time.perf_counter() - t0
res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
