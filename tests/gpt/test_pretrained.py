"""GPT.from_pretrained: GPT-2 checkpoints in the Hugging Face layout, and nanoGPT's exact GELU.

The tests write tiny random checkpoints the way `transformers` lays out GPT-2 (Conv1D
weights stored (in, out), with or without the `transformer.` prefix, mask buffers,
config.json) and compare the loaded model's logits with:

- a float64 NumPy GPT-2 written here (always runs);
- a plain-PyTorch GPT-2 and a nanoGPT-style PyTorch model written here (marked `oracle`:
  `nox -s oracle` installs torch).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.gpt import GPT, GPTConfig
from tinygpt.gpt.config import GELU_FORMS
from tinygpt.gpt.pretrained import PretrainedError

HF_CONFIG = {
    "model_type": "gpt2",
    "activation_function": "gelu_new",
    "n_embd": 16,
    "n_layer": 2,
    "n_head": 2,
    "n_positions": 12,
    "vocab_size": 37,
    "layer_norm_epsilon": 1e-5,
    "n_inner": None,
}
CONV1D = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
IDX = np.array([[1, 5, 9, 2, 36, 0, 7], [3, 3, 3, 30, 31, 32, 33]])  # (B=2, T=7)


def hf_weights(config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Random GPT-2 weights under Hugging Face's names and shapes (Conv1D: (in, out)).

    Weights are larger than GPT-2's init (std 0.3, not 0.02) so that the GELU sees inputs
    of order 1, where its tanh and erf forms differ visibly.
    """
    rng = np.random.default_rng(seed)
    C, V, P = config["n_embd"], config["vocab_size"], config["n_positions"]

    def normal(*shape, std=0.3):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {"wte.weight": normal(V, C), "wpe.weight": normal(P, C)}
    for i in range(config["n_layer"]):
        p = f"h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = 1 + normal(C, std=0.1)
            w[p + ln + ".bias"] = normal(C, std=0.1)
        sizes = {"attn.c_attn": (C, 3 * C), "attn.c_proj": (C, C)}
        sizes.update({"mlp.c_fc": (C, 4 * C), "mlp.c_proj": (4 * C, C)})
        for name, (fan_in, fan_out) in sizes.items():
            w[p + name + ".weight"] = normal(fan_in, fan_out, std=1 / math.sqrt(fan_in))
            w[p + name + ".bias"] = normal(fan_out, std=0.1)
    w["ln_f.weight"] = 1 + normal(C, std=0.1)
    w["ln_f.bias"] = normal(C, std=0.1)
    return w


def write_checkpoint(
    folder: Path, weights: dict, config: dict = HF_CONFIG, prefix: str = "", extras: bool = True
) -> Path:
    """config.json + model.safetensors as transformers saves them; `extras` adds the mask
    buffers and the tied lm_head copy that some GPT-2 files carry."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    tensors = {prefix + k: tg.tensor(v) for k, v in weights.items()}
    if extras:
        P = config["n_positions"]
        mask = np.tril(np.ones((P, P), dtype=np.float32)).reshape(1, 1, P, P)
        for i in range(config["n_layer"]):
            tensors[f"{prefix}h.{i}.attn.bias"] = tg.tensor(mask)
            tensors[f"{prefix}h.{i}.attn.masked_bias"] = tg.tensor(np.float32(-1e4))
        tensors["lm_head.weight"] = tg.tensor(weights["wte.weight"])
    tg.save(tensors, folder / "model.safetensors")
    return folder


# ---------------------------------------------------------------------- references
def np_gelu(x: np.ndarray, form: str) -> np.ndarray:
    if form == "exact":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def np_layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def numpy_gpt2(w: dict, config: dict, idx: np.ndarray, gelu: str = "tanh") -> np.ndarray:
    """GPT-2's forward in float64 NumPy, straight from the Hugging Face layout."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    B, T = idx.shape
    C, H = config["n_embd"], config["n_head"]
    hs = C // H
    x = w["wte.weight"][idx] + w["wpe.weight"][:T]  # (B, T, C)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for i in range(config["n_layer"]):
        p = f"h.{i}."
        h = np_layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: x @ W
        q, k, v = (a.reshape(B, T, H, hs).transpose(0, 2, 1, 3) for a in np.split(qkv, 3, -1))
        att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hs)  # (B, H, T, T)
        att = np.where(future, -np.inf, att)
        att = np.exp(att - att.max(-1, keepdims=True))
        att = att / att.sum(-1, keepdims=True)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = np_layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = np_gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], gelu)
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = np_layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    return x @ w["wte.weight"].T  # (B, T, V): the head is tied to wte


