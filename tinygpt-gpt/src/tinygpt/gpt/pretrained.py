"""GPT-2 checkpoints in the Hugging Face layout, loaded from a local folder.

The folder holds what `transformers` saves for a GPT-2 model (nothing is downloaded here):

    config.json           n_embd, n_layer, n_head, n_positions, vocab_size,
                          layer_norm_epsilon, activation_function, ...
    model.safetensors     the weights (or model.safetensors.index.json + its shards)

The names are nanoGPT's without the `transformer.` prefix (`h.0.attn.c_attn.weight`), and
`transformers` keeps the prefix or drops it depending on the class that saved the file, so
both are accepted. Two differences from `tinygpt.gpt.GPT`:

- GPT-2 computes its projections with `Conv1D`, a linear layer that stores its weight as
  (in_features, out_features), the transpose of `nn.Linear`'s (out, in): `c_attn`,
  `c_proj` and `c_fc` weights are transposed on the way in;
- the files may carry the causal mask as a buffer (`h.0.attn.bias`, `h.0.attn.masked_bias`),
  which tinygpt builds on the fly, and `lm_head.weight`, a copy of the tied `wte.weight`.

`activation_function` "gelu_new" (GPT-2's) is the tanh GELU, "gelu" the exact erf form.
Every tensor's shape is checked against config.json before anything is copied, and all
problems are reported together, naming the file's key.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tinygpt as tg
from tinygpt import Tensor, TinyGPTError

from .config import GPTConfig

if TYPE_CHECKING:
    from .model import GPT

__all__ = ["PretrainedError", "gpt2_config", "load_gpt2"]

#: activation_function values -> GPTConfig.gelu (all three tanh names are one formula)
_GELU = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh", "gelu": "exact"}
#: GPT-2 options that change the computation, and the value tinygpt's GPT computes with
_FIXED = {
    "scale_attn_weights": True,
    "scale_attn_by_inverse_layer_idx": False,
    "add_cross_attention": False,
    "tie_word_embeddings": True,
}
#: Conv1D weights, stored (in, out): transposed into nn.Linear's (out, in)
_CONV1D = re.compile(r"h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight")
#: the causal-mask buffers some files carry; tinygpt's attention builds its own mask
_MASK_BUFFER = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)")


class PretrainedError(TinyGPTError, ValueError):
    """A pretrained checkpoint folder that tinygpt cannot load (all problems listed)."""


def load_gpt2(path: str | os.PathLike[str], *, device: Any = None, dropout: float = 0.0) -> GPT:
    """A `GPT` holding the weights of the GPT-2 checkpoint in folder `path`.

    `dropout` is for fine-tuning (GPT-2 trained with 0.1); the model comes back in eval mode.
    """
    from .model import GPT

    folder = Path(path)
    config = gpt2_config(_read_config(folder), dropout=dropout)
    tensors = _read_tensors(folder, device)
    model = GPT(config).to(device) if device is not None else GPT(config)
    state = _to_tinygpt(tensors, model, folder)
    model.load_state_dict(state)
    return model.eval()


def gpt2_config(hf: dict[str, Any], dropout: float = 0.0) -> GPTConfig:
    """The GPTConfig of a Hugging Face GPT-2 config.json's contents; PretrainedError for a
    setting tinygpt's GPT does not compute (cross-attention, untied head, another eps)."""
    model_type = hf.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise PretrainedError(f"config.json: model_type is {model_type!r}; tinygpt loads 'gpt2'")
    sizes = {key: hf.get(key) for key in ("n_embd", "n_layer", "n_head", "vocab_size")}
    sizes["n_positions"] = hf.get("n_positions", hf.get("n_ctx"))  # older files say n_ctx
    absent = [key for key, value in sizes.items() if value is None]
    if absent:
        raise PretrainedError(f"config.json lacks {', '.join(absent)}: not a GPT-2 config")
    problems = []
    activation = hf.get("activation_function", "gelu_new")
    if activation not in _GELU:
        problems.append(f"activation_function {activation!r} (tinygpt has {sorted(_GELU)})")
    eps = hf.get("layer_norm_epsilon", 1e-5)
    if not math.isclose(eps, 1e-5, rel_tol=1e-6):
        problems.append(f"layer_norm_epsilon {eps} (tinygpt's LayerNorm uses 1e-05)")
    n_inner = hf.get("n_inner")
    if n_inner is not None and n_inner != 4 * hf.get("n_embd", 0):
        problems.append(f"n_inner {n_inner} (tinygpt's MLP is 4 * n_embd wide)")
    for key, wanted in _FIXED.items():
        if hf.get(key, wanted) != wanted:
            problems.append(f"{key} {hf[key]!r} (tinygpt computes {key}={wanted})")
    if problems:
        raise PretrainedError("config.json: tinygpt's GPT cannot compute " + "; ".join(problems))
    try:
        return GPTConfig(
            block_size=sizes["n_positions"],
            vocab_size=sizes["vocab_size"],
            n_layer=sizes["n_layer"],
            n_head=sizes["n_head"],
            n_embd=sizes["n_embd"],
            dropout=dropout,
            bias=True,  # GPT-2 has biases in every Linear and LayerNorm
            gelu=_GELU[activation],
        )
    except ValueError as error:  # ConfigError: a missing or impossible size
        raise PretrainedError(f"config.json: {error}") from error


