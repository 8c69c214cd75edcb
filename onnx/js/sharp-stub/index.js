// transformers.js imports sharp at load time for its image utilities;
// GLiNER.js only tokenizes text, so any use is an error.
function sharp() {
  throw new Error("sharp is not installed (onnx/js/sharp-stub): images are not supported here");
}
module.exports = sharp;
