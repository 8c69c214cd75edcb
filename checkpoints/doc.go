// Package checkpoints reads and writes model weight files as plain float32
// slices, with no dependency on the autograd engine.
//
// It understands the two formats the GLiNER reference writes:
//
//   - safetensors (model.safetensors): an 8-byte little-endian header length,
//     a JSON header naming each tensor's dtype, shape and byte range, then the
//     raw little-endian data. [OpenSafetensors] memory-maps the file and
//     validates the header thoroughly before any tensor is read;
//     [WriteSafetensors] writes byte-for-byte what the Python library writes
//     (keys sorted, header padded with spaces to 8 bytes, __metadata__
//     {"format":"pt"}).
//   - PyTorch pickles (pytorch_model.bin, *.pt) in both the zip format of
//     torch.save and the legacy non-zip format. [ReadPyTorch] runs a small
//     pickle machine that executes no code: the only globals it accepts are an
//     allow-list of torch storage classes and tensor-rebuild functions, and
//     anything else is an error naming the global.
//
// [ReadState] picks the reader by file extension and returns a [State]: named
// tensors with shapes, converted to float32 (F16 and BF16 exactly), or int64
// for integer and boolean tensors. [CheckState] compares the shapes a model
// expects with those a file holds and reports every missing, unexpected and
// mis-shaped tensor in one [MismatchError].
//
// Every file this project writes goes through internal/fileio (directly or
// through [WriteFileAtomic]): a temporary file in the destination
// directory, fsync, then rename, so a crash or a failing writer never
// leaves a partial file behind; devices and pipes are written in place and
// "-" is standard output.
package checkpoints
