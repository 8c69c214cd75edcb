"""Writes torch.save-format test files without torch installed.

Fake `torch` modules stand in for the real classes so that Python's pickle
emits exactly the globals and persistent ids torch.save does (protocol 2):
('storage', torch.XStorage, key, 'cpu', numel) plus
torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
OrderedDict()). Run: python3 gen_torch.py (from this directory).
"""
import collections, io, json, os, pickle, struct, sys, types, zipfile

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils
torch._utils = utils

def mkcls(name):
    c = type(name, (), {})
    c.__module__ = "torch"
    setattr(torch, name, c)
    return c

FloatStorage, HalfStorage, BFloat16Storage, LongStorage, BoolStorage, DoubleStorage = (
    mkcls(n) for n in ["FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "BoolStorage", "DoubleStorage"])

def _rebuild_tensor_v2(*a): pass
def _rebuild_parameter(*a): pass
for f in (_rebuild_tensor_v2, _rebuild_parameter):
    f.__module__ = "torch._utils"
    setattr(utils, f.__name__, f)

class Storage:
    def __init__(self, cls, key, raw, numel):
        self.cls, self.key, self.raw, self.numel = cls, key, raw, numel

class Tensor:
    def __init__(self, storage, offset, size, stride, param=False):
        self.s, self.offset, self.size, self.stride, self.param = storage, offset, size, stride, param
    def __reduce_ex__(self, proto):
        t = (_rebuild_tensor_v2, (self.s, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))
        if self.param:
            inner = Tensor(self.s, self.offset, self.size, self.stride)
            return (_rebuild_parameter, (inner, True, collections.OrderedDict()))
        return t

def gather(vals, offset, size, stride):
    out = []
    def rec(d, off):
        if d == len(size):
            out.append(vals[off]); return
        for i in range(size[d]):
            rec(d + 1, off + i * stride[d])
    rec(0, offset)
    return out

def f32(x): return struct.unpack("<f", struct.pack("<f", x))[0]

# Storage 0: 24 float32 values; three views into it.
s0vals = [f32(i * 0.25 - 3.0) for i in range(24)]
s0 = Storage(FloatStorage, "0", struct.pack("<24f", *s0vals), 24)
# Storage 1: float16 bit patterns incl. subnormal, max, inf, -0.
h_bits = [0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00, 0x3555, 0x1234]
s1 = Storage(HalfStorage, "1", struct.pack("<12H", *h_bits), 12)
h_vals = [struct.unpack("<e", struct.pack("<H", b))[0] for b in h_bits]
# Storage 2: bfloat16 bit patterns.
b_bits = [0x0000, 0x8000, 0x3f80, 0xc040, 0x7f7f, 0x0001, 0x7f80, 0x4049]
s2 = Storage(BFloat16Storage, "2", struct.pack("<8H", *b_bits), 8)
b_vals = [struct.unpack("<f", struct.pack("<I", b << 16))[0] for b in b_bits]
# Storage 3: int64; storage 4: bool; storage 5: float64.
l_vals = [-5, 0, 7, 1 << 40, -(1 << 62), 3]
s3 = Storage(LongStorage, "3", struct.pack("<6q", *l_vals), 6)
bool_vals = [1, 0, 0, 1]
s4 = Storage(BoolStorage, "4", bytes(bool_vals), 4)
d_vals = [0.1, -2.5, 1e-3]
s5 = Storage(DoubleStorage, "5", struct.pack("<3d", *d_vals), 3)

views = {
    # name: (storage, values, offset, size, stride, param)
    "contig": (s0, s0vals, 0, [2, 3, 4], [12, 4, 1], False),
    "transposed": (s0, s0vals, 0, [4, 6], [1, 4], False),  # (6,4) matrix transposed
    "offset_slice": (s0, s0vals, 5, [3, 2], [6, 2], True),
    "scalar": (s0, s0vals, 23, [], [], False),
    "expanded": (s0, s0vals, 2, [3, 2], [0, 1], False),
    "empty": (s0, s0vals, 0, [0, 4], [4, 1], False),
    "half": (s1, h_vals, 0, [3, 4], [4, 1], False),
    "bf16": (s2, b_vals, 0, [8], [1], False),
    "long": (s3, l_vals, 1, [5], [1], False),
    "mask": (s4, bool_vals, 0, [2, 2], [1, 2], False),
    "double": (s5, d_vals, 0, [3], [1], False),
}
sd = collections.OrderedDict()
expected = {}
for name, (s, vals, off, size, stride, param) in views.items():
    sd[name] = Tensor(s, off, size, stride, param)
    vs = gather(vals, off, size, stride)
    if s.cls in (LongStorage, BoolStorage):
        expected[name] = {"shape": size, "ints": vs}
    else:  # float32 bit patterns (JSON has no inf or -0 distinction)
        expected[name] = {"shape": size, "f32_bits": [struct.unpack("<I", struct.pack("<f", v))[0] for v in vs]}
sd._metadata = collections.OrderedDict([("", {"version": 1})])

def persistent_id(obj):
    if isinstance(obj, Storage):
        return ("storage", obj.cls, obj.key, "cpu", obj.numel)
    return None

def dumps(obj, pid=None):
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)
    if pid:
        p.persistent_id = pid
    p.dump(obj)
    return buf.getvalue()

storages = {s.key: s for s in (s0, s1, s2, s3, s4, s5)}

# zip format
with zipfile.ZipFile("torch_zip.pt", "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", dumps(sd, persistent_id))
    z.writestr("archive/byteorder", "little")
    for k, s in storages.items():
        z.writestr("archive/data/" + k, s.raw)
    z.writestr("archive/version", "3\n")

# legacy format
def legacy_pid(obj):
    if isinstance(obj, Storage):
        return ("storage", obj.cls, obj.key, "cpu", obj.numel, None)
    return None

with open("torch_legacy.pt", "wb") as f:
    f.write(dumps(0x1950a86a20f9469cfc6c))
    f.write(dumps(1001))
    f.write(dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    f.write(dumps(sd, legacy_pid))
    keys = sorted(storages)
    f.write(dumps(keys))
    for k in keys:
        f.write(struct.pack("<q", storages[k].numel))
        f.write(storages[k].raw)

with open("torch_expected.json", "w") as f:
    json.dump(expected, f, indent=1)

# A pickle that would run code: the reader must refuse the global.
class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))
with zipfile.ZipFile("torch_evil.pt", "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", dumps({"x": Evil()}))
