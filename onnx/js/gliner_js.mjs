// Runs GLiNER.js (npm gliner, Node build) on an exported UniEncoderSpan
// folder, offline:
//   node gliner_js.mjs <model folder> <texts.json> <labels.json> <max_width> <threshold> <out.json> [raw]
// With "raw", GLiNER.js's greedy selection is switched off: out.json gets
// every (span, label) whose probability reaches the threshold.
// texts.json is a list of strings, labels.json a list of labels; out.json
// gets, per text, GLiNER.js's entities {spanText, start, end, label, score}.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { env } from "@xenova/transformers";
import { Gliner } from "gliner/node";

const [dir, textsPath, labelsPath, maxWidth, threshold, outPath, mode] = process.argv.slice(2);
const gliner = new Gliner({
  tokenizerPath: path.basename(dir),
  onnxSettings: { modelPath: path.join(dir, "model.onnx") },
  transformersSettings: { allowLocalModels: true, useBrowserCache: false },
  maxWidth: Number(maxWidth),
  modelType: "span-level",
});
// No network: transformers.js reads tokenizer.json and tokenizer_config.json
// from the folder.
env.allowRemoteModels = false;
env.localModelPath = path.dirname(path.resolve(dir)) + "/";
await gliner.initialize();
if (mode === "raw") gliner.model.decoder.greedySearch = (spans) => spans;
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const entities = JSON.parse(readFileSync(labelsPath, "utf8"));
const out = await gliner.inference({ texts, entities, flatNer: true, threshold: Number(threshold), multiLabel: false });
writeFileSync(outPath, JSON.stringify(out));