def logits_of(model: GPT) -> np.ndarray:
    logits, _ = model(tg.tensor(IDX, device=model.transformer.wte.weight.device))
    return logits.detach().numpy()


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return hf_weights(HF_CONFIG)


# ---------------------------------------------------------------------- loading
@pytest.mark.parametrize("prefix", ["", "transformer."])
def test_from_pretrained_matches_numpy_gpt2(tmp_path, weights, device, prefix):
    folder = write_checkpoint(tmp_path / "gpt2", weights, prefix=prefix)
    model = GPT.from_pretrained(folder, device=device)
    assert not model.training and model.config.gelu == "tanh"
    assert model.config.block_size == 12 and model.config.vocab_size == 37
    expected = numpy_gpt2(weights, HF_CONFIG, IDX)
    np.testing.assert_allclose(logits_of(model), expected, rtol=2e-5, atol=2e-5)


def test_conv1d_weights_are_transposed(tmp_path, weights):
    model = GPT.from_pretrained(write_checkpoint(tmp_path / "gpt2", weights))
    c_fc = model.transformer.h[1].mlp.c_fc.weight.detach().numpy()  # nn.Linear: (out, in)
    np.testing.assert_array_equal(c_fc, weights["h.1.mlp.c_fc.weight"].T)
    assert model.lm_head.weight is model.transformer.wte.weight


def test_exact_gelu_checkpoint(tmp_path, weights, device):
    config = {**HF_CONFIG, "activation_function": "gelu"}
    model = GPT.from_pretrained(write_checkpoint(tmp_path / "g", weights, config), device=device)
    assert model.config.gelu == "exact"
    got = logits_of(model)
    np.testing.assert_allclose(got, numpy_gpt2(weights, HF_CONFIG, IDX, "exact"), atol=2e-5)
    # the two forms differ by more than that here, so the check above could fail
    assert np.abs(got - numpy_gpt2(weights, HF_CONFIG, IDX, "tanh")).max() > 3e-4


def test_sharded_checkpoint(tmp_path, weights):
    folder = tmp_path / "sharded"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_CONFIG))
    names = sorted(weights)
    halves = {"model-00001-of-00002.safetensors": names[::2]}
    halves["model-00002-of-00002.safetensors"] = names[1::2]
    weight_map = {}
    for shard, keys in halves.items():
        tg.save({k: tg.tensor(weights[k]) for k in keys}, folder / shard)
        weight_map.update(dict.fromkeys(keys, shard))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    model = GPT.from_pretrained(folder)
    np.testing.assert_allclose(
        logits_of(model), numpy_gpt2(weights, HF_CONFIG, IDX), rtol=1e-4, atol=1e-4
    )


def test_float16_file_written_by_the_safetensors_package(tmp_path, weights):
    st = pytest.importorskip("safetensors.numpy")
    folder = tmp_path / "f16"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_CONFIG))
    half = {k: v.astype(np.float16) for k, v in weights.items()}
    st.save_file(half, str(folder / "model.safetensors"))
    model = GPT.from_pretrained(folder)
    assert model.transformer.wte.weight.dtype == tg.float32
    expected = numpy_gpt2(half, HF_CONFIG, IDX)  # the reference sees the same rounded weights
    np.testing.assert_allclose(logits_of(model), expected, rtol=1e-4, atol=1e-4)


def test_generate_from_a_pretrained_model(tmp_path, weights, device):
    model = GPT.from_pretrained(write_checkpoint(tmp_path / "gpt2", weights), device=device)
    prompt = tg.tensor(IDX[:1, :3], device=device)
    first = model.generate(prompt, 5, temperature=0.8, top_k=10, seed=3)
    again = model.generate(prompt, 5, temperature=0.8, top_k=10, seed=3, use_cache=False)
    assert first.shape == (1, 8) and first.tolist() == again.tolist()
    greedy = model.generate(prompt, 1, top_k=1, seed=0).tolist()[0][-1]
    assert greedy == int(numpy_gpt2(weights, HF_CONFIG, IDX[:1, :3])[0, -1].argmax())


# ---------------------------------------------------------------------- errors
def test_missing_files_are_clear_errors(tmp_path, weights):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        GPT.from_pretrained(tmp_path / "nowhere")
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        GPT.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps(HF_CONFIG))
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02pickle")
    with pytest.raises(FileNotFoundError, match="no model.safetensors.*pickle.*never loads"):
        GPT.from_pretrained(folder)


