// Runs an exported folder the way gline-rs (fbilhaut/gline-rs 1.0.2-SNAPSHOT,
// commit 6dce27e) does, step by step, on onnxruntime-node, offline. gline-rs
// itself is Rust and is not built here; every step below names the gline-rs
// file and function it reproduces, so a test can check that gline-rs's
// pre-processing, tensors and decoding give gliner predict's entities.
//
//   node gline_rs.mjs <span|token|relex> <model folder> <in.json> <out.json>
//
// in.json: {"texts": [...], "entities": [...], "params": {"threshold",
// "max_width", "max_length", "flat_ner", "dup_label", "multi_label"},
// "relations": [{"relation", "subjects"?, "objects"?}]} (relations: relex
// only, the RelationSchema in this order).
// out.json: {"entities": SpanOutput, "relations": RelationOutput (relex),
// "relation_input": {"prompts", "labels"} (relex)}; a SpanOutput is
// {"spans": [[span]], "candidates": [[span]], "logits_shape"}, a span
// {"sequence", "start", "end", "text", "class", "probability"} with byte
// offsets into the UTF-8 text, as gline-rs's Span (src/text/span.rs).
// "candidates" are the spans of the first decoding step, before SpanSort
// and GreedySearch. A step that fails in gline-rs (a shape check, an index
// error) fails here with gline-rs's message.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
// transformers.js (for the tokenizer) loads its own onnxruntime-node 1.14;
// imported before onnxruntime-node 1.19.2, as gliner_js.mjs does, the two
// native runtimes shut down without an abort at exit.
import { AutoTokenizer, env } from "@xenova/transformers";
import ort from "onnxruntime-node";

const [mode, dir, inPath, outPath] = process.argv.slice(2);
if (!["span", "token", "relex"].includes(mode)) throw new Error(`mode ${mode}: want span, token or relex`);
const input = JSON.parse(readFileSync(inPath, "utf8"));
const params = input.params;

// src/text/splitter.rs, RegexSplitter::default: "\w+(?:[-_]\w+)*|\S" in
// Rust's regex crate, whose \w is Unicode ([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}
// \p{Join_Control}]) and \S is [^\p{White_Space}]; Splitter::split keeps the
// match offsets, which are byte offsets, and stops after `limit` words.
const WORD = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
const SPLIT = new RegExp(`${WORD}+(?:[-_]${WORD}+)*|[^\\p{White_Space}]`, "gu");
function split(text, limit) {
  const tokens = [];
  for (const m of text.matchAll(SPLIT)) {
    const start = Buffer.byteLength(text.slice(0, m.index));
    tokens.push({ start, end: start + Buffer.byteLength(m[0]), text: m[0] });
    if (limit != null && tokens.length >= limit) break;
  }
  return tokens;
}

// src/util/math.rs, sigmoid, in f32 (gline-rs extracts the logits as f32).
const f32 = Math.fround;
const sigmoid = (x) => f32(1 / f32(1 + f32(Math.exp(-x))));
const threshold = f32(params.threshold);

// src/text/tokenizer.rs, HFTokenizer::encode: tokenizer.json, without
// special tokens. transformers.js reads the same tokenizer.json.
env.allowRemoteModels = false;
env.localModelPath = path.dirname(path.resolve(dir)) + "/";
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(dir));
const encode = (word) => tokenizer.encode(word, null, { add_special_tokens: false });

// src/model/input/text.rs, TextInput::new.
function textInput(texts, entities) {
  if (texts.length === 0 || entities.length === 0) throw new Error("invalid input: empty texts and/or entities");
  return { texts, entities };
}