def _read_config(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise FileNotFoundError(
            f"GPT.from_pretrained: {folder} is not a folder; pass the folder holding the "
            "checkpoint's config.json and model.safetensors (tinygpt downloads nothing)"
        )
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(
            f"GPT.from_pretrained: {folder} has no config.json (it holds {_listing(folder)})"
        )
    try:
        hf = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PretrainedError(f"{config_file} is not a JSON file: {error}") from error
    if not isinstance(hf, dict):
        raise PretrainedError(f"{config_file} must hold one JSON object")
    return hf


def _read_tensors(folder: Path, device: Any) -> dict[str, Tensor]:
    """Every tensor of model.safetensors, or of the shards its index file lists."""
    single = folder / "model.safetensors"
    if single.is_file():
        return tg.load(single, device=device)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        tensors: dict[str, Tensor] = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(tg.load(folder / shard, device=device))
        return tensors
    hint = ""
    if (folder / "pytorch_model.bin").is_file():
        # NOTE: .bin files are pickles, and unpickling can run any code: never loaded here
        hint = (
            "; pytorch_model.bin is a pickle, which tinygpt never loads: convert it once with "
            "transformers (`model.save_pretrained(folder, safe_serialization=True)`)"
        )
    raise FileNotFoundError(
        f"GPT.from_pretrained: {folder} has no model.safetensors (it holds "
        f"{_listing(folder)}){hint}"
    )


def _to_tinygpt(tensors: dict[str, Tensor], model: GPT, folder: Path) -> dict[str, Tensor]:
    """The file's tensors under the model's names, Conv1D weights transposed, every name
    and shape checked; raises one PretrainedError listing every problem."""
    wanted = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    state: dict[str, Tensor] = {}
    problems: list[str] = []
    unexpected: list[str] = []
    for key, value in tensors.items():
        name = key.removeprefix("transformer.")
        if _MASK_BUFFER.fullmatch(name) or name == "lm_head.weight":
            continue  # the mask is rebuilt; the head is tied to wte (checked below)
        ours = "transformer." + name
        if ours not in wanted:
            unexpected.append(key)
            continue
        if _CONV1D.fullmatch(name):
            value = value.transpose(0, 1)  # Conv1D's (in, out) -> nn.Linear's (out, in)
        if tuple(value.shape) != wanted[ours]:
            problems.append(_shape_problem(key, value, wanted[ours], bool(_CONV1D.fullmatch(name))))
        state[ours] = value
    if "transformer.wte.weight" in state:
        state["lm_head.weight"] = state["transformer.wte.weight"]  # tied: one Parameter
    missing = [n.removeprefix("transformer.") for n in wanted if n not in state]
    if missing:
        problems.insert(0, f"missing tensors ({len(missing)}): {', '.join(missing)}")
    if unexpected:
        problems.append(f"tensors a GPT-2 has no place for ({len(unexpected)}): {unexpected}")
    if problems:
        lines = "\n  ".join(problems)
        raise PretrainedError(
            f"GPT.from_pretrained: the weights in {folder} do not fit its config.json:\n  "
            f"{lines}\nthe checkpoint and config.json must come from the same model"
        )
    _check_tied_head(tensors, state["transformer.wte.weight"], folder)
    return state


def _shape_problem(key: str, value: Tensor, want: tuple[int, ...], conv1d: bool) -> str:
    if conv1d:
        # report the shapes as the file stores them: (in, out)
        got, want = tuple(value.shape)[::-1], want[::-1]
        return f"{key}: shape {got} in the file, config.json needs {want} (Conv1D: in, out)"
    return f"{key}: shape {tuple(value.shape)} in the file, config.json needs {want}"


def _check_tied_head(tensors: dict[str, Tensor], wte: Tensor, folder: Path) -> None:
    """A stored lm_head.weight must be wte's copy: tinygpt's head is always tied."""
    head = tensors.get("lm_head.weight")
    if head is None:
        return
    if tuple(head.shape) != tuple(wte.shape) or not bool((head == wte).all().item()):
        raise PretrainedError(
            f"GPT.from_pretrained: {folder}: lm_head.weight differs from wte.weight, but "
            "tinygpt's GPT ties them (GPT-2 does too): this checkpoint is not a GPT-2"
        )


def _listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())
    return ", ".join(names) if names else "nothing"
