// Times an ONNX model over a list of batches with onnxruntime-node:
// node bench.mjs model.onnx batches.json out.json reps
// batches.json: [{name: {dtype, shape, data}}, ...] (run.mjs's feeds, one per
// batch); out.json: {"ms": [per-pass wall ms], "outputs": [first pass's
// outputs per batch, as run.mjs writes them]}. One session, one thread.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [model, inPath, outPath, repsArg] = process.argv.slice(2);
const reps = Number(repsArg || 5);
const toTensor = (t) => {
  let data;
  if (t.dtype === "int64") data = BigInt64Array.from(t.data.map((v) => BigInt(v)));
  else if (t.dtype === "float32") data = Float32Array.from(t.data);
  else if (t.dtype === "bool") data = Uint8Array.from(t.data.map((v) => (v ? 1 : 0)));
  else throw new Error(`${inPath}: dtype ${t.dtype}`);
  return new ort.Tensor(t.dtype, data, t.shape);
};
const batches = JSON.parse(readFileSync(inPath, "utf8")).map((f) =>
  Object.fromEntries(Object.entries(f).map(([k, v]) => [k, toTensor(v)])));
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const outputs = [];
for (const feeds of batches) {
  const res = await session.run(feeds); // also the warm-up pass
  const o = {};
  for (const [name, t] of Object.entries(res)) {
    o[name] = { dims: t.dims, data: Array.from(t.data, (v) => (typeof v === "bigint" ? Number(v) : v)) };
  }
  outputs.push(o);
}
const ms = [];
for (let r = 0; r < reps; r++) {
  const t0 = process.hrtime.bigint();
  for (const feeds of batches) await session.run(feeds);
  ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
writeFileSync(outPath, JSON.stringify({ ms, outputs }));