// src/model/input/tokenized.rs (TokenizedInput::from), prompt.rs
// (PromptInput::from, entities_prompt) and encoded.rs (EncodedInput::from):
// the prompt is [<<ENT>>, e1, ..., <<ENT>>, eK, <<SEP>>, word1, ...], every
// element encoded on its own; input_ids start with id 1 and end with id 2
// whatever the tokenizer's special tokens are; words_mask holds the 1-based
// word number at each text word's first sub-token.
function encoded(ti) {
  const tokens = ti.texts.map((t) => split(t, params.max_length));
  const entitiesPrompt = [];
  for (const e of ti.entities) entitiesPrompt.push("<<ENT>>", e);
  entitiesPrompt.push("<<SEP>>");
  let numWords = 0;
  const prompts = tokens.map((ts) => {
    numWords = Math.max(numWords, ts.length);
    return { words: [...entitiesPrompt, ...ts.map((t) => t.text)], entitiesLen: entitiesPrompt.length, textLen: ts.length };
  });
  let maxTokens = 0;
  const encs = prompts.map((p) => {
    let total = 2;
    let entityTokens = 0;
    const enc = p.words.map((w, pos) => {
      const e = encode(w);
      total += e.length;
      if (pos < p.entitiesLen) entityTokens += e.length;
      return e;
    });
    maxTokens = Math.max(maxTokens, total);
    return { enc, textOffset: entityTokens + 1 };
  });
  const B = prompts.length;
  const inputIds = new Array(B * maxTokens).fill(0);
  const attn = new Array(B * maxTokens).fill(0);
  const wordMask = new Array(B * maxTokens).fill(0);
  encs.forEach(({ enc, textOffset }, s) => {
    const row = s * maxTokens;
    let idx = 0;
    let wordId = 0;
    inputIds[row + idx] = 1;
    attn[row + idx] = 1;
    idx++;
    for (const word of enc) {
      word.forEach((tok, tokenIdx) => {
        inputIds[row + idx] = tok;
        attn[row + idx] = 1;
        if (idx >= textOffset && tokenIdx === 0) wordMask[row + idx] = wordId;
        idx++;
      });
      if (idx >= textOffset) wordId++;
    }
    inputIds[row + idx] = 2;
    attn[row + idx] = 1;
  });
  return {
    texts: ti.texts, tokens, entities: ti.entities, numWords, numTokens: maxTokens,
    inputIds, attn, wordMask, textLengths: prompts.map((p) => p.textLen),
  };
}

const i64 = (data, dims) => new ort.Tensor("int64", BigInt64Array.from(data, (v) => BigInt(v)), dims);

// src/model/input/tensors/token.rs, TokenTensors::from, and span.rs,
// SpanTensors::from and make_spans_tensors: span_idx (B, num_words ·
// max_width, 2) with row start·max_width + width = (start, start+width),
// span_mask true on the spans inside the text, (0, 0, false) elsewhere.
function feeds(e, span) {
  const B = e.texts.length;
  const f = {
    input_ids: i64(e.inputIds, [B, e.numTokens]),
    attention_mask: i64(e.attn, [B, e.numTokens]),
    words_mask: i64(e.wordMask, [B, e.numTokens]),
    text_lengths: i64(e.textLengths, [B, 1]),
  };
  if (span) {
    const K = params.max_width;
    const S = e.numWords * K;
    const idx = new Array(B * S * 2).fill(0);
    const mask = new Uint8Array(B * S);
    for (let s = 0; s < B; s++) {
      const width = e.textLengths[s];
      for (let start = 0; start < width; start++) {
        for (let w = 0; w < Math.min(K, width - start); w++) {
          const dim = start * K + w;
          idx[(s * S + dim) * 2] = start;
          idx[(s * S + dim) * 2 + 1] = start + w;
          mask[s * S + dim] = 1;
        }
      }
    }
    f.span_idx = i64(idx, [B, S, 2]);
    f.span_mask = new ort.Tensor("bool", mask, [B, S]);
  }
  return f;
}

// src/model/pipeline/context.rs, EntityContext::create_span.
function createSpan(e, seq, startToken, endToken, cls, probability) {
  const ts = e.tokens[seq];
  if (startToken >= ts.length) throw new Error(`error accessing index ${startToken} in meta.tokens[]`);
  if (endToken >= ts.length) throw new Error(`error accessing index ${endToken} in meta.tokens[]`);
  const start = ts[startToken].start;
  const end = ts[endToken].end;
  const text = Buffer.from(e.texts[seq]).subarray(start, end).toString();
  return { sequence: seq, start, end, text, class: e.entities[cls], probability };
}

