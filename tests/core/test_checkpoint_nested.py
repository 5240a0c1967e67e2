"""Nested checkpoints through tg.save / tg.load (nanoGPT's {"model", "optimizer", "iter_num",
...}), still without pickle; interop with the `safetensors` package; foreign files (a
torch.save zip, a pickle) named as such; an optimizer resumed from a checkpoint takes the
same next steps as the one that never stopped."""

from __future__ import annotations

import io
import json
import math
import pickle
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.checkpoint_tree import MAX_DEPTH, TREE_KEY


def same(a, b) -> bool:
    """Equal and of the same types all the way down (1, 1.0 and True differ; nan == nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tg.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def nanogpt_checkpoint(device):
    sd = {
        "transformer.wte.weight": tg.randn(8, 4, device=device),
        "transformer.h.0.attn.bias": tg.ones(1, 1, 3, 3, device=device).to(tg.bool),
        "lm_head.weight": tg.randn(8, 4, device=device, dtype=tg.float64),
    }
    return {
        "model": sd,
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": tg.zeros(8, 4, device=device)}},
            "param_groups": [{"lr": 6e-4, "betas": (0.9, 0.95), "params": [0], "fused": None}],
        },
        "model_args": {"n_layer": 1, "bias": False, "dropout": 0.0},
        "iter_num": 5,
        "best_val_loss": 1.23,
        "config": {"dataset": "shakespeare_char", "compile": False, "eval_iters": 200},
        "never": math.inf,
        "ids": tg.arange(5, device=device),
        (1, "pair"): ["a", 2, 3.5, None, True],
    }


def test_a_nanogpt_checkpoint_round_trips(tmp_path, device):
    ckpt = nanogpt_checkpoint(device)
    path = tmp_path / "ckpt.safetensors"
    tg.save(ckpt, path)
    loaded = tg.load(path, device=device)
    assert same(loaded, ckpt)
    assert loaded["model"]["lm_head.weight"].device == tg.device(device)
    assert tg.load_metadata(path) == {}  # the tree is tinygpt's own key, not user metadata


@pytest.mark.parametrize(
    "value",
    [1, 1.0, True, None, "s", -0.0, math.nan, -math.inf, 2**70, [], (), {}, [()], {0: {}}],
    ids=repr,
)
def test_scalars_and_empty_containers_keep_their_type(value, tmp_path):
    path = tmp_path / "v.safetensors"
    tg.save({"v": value}, path)
    assert same(tg.load(path), {"v": value})
    tg.save(value, path)  # a bare value, not in a dict
    assert same(tg.load(path), value)


keys = st.one_of(st.text(max_size=5), st.integers(-5, 5), st.booleans(), st.none())
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=3),
    ),
    max_leaves=12,
)


@given(tree=trees)
def test_any_tree_of_plain_values_round_trips_exactly(tree, tmp_path_factory):
    path = tmp_path_factory.mktemp("tree") / "t.safetensors"
    tg.save({"tree": tree, "w": tg.ones(2)}, path)
    assert same(tg.load(path), {"tree": tree, "w": tg.ones(2)})


def test_a_flat_state_dict_is_written_as_before_without_a_tree(tmp_path):
    path = tmp_path / "flat.safetensors"
    tg.save({"a": tg.ones(2), "b": tg.zeros(3)}, path)
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    header = json.loads(path.read_bytes()[8 : 8 + n])
    assert TREE_KEY not in header["__metadata__"]
    assert set(tg.load(path)) == {"a", "b"}


def test_a_tensor_reached_twice_is_stored_once_and_comes_back_shared(tmp_path):
    w = tg.randn(4, 3)
    path = tmp_path / "tied.safetensors"
    tg.save({"model": {"wte.weight": w, "lm_head.weight": w}, "copy": [w]}, path)
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    header = json.loads(path.read_bytes()[8 : 8 + n])
    assert sorted(k for k in header if k != "__metadata__") == ["model.wte.weight"]
    loaded = tg.load(path)
    assert loaded["model"]["lm_head.weight"] is loaded["model"]["wte.weight"]
    assert loaded["copy"][0] is loaded["model"]["wte.weight"]
    assert loaded["copy"][0].tolist() == w.tolist()


def test_paths_that_spell_the_same_name_get_distinct_tensors(tmp_path):
    a, b = tg.ones(1), tg.zeros(1)
    path = tmp_path / "clash.safetensors"
    tg.save({"a.b": a, "a": {"b": b}, "x": {0: a + 1, "0": b + 1}}, path)
    loaded = tg.load(path)
    assert loaded["a.b"].tolist() == [1.0] and loaded["a"]["b"].tolist() == [0.0]
    assert loaded["x"][0].tolist() == [2.0] and loaded["x"]["0"].tolist() == [1.0]


def test_a_checkpoint_round_trips_through_a_stream(tmp_path, device):
    ckpt = nanogpt_checkpoint(device)
    buffer = io.BytesIO()
    tg.save(ckpt, buffer)  # as torch.save(obj, buffer)
    buffer.seek(0)
    assert same(tg.load(buffer, map_location=device), ckpt)
    path = tmp_path / "after_a_prefix.bin"
    with open(path, "wb") as f:
        f.write(b"PREFIX")  # a stream is written and read from its position
        tg.save({"w": tg.arange(3, device=device)}, f, metadata={"k": "v"})
    with open(path, "rb") as f:
        f.read(6)
        start = f.tell()
        assert tg.load_metadata(f) == {"k": "v"}
        f.seek(start)
        assert tg.load(f, device=device)["w"].tolist() == [0, 1, 2]


def test_a_corrupt_stream_is_named_as_a_stream():
    with pytest.raises(tg.SerializationError, match="<stream> is a zip archive"):
        tg.load(io.BytesIO(b"PK\x03\x04\x00\x00\x08\x08" + bytes(64)))


# --- what cannot be saved, and crafted trees on load ----------------------------------------


def test_save_names_where_an_unsaveable_value_is(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\['config'\]\['device'\] is a ndarray"):
        tg.save({"config": {"device": np.zeros(2)}}, tmp_path / "x.safetensors")


def test_a_cycle_or_too_deep_a_tree_is_refused_on_save(tmp_path):
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested more than"):
        tg.save({"loop": loop}, tmp_path / "x.safetensors")


def test_the_tree_key_is_reserved(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        tg.save({"a": tg.ones(1)}, tmp_path / "x.safetensors", metadata={TREE_KEY: "{}"})


def test_device_and_map_location_are_one_argument(tmp_path, device):
    path = tmp_path / "m.safetensors"
    tg.save({"a": tg.ones(1)}, path)
    assert tg.load(path, map_location=device)["a"].device == tg.device(device)
    with pytest.raises(ValueError, match="not both"):
        tg.load(path, device=device, map_location=device)


def handmade(path, tree, tensors=("w",)):
    """A safetensors file with F32 scalars named `tensors` and `tree` as the tree, no checksum."""
    header = {
        name: {"dtype": "F32", "shape": [], "data_offsets": [4 * i, 4 * i + 4]}
        for i, name in enumerate(tensors)
    }
    header["__metadata__"] = {TREE_KEY: tree if isinstance(tree, str) else json.dumps(tree)}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * (4 * len(tensors)))
    return path


def deep(levels: int):
    node: object = 1
    for _ in range(levels):
        node = {"list": [node]}
    return node


# fmt: off
CRAFTED_TREES = [
    # name                  tree (version 1 unless said), message
    ("not json",            "{nope", "not JSON"),
    ("no version",          {"tree": 1}, "version"),
    ("future version",      {"version": 99, "tree": 1}, "upgrade"),
    ("unknown tag",         {"version": 1, "tree": {"set": [1]}}, "unknown"),
    ("two-key node",        {"version": 1, "tree": {"list": [], "dict": []}}, "one-key"),
    ("missing tensor",      {"version": 1, "tree": {"tensor": "nope"}}, "not in the"),
    ("unused tensor",       {"version": 1, "tree": 1}, "not in the"),
    ("bad float",           {"version": 1, "tree": {"float": "huge"}}, "nan, inf"),
    ("list body not list",  {"version": 1, "tree": {"list": 3}}, "not a list"),
    ("dict pair",           {"version": 1, "tree": {"dict": [[1]]}}, "pair"),
    ("duplicate key",       {"version": 1, "tree": {"dict": [[1, 1], [1, 2]]}}, "twice"),
    ("list as key",         {"version": 1, "tree": {"dict": [[{"list": []}, 1]]}}, "dict key"),
    ("too deep",            {"version": 1, "tree": deep(MAX_DEPTH + 2)}, "deep"),
]
# fmt: on


@pytest.mark.parametrize("name, tree, message", CRAFTED_TREES, ids=[c[0] for c in CRAFTED_TREES])
def test_a_crafted_tree_is_a_serialization_error(name, tree, message, tmp_path):
    tensors = () if name != "unused tensor" else ("w",)
    path = handmade(tmp_path / "crafted.safetensors", tree, tensors)
    with pytest.raises(tg.SerializationError, match=message) as info:
        tg.load(path)
    assert "crafted.safetensors" in str(info.value)


def test_an_edited_tree_fails_the_header_checksum(tmp_path):
    path = tmp_path / "c.safetensors"
    tg.save({"iter_num": 5, "w": tg.ones(1)}, path)
    raw = path.read_bytes()
    assert raw.count(b'\\"iter_num\\",5]') == 1
    path.write_bytes(raw.replace(b'\\"iter_num\\",5]', b'\\"iter_num\\",6]'))
    with pytest.raises(tg.SerializationError, match="checksum"):
        tg.load(path)


# --- files that are not safetensors ---------------------------------------------------------


def test_a_zip_archive_is_named_with_what_to_do(tmp_path):
    path = tmp_path / "ckpt.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    with pytest.raises(tg.SerializationError) as info:
        tg.load(path)
    message = str(info.value)
    assert "zip archive" in message and "torch.save" in message and "save_file" in message
    assert "header length" not in message


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_pickle_is_named_with_what_to_do(protocol, tmp_path):
    path = tmp_path / "old.pt"
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=protocol))
    with pytest.raises(tg.SerializationError, match="is a Python pickle"):
        tg.load(path)


def test_a_npy_file_is_named(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.ones(3))
    with pytest.raises(tg.SerializationError, match="NumPy .npy"):
        tg.load(path)


def test_a_real_file_whose_length_bytes_look_like_a_pickle_still_loads(tmp_path):
    # a header of 0x0280 bytes starts the file with 80 02, pickle protocol 2's opening bytes
    header = json.dumps({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    header += b" " * (0x0280 - len(header))
    path = tmp_path / "looks_like_pickle.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + struct.pack("<f", 2.5))
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert tg.load(path)["a"].tolist() == [2.5]


@pytest.mark.oracle
def test_a_torch_save_file_is_named_with_what_to_do(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "ckpt.pt"
    torch.save({"model": {"w": torch.ones(2)}, "iter_num": 5}, path)
    with pytest.raises(tg.SerializationError, match="zip archive, the format torch.save"):
        tg.load(path)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(tg.SerializationError, match="pickle"):
        tg.load(legacy)


# --- interop with the safetensors package ---------------------------------------------------

INTEROP_DTYPES = [
    "float32", "float64", "float16", "bfloat16", "int32", "int64", "int8", "uint8", "bool"
]  # fmt: skip


def numpy_dtype(name: str):
    if name == "bfloat16":  # NumPy knows bfloat16 through ml_dtypes only
        return pytest.importorskip("ml_dtypes").bfloat16
    return np.dtype(name)


@pytest.mark.parametrize("dtype", INTEROP_DTYPES)
def test_files_written_by_the_safetensors_package_load(dtype, tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    kind = numpy_dtype(dtype)
    arrays = {
        "b.weight": np.abs(rng.standard_normal((3, 4)) * 10).astype(kind),
        "a.scalar": np.array(7).astype(kind),
        "empty": np.zeros((0, 2), dtype=kind),
    }
    path = tmp_path / "theirs.safetensors"
    st_numpy.save_file(arrays, str(path), metadata={"format": "np"})
    loaded = tg.load(path)
    assert set(loaded) == set(arrays)
    for name, array in arrays.items():
        assert str(loaded[name].dtype) == dtype
        np.testing.assert_array_equal(loaded[name].numpy(), array)
    assert tg.load_metadata(path) == {"format": "np"}


@pytest.mark.parametrize("dtype", INTEROP_DTYPES)
def test_files_written_by_tg_save_load_in_the_safetensors_package(dtype, tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    safetensors = pytest.importorskip("safetensors")
    numpy_dtype(dtype)  # skips bfloat16 without ml_dtypes
    ckpt = {"model": {"w": (tg.randn(3, 2) * 5).abs().to(dtype)}, "step": 4}
    path = tmp_path / "ours.safetensors"
    tg.save(ckpt, path, metadata={"run": "x"})
    theirs = st_numpy.load_file(str(path))
    assert list(theirs) == ["model.w"]
    np.testing.assert_array_equal(theirs["model.w"], ckpt["model"]["w"].numpy())
    with safetensors.safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    assert metadata["run"] == "x" and TREE_KEY in metadata


@pytest.mark.oracle
def test_a_torch_state_dict_saved_by_safetensors_torch_loads(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    path = tmp_path / "torch.safetensors"
    st_torch.save_file(model.state_dict(), str(path))
    loaded = tg.load(path)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[name].numpy(), value.numpy())


# --- resuming an optimizer from a checkpoint ------------------------------------------------


def make_run(device, optimizer_name):
    from tinygpt import nn, optim

    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    if optimizer_name == "adamw":
        opt = optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    return model, opt


def train_step(model, opt, step, device):
    rng = np.random.default_rng(step)
    x = tg.tensor(rng.standard_normal((4, 3)).astype(np.float32), device=device)
    loss = (model(x) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


@pytest.mark.parametrize("optimizer_name", ["adamw", "sgd"])
def test_resuming_from_a_checkpoint_gives_identical_next_steps(optimizer_name, tmp_path, device):
    model, opt = make_run(device, optimizer_name)
    for step in range(3):
        train_step(model, opt, step, device)
    path = tmp_path / "ckpt.safetensors"
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "iter_num": 3}, path)
    for step in range(3, 6):  # the run that never stopped
        train_step(model, opt, step, device)

    resumed, resumed_opt = make_run(device, optimizer_name)
    ckpt = tg.load(path, device=device)
    resumed.load_state_dict(ckpt["model"])
    resumed_opt.load_state_dict(ckpt["optimizer"])
    assert ckpt["iter_num"] == 3
    assert resumed_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for step in range(ckpt["iter_num"], 6):
        train_step(resumed, resumed_opt, step, device)
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        assert a.tolist() == b.tolist(), name
