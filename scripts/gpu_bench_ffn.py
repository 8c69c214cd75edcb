"""PyTorch eager timing of the block autograd/cuda's TestCUDAFFNTiming times:
Linear 768->3072, exact GELU, Linear 3072->768, LayerNorm (eps 1e-7) over
8x384 tokens, forward and backward, fp32 with TF32 off (the Go backend's
cuBLAS runs in pedantic fp32). Prints "torch_ffn_ms <median ms>".
Usage: python3 scripts/gpu_bench_ffn.py [cuda|cpu]"""
import sys
import time

import torch

dev = sys.argv[1] if len(sys.argv) > 1 else "cuda"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
rows, h, f = 8 * 384, 768, 3072
g = torch.Generator().manual_seed(1)
x = torch.randn(rows, h, generator=g).to(dev).requires_grad_()
lin1 = torch.nn.Linear(h, f).to(dev)
lin2 = torch.nn.Linear(f, h).to(dev)
ln = torch.nn.LayerNorm(h, eps=1e-7).to(dev)
dy = torch.randn(rows, h, generator=g).to(dev)


def sync():
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def step():
    y = ln(lin2(torch.nn.functional.gelu(lin1(x))))
    y.backward(dy)
    sync()


for _ in range(5):
    step()
ts = []
for _ in range(30 if dev.startswith("cuda") else 3):
    t0 = time.perf_counter()
    step()
    ts.append((time.perf_counter() - t0) * 1000)
ts.sort()
print("torch_ffn_ms %.3f" % ts[len(ts) // 2])
