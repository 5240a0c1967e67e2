"""Greedy decoding speed with the KV cache: tinygpt.gpt.GPT.generate next to PyTorch.

    python benchmarks/decode.py                   # baby and medium configs, 1 thread
    python benchmarks/decode.py --quick           # fewer runs and tokens (CI smoke)
    python benchmarks/decode.py --config baby --backend cpu

Batch 1, a 16-token prompt, 200 new tokens, greedy. PyTorch runs the best loop a user would
write by hand: the same weights, a preallocated key/value cache per layer, logits for the last
position only, `F.scaled_dot_product_attention`, all under `torch.inference_mode`. When the text
outgrows block_size it restarts from the last block_size // 2 tokens, as tinygpt's generate
does, so both produce the same tokens (asserted). tokens/s counts the new tokens over the whole
call (prompt included); medians over runs that alternate the frameworks, so both see the same
machine load.

tinygpt's loop replays the recorded kernels of its decoding step (`tg.kernel_replay`, kept with
the model between generate calls, so the warm-up run records them); TINYGPT_FAST_PATHS=0 runs
it op by op instead, to compare.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

THREAD_VARIABLES = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGPT_THREADS"]

CONFIGS = {
    # nanoGPT's CPU "baby" model (benchmarks/gpt_train.py) and a medium one (issue 22)
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65),
    "medium": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, vocab_size=65),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and new tokens")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (default 1)")
    parser.add_argument("--config", action="append", choices=list(CONFIGS), dest="configs")
    parser.add_argument("--backend", action="append", dest="backends", metavar="NAME")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per framework")
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--prompt", type=int, default=16, help="prompt length")
    parser.add_argument("--no-torch", action="store_true")
    return parser.parse_args()


ARGS = parse_args()
for _variable in THREAD_VARIABLES:
    os.environ[_variable] = str(ARGS.threads)

import numpy as np

import tinygpt as tg
from tinygpt.gpt import GPT, GPTConfig

try:
    if ARGS.no_torch:
        raise ImportError
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

RUNS = ARGS.runs or (3 if ARGS.quick else 7)
NEW_TOKENS = ARGS.new_tokens or (60 if ARGS.quick else 200)


def simd_level() -> str:
    try:
        from tinygpt_backend_cpu.native import runtime
    except ImportError:
        return "n/a (cpu backend not installed)"
    return str(runtime.simd_variant())


def backends() -> list[str]:
    found = []
    for name in ("cpu", "numpy"):
        try:
            tg.tensor([1.0], device=name)
        except Exception:  # noqa: BLE001 (not installed or not usable here: skip it)
            continue
        found.append(name)
    return [b for b in found if not ARGS.backends or b in ARGS.backends]


# --- tinygpt ---------------------------------------------------------------------------


def tinygpt_model(config: dict, device: str) -> GPT:
    tg.manual_seed(1234)
    return GPT(GPTConfig(**config, dropout=0.0)).to(device).eval()


def tinygpt_decoder(model: GPT, device: str) -> Callable[[np.ndarray, int], np.ndarray]:
    def run(prompt: np.ndarray, new: int) -> np.ndarray:
        idx = tg.tensor(prompt, dtype=tg.int64, device=device)
        out = model.generate(idx, new, temperature=0)
        return out.numpy()[0, prompt.shape[1] :]

    return run


# --- PyTorch: the loop a user writes --------------------------------------------------------


def torch_decoder(weights: dict[str, np.ndarray], config: dict) -> Callable:
    """A greedy KV-cache loop over tinygpt's weights, in plain PyTorch."""
    w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
    L, nh, C, block = config["n_layer"], config["n_head"], config["n_embd"], config["block_size"]
    hs = C // nh
    tanh_gelu = GPTConfig(**config).gelu != "exact"

    def layer_norm(x, name):
        return TF.layer_norm(x, (C,), w[f"{name}.weight"], w.get(f"{name}.bias"))

    def linear(x, name):
        return TF.linear(x, w[f"{name}.weight"], w.get(f"{name}.bias"))

    def forward(ids, start, keys, values):  # ids (1, T) -> logits of the last position (V,)
        T = ids.shape[1]
        x = TF.embedding(ids, w["transformer.wte.weight"])
        x = x + w["transformer.wpe.weight"][start : start + T]
        for i in range(L):
            p = f"transformer.h.{i}."
            q, k, v = linear(layer_norm(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=2)
            q, k, v = (t.view(1, T, nh, hs).transpose(1, 2) for t in (q, k, v))
            keys[i][:, :, start : start + T] = k
            values[i][:, :, start : start + T] = v
            k, v = keys[i][:, :, : start + T], values[i][:, :, : start + T]
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
            x = x + linear(y.transpose(1, 2).reshape(1, T, C), p + "attn.c_proj")
            h = linear(layer_norm(x, p + "ln_2"), p + "mlp.c_fc")
            h = TF.gelu(h, approximate="tanh" if tanh_gelu else "none")
            x = x + linear(h, p + "mlp.c_proj")
        x = layer_norm(x[0, -1], "transformer.ln_f")
        return TF.linear(x, w["transformer.wte.weight"])

    @torch.inference_mode()
    def run(prompt: np.ndarray, new: int) -> np.ndarray:
        keys = [torch.zeros(1, nh, block, hs) for _ in range(L)]
        values = [torch.zeros(1, nh, block, hs) for _ in range(L)]
        tokens = torch.from_numpy(prompt[:, -block:].astype(np.int64))
        logits = forward(tokens, 0, keys, values)
        length = tokens.shape[1]
        out = []
        for step in range(new):
            next_id = int(logits.argmax())
            out.append(next_id)
            tokens = torch.cat([tokens, torch.tensor([[next_id]])], dim=1)
            if step == new - 1:
                break
            if length >= block:  # restart from the last half block, as tinygpt's generate
                context = tokens[:, -max(block // 2, 1) :]
                logits = forward(context, 0, keys, values)
                length = context.shape[1]
            else:
                logits = forward(tokens[:, -1:], length, keys, values)
                length += 1
        return np.array(out, dtype=np.int64)

    return run


# --- timing ---------------------------------------------------------------------------------


def time_alternating(runners: dict[str, Callable], prompt: np.ndarray) -> dict[str, float]:
    """Median seconds of one generate per runner; the runners take turns within each run."""
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up: first-call costs (plans, caches, allocators)
        run(prompt, min(NEW_TOKENS, 8))
    for _ in range(RUNS):
        for name, run in runners.items():
            started = time.perf_counter()
            run(prompt, NEW_TOKENS)
            seconds[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) for name, times in seconds.items()}


def bench_config(name: str, config: dict) -> None:
    prompt = np.random.default_rng(0).integers(0, config["vocab_size"], (1, ARGS.prompt))
    runners: dict[str, Callable] = {}
    reference = None
    for device in backends():
        model = tinygpt_model(config, device)
        runners[f"tinygpt[{device}]"] = tinygpt_decoder(model, device)
        if reference is None:
            reference = {k: v.numpy() for k, v in model.state_dict().items()}
    if torch is not None and reference is not None:
        runners["torch"] = torch_decoder(reference, config)
    tokens = {label: run(prompt, NEW_TOKENS) for label, run in runners.items()}
    first = next(iter(tokens.values()))
    for label, got in tokens.items():
        if not np.array_equal(got, first):
            differ = int(np.argmax(got != first))
            sys.exit(f"{name}: {label}'s greedy tokens differ from the first runner's at {differ}")
    seconds = time_alternating(runners, prompt)
    shape = "L{n_layer} H{n_head} C{n_embd} T{block_size}".format(**config)
    print(f"\n{name} ({shape}), prompt {ARGS.prompt}, {NEW_TOKENS} new tokens, {RUNS} runs")
    print("| framework | tokens/s | ms/token | vs torch |")
    print("|---|---:|---:|---:|")
    for label, s in seconds.items():
        rate = NEW_TOKENS / s
        ratio = f"{seconds['torch'] / s:.2f}x" if "torch" in seconds else "n/a"
        print(f"| {label} | {rate:,.0f} | {1000 * s / NEW_TOKENS:.3f} | {ratio} |")


def main() -> int:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"greedy decoding, batch 1, {ARGS.threads} thread(s), SIMD {simd_level()}, "
        f"load average {load:.2f}, torch {torch.__version__ if torch else 'not installed'}"
    )
    for name in ARGS.configs or list(CONFIGS):
        bench_config(name, CONFIGS[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