function checkShape(dims, want) {
  if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) {
    throw new Error(`unexpected logits shape (got ${JSON.stringify(dims)}, gline-rs wants ${JSON.stringify(want)})`);
  }
}

// src/model/output/decoded/span.rs, TensorsToDecoded::decode and
// check_shape: logits (B, num_words, max_width, C); (start, width, class) in
// row-major order, skipped unless start and start+width are words of the
// text; kept when sigmoid ≥ threshold.
function decodeSpan(e, logits) {
  const K = params.max_width;
  const C = e.entities.length;
  const W = e.numWords;
  checkShape(logits.dims, [e.texts.length, W, K, C]);
  return e.texts.map((_, seq) => {
    const n = e.tokens[seq].length;
    const spans = [];
    for (let start = 0; start < W; start++) {
      for (let w = 0; w < K; w++) {
        for (let c = 0; c < C; c++) {
          if (start >= n || start + w >= n) continue;
          const score = sigmoid(logits.data[((seq * W + start) * K + w) * C + c]);
          if (score >= threshold) spans.push(createSpan(e, seq, start, start + w, c, score));
        }
      }
    }
    return spans;
  });
}

// src/model/output/decoded/token.rs, TensorsToDecoded::decode,
// generate_spans, compute_span_score and check_shape: logits (3, B,
// num_words, C) = start, end, inside; for each class, start and end words
// (over all num_words positions) with sigmoid ≥ threshold, end ≥ start; the
// score is the mean of the inside sigmoids, 0 when one is below threshold.
function decodeToken(e, logits) {
  const B = e.texts.length;
  const W = e.numWords;
  const C = e.entities.length;
  checkShape(logits.dims, [3, B, W, C]);
  const at = (p, seq, w, c) => logits.data[((p * B + seq) * W + w) * C + c];
  return e.texts.map((_, seq) => {
    const spans = [];
    for (let c = 0; c < C; c++) {
      for (let start = 0; start < W; start++) {
        if (sigmoid(at(0, seq, start, c)) < threshold) continue;
        for (let end = start; end < W; end++) {
          if (sigmoid(at(1, seq, end, c)) < threshold) continue;
          let sum = f32(0);
          let score = f32(0);
          let ok = true;
          for (let i = start; i <= end; i++) {
            const s = sigmoid(at(2, seq, i, c));
            if (s < threshold) {
              ok = false;
              break;
            }
            sum = f32(sum + s);
          }
          if (ok) score = f32(sum / (end - start + 1));
          if (score < threshold) continue;
          spans.push(createSpan(e, seq, start, end, c, score));
        }
      }
    }
    return spans;
  });
}

// src/model/output/decoded/sort.rs, SpanSort (by start, then end, byte
// offset; gline-rs's sort_unstable_by may order spans with equal offsets
// differently from this stable sort, which changes nothing unless their
// probabilities are equal too).
const sortSpans = (spans) => [...spans].sort((a, b) => a.start - b.start || a.end - b.end);

// src/text/span.rs, Span::overlaps, and src/model/output/decoded/greedy.rs,
// GreedySearch::search and accept: a sweep over the sorted spans that keeps
// `prev` until a span disjoint from it comes (byte offsets, inclusive ends:
// spans that touch overlap).
const overlaps = (a, b) => !(b.start > a.end || b.end < a.start);
function accept(s1, s2) {
  if (!overlaps(s1, s2)) return true;
  if (params.flat_ner) return false;
  if (!params.dup_label && s1.class === s2.class) return false;
  return params.multi_label;
}
function greedy(spans) {
  if (spans.length === 0) return [];
  const out = [];
  let prev = 0;
  for (let next = 1; next < spans.length; next++) {
    if (accept(spans[prev], spans[next])) {
      out.push(spans[prev]);
      prev = next;
    } else if (spans[prev].probability < spans[next].probability) {
      prev = next;
    }
  }
  out.push(spans[prev]);
  return out;
}