def test_shape_mismatch_names_the_key_and_both_shapes(tmp_path, weights):
    config = {**HF_CONFIG, "vocab_size": 40, "n_positions": 16}
    folder = write_checkpoint(tmp_path / "bad", weights, config, extras=False)
    with pytest.raises(PretrainedError) as error:
        GPT.from_pretrained(folder)
    message = str(error.value)
    assert "wte.weight: shape (37, 16) in the file, config.json needs (40, 16)" in message
    assert "wpe.weight: shape (12, 16) in the file, config.json needs (16, 16)" in message


def test_conv1d_shape_mismatch_is_reported_in_the_files_layout(tmp_path, weights):
    broken = dict(weights)
    broken["h.0.mlp.c_fc.weight"] = np.zeros((16, 48), np.float32)
    folder = write_checkpoint(tmp_path / "bad", broken)
    with pytest.raises(PretrainedError, match=r"h.0.mlp.c_fc.weight: shape \(16, 48\) in the "):
        GPT.from_pretrained(folder)


def test_missing_and_unknown_tensors_are_listed(tmp_path, weights):
    broken = {k: v for k, v in weights.items() if k != "h.1.ln_2.bias"}
    broken["h.0.attn.c_attn.lora"] = np.zeros(3, np.float32)
    folder = write_checkpoint(tmp_path / "bad", broken, extras=False)
    with pytest.raises(PretrainedError, match=r"missing tensors \(1\): h.1.ln_2.bias") as error:
        GPT.from_pretrained(folder)
    assert "h.0.attn.c_attn.lora" in str(error.value)


def test_untied_head_is_refused(tmp_path, weights):
    folder = write_checkpoint(tmp_path / "bad", weights)
    tensors = tg.load(folder / "model.safetensors")
    tensors["lm_head.weight"] = tensors["lm_head.weight"] + 1
    tg.save(tensors, folder / "model.safetensors")
    with pytest.raises(PretrainedError, match="lm_head.weight differs from wte.weight"):
        GPT.from_pretrained(folder)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"activation_function": "relu"}, "activation_function 'relu'"),
        ({"layer_norm_epsilon": 1e-6}, "layer_norm_epsilon 1e-06"),
        ({"n_inner": 20}, "n_inner 20"),
        ({"scale_attn_by_inverse_layer_idx": True}, "scale_attn_by_inverse_layer_idx"),
        ({"model_type": "llama"}, "model_type is 'llama'"),
        ({"n_head": 3}, "multiple of n_head=3"),
        ({"n_embd": None}, "config.json lacks n_embd"),
    ],
)
def test_unsupported_config_is_a_clear_error(tmp_path, weights, change, match):
    folder = write_checkpoint(tmp_path / "bad", weights, {**HF_CONFIG, **change})
    with pytest.raises(PretrainedError, match=match):
        GPT.from_pretrained(folder)


# ---------------------------------------------------------------------- GPTConfig.gelu
def test_gelu_field_defaults_to_tanh_and_old_configs_load():
    old = {k: v for k, v in GPTConfig.preset("nano").to_dict().items() if k != "gelu"}
    assert GPTConfig.from_dict(old).gelu == "tanh"
    assert GPTConfig(gelu="exact").gelu == "exact"
    with pytest.raises(ValueError, match="GPTConfig.gelu must be one of 'tanh', 'exact'"):
        GPTConfig(gelu="erf")


def test_gelu_field_picks_the_mlp_activation():
    tanh = GPT(GPTConfig.preset("nano", vocab_size=5))
    exact = GPT(GPTConfig.preset("nano", vocab_size=5, gelu="exact"))
    assert tanh.transformer.h[0].mlp.gelu.approximate == "tanh"
    assert exact.transformer.h[0].mlp.gelu.approximate == "none"


