"""GPT training speed on one NVIDIA GPU: tinygpt's cuda backend against PyTorch eager.

    python benchmarks/cuda_gpt.py                 # both configs, 100 timed steps each
    python benchmarks/cuda_gpt.py --steps 20 --no-torch
    TINYGPT_CUDA_TF32=1 python benchmarks/cuda_gpt.py --tf32   # TF32 matmuls on both sides

Configs (float32, dropout 0, AdamW, random tokens: speed does not depend on the text):
  small             GPTConfig.preset("small") (GPT-2 vocab 50304), TrainConfig's batch_size
  shakespeare_char  nanoGPT's: n_layer=6, n_head=6, n_embd=384, block_size=256, vocab 65,
                    batch_size=64

Reports tokens/s, the ratio to PyTorch, MFU (6N + 12 L C T flops per token, as nanoGPT's
estimate_mfu, against the GPU's dense peak for the precision used) and the size of CuPy's
memory pool over the timed steps (it must not grow after the first step).
Exits with status 2 and a one-line reason when there is no GPU.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

WARMUP = 5
#: dense peak FLOP/s by GPU name fragment: (float32 without TF32, TF32 tensor cores)
PEAKS = {
    "H200": (67e12, 494.7e12),
    "H100": (67e12, 494.7e12),
    "A100": (19.5e12, 156e12),
    "L4": (30.3e12, 60e12),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed steps (default 100)")
    parser.add_argument("--configs", default="small,shakespeare_char")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--tf32", action="store_true", help="TF32 matmuls in PyTorch too")
    parser.add_argument("--peak-tflops", type=float, help="override the GPU's peak")
    return parser.parse_args()


def configs() -> dict[str, tuple[dict, int]]:
    from tinygpt.gpt import GPTConfig, TrainConfig

    small = GPTConfig.preset("small").to_dict()
    char = GPTConfig.preset("small", vocab_size=65).to_dict()
    return {"small": (small, TrainConfig().batch_size), "shakespeare_char": (char, 64)}


def gpu_or_exit() -> str:
    """The GPU's name, or exit with why tinygpt's cuda backend cannot run here."""
    from tinygpt.backend import registry

    table = {info.name: info for info in registry.backends()}
    info = table.get("cuda")
    if info is None:
        print("cuda_gpt.py: tinygpt-backend-cuda is not installed", file=sys.stderr)
        sys.exit(2)
    if not info.available:
        print(f"cuda_gpt.py: no GPU to benchmark on: {info.reason}", file=sys.stderr)
        sys.exit(2)
    import cupy

    return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()


def flops_per_token(config: dict, params: int) -> float:
    L, C, T = config["n_layer"], config["n_embd"], config["block_size"]
    return 6 * params + 12 * L * C * T


def peak_flops(gpu: str, tf32: bool, override: float | None) -> float | None:
    if override is not None:
        return override * 1e12
    for fragment, (fp32, tf32_peak) in PEAKS.items():
        if fragment in gpu:
            return tf32_peak if tf32 else fp32
    return None


def batches(vocab: int, batch_size: int, block: int, count: int):
    rng = np.random.default_rng(0)
    for _ in range(count):
        x = rng.integers(0, vocab, size=(batch_size, block + 1), dtype=np.int64)
        yield x[:, :-1].copy(), x[:, 1:].copy()


# ---------------------------------------------------------------------------- tinygpt
def run_tinygpt(config: dict, batch_size: int, steps: int) -> dict:
    import cupy

    import tinygpt as tg
    from tinygpt import optim
    from tinygpt.gpt import GPT, GPTConfig

    tg.manual_seed(0)
    model = GPT(GPTConfig(**config)).to("cuda")
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    pool = cupy.get_default_memory_pool()
    sizes = []
    start = 0.0
    for step, (x, y) in enumerate(
        batches(config["vocab_size"], batch_size, config["block_size"], WARMUP + steps)
    ):
        if step == WARMUP:
            tg.synchronize("cuda")
            start = time.perf_counter()
        idx = tg.tensor(x, dtype=tg.int64, device="cuda")
        targets = tg.tensor(y, dtype=tg.int64, device="cuda")
        _, loss = model(idx, targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step >= WARMUP:
            sizes.append(pool.total_bytes())
    final_loss = loss.item()  # also the synchronization point
    elapsed = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    return {"seconds": elapsed, "loss": final_loss, "params": params, "pool": sizes}


# ---------------------------------------------------------------------------- PyTorch
def run_torch(config: dict, batch_size: int, steps: int, tf32: bool) -> dict:
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    C, H = config["n_embd"], config["n_head"]

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(config["vocab_size"], C)
            self.wpe = nn.Embedding(config["block_size"], C)
            self.h = nn.ModuleList([Block() for _ in range(config["n_layer"])])
            self.ln_f = nn.LayerNorm(C)

        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for block in self.h:
                x = block(x)
            logits = self.ln_f(x) @ self.wte.weight.T  # tied, as in tinygpt
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    torch.manual_seed(0)
    model = TorchGPT().cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    start = 0.0
    for step, (x, y) in enumerate(
        batches(config["vocab_size"], batch_size, config["block_size"], WARMUP + steps)
    ):
        if step == WARMUP:
            torch.cuda.synchronize()
            start = time.perf_counter()
        loss = model(torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    final_loss = loss.item()
    elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "loss": final_loss,
        "peak_mb": torch.cuda.max_memory_allocated() / 2**20,
    }


def main() -> int:
    args = parse_args()
    gpu = gpu_or_exit()
    from tinygpt_backend_cuda.backend import tf32_enabled

    peak = peak_flops(gpu, tf32_enabled(), args.peak_tflops)
    print(f"GPU: {gpu}   TF32: tinygpt {tf32_enabled()} (TINYGPT_CUDA_TF32), torch {args.tf32}")
    for name in args.configs.split(","):
        config, batch_size = configs()[name]
        tokens = batch_size * config["block_size"] * args.steps
        print(f"\n== {name}: {config}, batch_size={batch_size}, {args.steps} steps")
        mine = run_tinygpt(config, batch_size, args.steps)
        rate = tokens / mine["seconds"]
        mfu = flops_per_token(config, mine["params"]) * rate / peak if peak else float("nan")
        pool = mine["pool"]
        print(f"tinygpt cuda : {rate:12,.0f} tokens/s  MFU {mfu:6.2%}  loss {mine['loss']:.3f}")
        mib = [size / 2**20 for size in pool]
        grew = max(pool) > pool[0]
        print(f"  CuPy pool  : step 1 {mib[0]:.1f} MiB, last {mib[-1]:.1f}, max {max(mib):.1f}")
        print(f"  pool grew after step 1: {grew}")
        if args.no_torch:
            continue
        theirs = run_torch(config, batch_size, args.steps, args.tf32)
        torch_rate = tokens / theirs["seconds"]
        peak_mb, torch_loss = theirs["peak_mb"], theirs["loss"]
        print(f"torch eager  : {torch_rate:12,.0f} tokens/s  peak {peak_mb:.0f} MiB")
        print(f"  loss {torch_loss:.3f}")
        print(f"ratio        : {rate / torch_rate:.2f}x PyTorch eager (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