// src/model/pipeline/span.rs and token.rs, SpanPipeline and TokenPipeline
// (pre_processor, post_processor), run by orp's Model::inference, which
// first checks that the model's inputs are exactly the pipeline's and that
// its outputs include logits (orp src/model.rs, check_schema); sessions use
// graph optimisation level 3 (all).
const session = await ort.InferenceSession.create(path.join(dir, "model.onnx"), { graphOptimizationLevel: "all" });
async function pipeline(ti, span) {
  const wantIn = span
    ? ["input_ids", "attention_mask", "words_mask", "text_lengths", "span_idx", "span_mask"]
    : ["input_ids", "attention_mask", "words_mask", "text_lengths"];
  const have = [...session.inputNames].sort();
  if (JSON.stringify(have) !== JSON.stringify([...wantIn].sort())) {
    throw new Error(`unexpected model inputs ${JSON.stringify(have)}: gline-rs feeds exactly ${JSON.stringify(wantIn)}`);
  }
  if (!session.outputNames.includes("logits")) throw new Error(`no logits output among ${JSON.stringify(session.outputNames)}`);
  const e = encoded(ti);
  const res = await session.run(feeds(e, span));
  const candidates = (span ? decodeSpan : decodeToken)(e, res.logits);
  return { texts: ti.texts, entities: ti.entities, candidates, spans: candidates.map((s) => greedy(sortSpans(s))), logits_shape: res.logits.dims };
}

const out = {};
out.entities = await pipeline(textInput(input.texts, input.entities), mode === "span");
if (mode === "relex") {
  // src/model/input/relation/mod.rs, RelationInput::from_spans
  // (make_prompts, make_labels, make_entity_labels) and
  // RelationInputToTextInput. gline-rs iterates a HashMap of relations and
  // a HashSet of (text, class) entities, in an order that changes from run
  // to run; here relations come in the schema's order and entities in the
  // order they were found.
  const PROMPT_PREFIX = "Extract relationships between entities from the text: \n";
  const schema = new Map(input.relations.map((r) => [r.relation, r]));
  const allows = (list, label) => list == null || list.includes(label);
  const unique = new Map();
  const entityLabels = new Map();
  for (const seq of out.entities.spans) {
    for (const s of seq) {
      unique.set(JSON.stringify([s.text, s.class]), [s.text, s.class]);
      if (!entityLabels.has(s.text)) entityLabels.set(s.text, new Set());
      entityLabels.get(s.text).add(s.class);
    }
  }
  const labels = [];
  for (const [relation, spec] of schema) {
    for (const [text, cls] of unique.values()) if (allows(spec.subjects, cls)) labels.push(`${text} <> ${relation}`);
  }
  const prompts = out.entities.texts.map((t) => `${PROMPT_PREFIX} ${t}`);
  out.relation_input = { prompts, labels };
  // src/model/pipeline/relation.rs, RelationPipeline: the token pipeline on
  // the prompts and labels, then src/model/output/relation.rs,
  // SpanOutputToRelationOutput (Relation::from, decode, is_valid).
  const rel = await pipeline(textInput(prompts, labels), false);
  out.relation_spans = rel;
  out.relations = rel.spans.map((seq) =>
    seq.flatMap((s) => {
      const parts = s.class.split(" <> ");
      if (parts.length !== 2) throw new Error(`invalid relation label format: ${s.class}`);
      const r = { class: parts[1], subject: parts[0], object: s.text, sequence: s.sequence, start: s.start, end: s.end, probability: s.probability };
      const potential = entityLabels.get(r.object);
      if (potential === undefined) return [];
      const spec = schema.get(r.class);
      if (spec === undefined) throw new Error(`unexpected relation label: ${r.class}`);
      return spec.objects == null || [...potential].some((l) => spec.objects.includes(l)) ? [r] : [];
    }),
  );
}
writeFileSync(outPath, JSON.stringify(out));