# ---------------------------------------------------------------------- PyTorch oracles
def torch_gpt2(torch, w: dict, config: dict, idx: np.ndarray, gelu: str) -> np.ndarray:
    """GPT-2's forward in plain float32 PyTorch, from the Hugging Face layout (x @ W + b)."""
    F = torch.nn.functional
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    B, T = idx.shape
    C, H = config["n_embd"], config["n_head"]
    x = t["wte.weight"][torch.from_numpy(idx)] + t["wpe.weight"][:T]
    allowed = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(config["n_layer"]):
        p = f"h.{i}."
        h = F.layer_norm(x, (C,), t[p + "ln_1.weight"], t[p + "ln_1.bias"], eps=1e-5)
        qkv = h @ t[p + "attn.c_attn.weight"] + t[p + "attn.c_attn.bias"]
        q, k, v = (a.view(B, T, H, C // H).transpose(1, 2) for a in qkv.split(C, dim=2))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        att = att.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ t[p + "attn.c_proj.weight"] + t[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), t[p + "ln_2.weight"], t[p + "ln_2.bias"], eps=1e-5)
        h = h @ t[p + "mlp.c_fc.weight"] + t[p + "mlp.c_fc.bias"]
        h = F.gelu(h, approximate="tanh" if gelu == "tanh" else "none")
        x = x + h @ t[p + "mlp.c_proj.weight"] + t[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), t["ln_f.weight"], t["ln_f.bias"], eps=1e-5)
    return (x @ t["wte.weight"].T).numpy()


@pytest.mark.oracle
@pytest.mark.parametrize("activation, gelu", [("gelu_new", "tanh"), ("gelu", "exact")])
def test_from_pretrained_matches_pytorch_gpt2(tmp_path, weights, device, activation, gelu):
    torch = pytest.importorskip("torch")
    config = {**HF_CONFIG, "activation_function": activation}
    folder = write_checkpoint(tmp_path / "gpt2", weights, config, prefix="transformer.")
    got = logits_of(GPT.from_pretrained(folder, device=device))
    expected = torch_gpt2(torch, weights, config, IDX, gelu)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def nanogpt_reference(torch, config: GPTConfig):
    """A nanoGPT-style model in plain PyTorch: nn.Linear (out, in), nn.GELU() (exact)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            C = config.n_embd
            self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.attn = nn.ModuleDict(dict(c_attn=nn.Linear(C, 3 * C), c_proj=nn.Linear(C, C)))
            self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(C, 4 * C), c_proj=nn.Linear(4 * C, C)))
            self.gelu = nn.GELU()

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (a.view(B, T, config.n_head, -1).transpose(1, 2) for a in (q, k, v))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp.c_proj(self.gelu(self.mlp.c_fc(self.ln_2(x))))

    class NanoGPT(nn.Module):
        def __init__(self):
            super().__init__()
            C = config.n_embd
            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(config.vocab_size, C),
                    wpe=nn.Embedding(config.block_size, C),
                    h=nn.ModuleList([Block() for _ in range(config.n_layer)]),
                    ln_f=nn.LayerNorm(C),
                )
            )
            self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx, targets):
            T = idx.shape[1]
            x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            flat = logits.view(-1, logits.shape[-1])
            return logits, torch.nn.functional.cross_entropy(flat, targets.view(-1))

    torch.manual_seed(0)
    return NanoGPT()


@pytest.mark.oracle
def test_nanogpt_checkpoint_reproduces_with_exact_gelu(device):
    torch = pytest.importorskip("torch")
    config = GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=32, gelu="exact")
    reference = nanogpt_reference(torch, config)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    idx, targets = IDX, (IDX + 1) % 37
    ref_logits, ref_loss = reference(torch.from_numpy(idx), torch.from_numpy(targets))
    ref_loss.backward()
    ref_grad = reference.transformer.h[1].mlp.c_fc.weight.grad.numpy()

    errors = {}
    for gelu in GELU_FORMS:
        model = GPT(GPTConfig(**{**config.to_dict(), "gelu": gelu})).to(device)
        model.load_state_dict({k: tg.tensor(v, device=device) for k, v in state.items()})
        logits, loss = model(tg.tensor(idx, device=device), tg.tensor(targets, device=device))
        loss.backward()
        grad = model.transformer.h[1].mlp.c_fc.weight.grad.numpy()
        errors[gelu] = np.abs(logits.detach().numpy() - ref_logits.detach().numpy()).max()
        if gelu == "exact":
            assert abs(loss.item() - ref_loss.item()) < 1e-5
            np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-6)
    assert errors["exact"] < 1e-5
    assert errors["tanh"] > 10 * errors["exact"]  # the tanh form does not reproduce nanoGPT


@pytest.mark.oracle
def test_a_checkpoint_saved_by_transformers_loads_and_matches_it(tmp_path, device, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing may be downloaded
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hf_config = transformers.GPT2Config(
        n_embd=16, n_layer=2, n_head=2, n_positions=12, vocab_size=37
    )
    reference = transformers.GPT2LMHeadModel(hf_config).eval()
    with torch.no_grad():
        for p in reference.parameters():  # GPT-2's init (std 0.02) hardly moves the GELU
            if p.dim() == 2:
                p.normal_(0.0, 0.3)
            else:
                p.uniform_(0.5, 1.5)
    reference.save_pretrained(tmp_path / "hf")  # config.json + model.safetensors
    model = GPT.from_pretrained(tmp_path / "hf", device=device)
    with torch.no_grad():
        expected = reference(torch.from_numpy(IDX)).logits.numpy()
    np.testing.assert_allclose(logits_of(model), expected, rtol=1e-5, atol=1e-5)
