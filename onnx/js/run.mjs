// Runs an ONNX model with onnxruntime-node: node run.mjs model.onnx in.json out.json
// in.json: {"name": {"dtype": "int64"|"float32"|"bool", "shape": [...], "data": [flat]}}
// out.json: {"name": {"dims": [...], "data": [flat]}} for every model output.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [model, inPath, outPath] = process.argv.slice(2);
const feeds = {};
for (const [name, t] of Object.entries(JSON.parse(readFileSync(inPath, "utf8")))) {
  let data;
  if (t.dtype === "int64") data = BigInt64Array.from(t.data.map((v) => BigInt(v)));
  else if (t.dtype === "float32") data = Float32Array.from(t.data);
  else if (t.dtype === "bool") data = Uint8Array.from(t.data.map((v) => (v ? 1 : 0)));
  else throw new Error(`${inPath}: ${name}: dtype ${t.dtype}`);
  feeds[name] = new ort.Tensor(t.dtype, data, t.shape);
}
const session = await ort.InferenceSession.create(model);
const results = await session.run(feeds);
const out = {};
for (const [name, t] of Object.entries(results)) {
  out[name] = { dims: t.dims, data: Array.from(t.data, (v) => (typeof v === "bigint" ? Number(v) : v)) };
}
writeFileSync(outPath, JSON.stringify(out));
