"""Beam-search golden for models/generation_search_test.go.

Runs Hugging Face's GPT2LMHeadModel.generate (transformers of the reference
environment, ../shared/reference) with beam search on decoder prefixes and
writes the generated sequences. The model is the labels decoder of the
fixture uni_token_decoder_deberta (its decoder.decoder_layer.model.* weights
and labels_decoder_config.json); the prefixes are the ones gliner-go's
GenerateLabels builds for that fixture's inference batch at threshold 0.5
under ReferenceCompat (dumped as {"shape": [M, Tp, D], "data": [...]}), which
equal the reference's decoder_embedding rows (checked by the golden tests).
GLiNER's generate_from_embeds passes an all-ones attention mask, eos = pad =
<|endoftext|> and the NumericalStabilityProcessor; so does this script.

  PYTHONPATH=/tmp/refenv /usr/bin/python3 scripts/beam_fixture.py PREFIX.json OUT.json
"""
import json
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LogitsProcessorList

sys.path.insert(0, "/tmp/refenv")
from gliner.modeling.decoder import NumericalStabilityProcessor  # noqa: E402

FIX = "../shared/fixtures/uni_token_decoder_deberta"


def main(prefix_path, out_path):
    cfg = GPT2Config.from_dict(json.load(open(f"{FIX}/labels_decoder_config.json")))
    model = GPT2LMHeadModel(cfg)
    sd = torch.load(f"{FIX}/pytorch_model.bin", map_location="cpu")
    pre = "decoder.decoder_layer.model."
    own = {k[len(pre):]: v for k, v in sd.items() if k.startswith(pre)}
    missing, unexpected = model.load_state_dict(own, strict=False)
    assert not [k for k in missing if not k.endswith("attn.bias") and not k.endswith("masked_bias")], missing
    model.eval()
    p = json.load(open(prefix_path))
    x = torch.tensor(p["data"], dtype=torch.float32).view(*p["shape"])
    eos = cfg.eos_token_id
    runs = []
    for beams, lp, early in ((2, 1.0, False), (3, 0.6, False), (4, 1.5, True)):
        with torch.no_grad():
            seq = model.generate(inputs_embeds=x, attention_mask=torch.ones(x.shape[:2], dtype=torch.long),
                                 max_new_tokens=8, eos_token_id=eos, pad_token_id=eos, do_sample=False,
                                 num_beams=beams, num_return_sequences=1, length_penalty=lp,
                                 early_stopping=early, use_cache=True,
                                 logits_processor=LogitsProcessorList([NumericalStabilityProcessor()]))
        runs.append({"num_beams": beams, "length_penalty": lp, "early_stopping": early, "max_new_tokens": 8,
                     "sequences": seq.tolist()})
    json.dump({"fixture": "uni_token_decoder_deberta", "threshold": 0.5, "prefix_shape": p["shape"],
               "runs": runs}, open(out_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
