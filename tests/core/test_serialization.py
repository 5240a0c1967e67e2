"""tg.save / tg.load: safetensors files, round trips, corrupt files, and atomic writes."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import tinygpt as tg

# fmt: off
DTYPES = [
    # name      safetensors  sample values
    ("bool",    "BOOL",      [[True, False, True], [False, False, True]]),
    ("int32",   "I32",       [[1, -2, 3], [2**31 - 1, -(2**31), 0]]),
    ("int64",   "I64",       [[1, -2, 3], [2**62, -(2**62), 0]]),
    ("float16", "F16",       [[1.5, -2.0, 65504.0], [0.0, -0.0, 1e-3]]),
    ("float32", "F32",       [[1.5, -2.25, 3.0e38], [1e-38, 0.0, np.pi]]),
    ("float64", "F64",       [[1.5, -2.25, 1e300], [1e-300, 0.0, np.pi]]),
]
# fmt: on


def dtype(name):
    return getattr(tg, name)


def make(name, values, device):
    try:
        return tg.tensor(np.array(values, dtype=name), device=device)
    except tg.DTypeError as error:
        pytest.skip(f"{device} does not support {name}: {error}")


def read_safetensors(path):
    """Parse a safetensors file by hand: (header dict, data bytes)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    return header, raw[8 + n :]


@pytest.mark.parametrize("name, st_name, values", DTYPES, ids=[d[0] for d in DTYPES])
def test_round_trip_every_dtype(name, st_name, values, tmp_path, device):
    x = make(name, values, device)
    path = tmp_path / "t.safetensors"
    tg.save({"x": x, "row": x[1]}, path)
    loaded = tg.load(path, device=device)
    assert set(loaded) == {"x", "row"}
    assert loaded["x"].dtype == dtype(name)
    assert str(loaded["x"].device) == str(tg.device(device))
    np.testing.assert_array_equal(loaded["x"].numpy(), np.array(values, dtype=name))
    np.testing.assert_array_equal(loaded["row"].numpy(), np.array(values, dtype=name)[1])


@pytest.mark.parametrize("name, st_name, values", DTYPES, ids=[d[0] for d in DTYPES])
def test_the_file_is_valid_safetensors(name, st_name, values, tmp_path, device):
    x = make(name, values, device)
    b = tg.arange(5, device=device)
    path = tmp_path / "t.safetensors"
    tg.save({"weight": x, "bias": b}, path)
    header, data = read_safetensors(path)
    header.pop("__metadata__", None)
    assert header.keys() == {"weight", "bias"}
    assert header["weight"]["dtype"] == st_name
    assert header["weight"]["shape"] == [2, 3]
    assert (header["bias"]["dtype"], header["bias"]["shape"]) == ("I64", [5])
    spans = sorted(tuple(entry["data_offsets"]) for entry in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)  # the data section is covered ...
    for (_, end), (begin, _) in zip(spans, spans[1:]):
        assert end == begin  # ... without gaps or overlaps
    for key, expected in [("weight", np.array(values, dtype=name)), ("bias", np.arange(5))]:
        begin, end = header[key]["data_offsets"]
        assert data[begin:end] == expected.astype(expected.dtype.newbyteorder("<")).tobytes()


def test_header_is_padded_json_starting_with_a_brace(tmp_path):
    path = tmp_path / "t.safetensors"
    tg.save({"a": tg.ones(3)}, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert raw[8:9] == b"{"
    assert (8 + n) % 8 == 0  # the data starts 8-byte aligned, as the format recommends


# fmt: off
EDGE_TENSORS = [
    # name              make (device -> tensor)
    ("0-d",             lambda d: tg.tensor(3.5, device=d)),
    ("0-d int",         lambda d: tg.tensor(7, device=d)),
    ("empty",           lambda d: tg.zeros(0, device=d)),
    ("empty 2-d",       lambda d: tg.zeros(3, 0, dtype=tg.int64, device=d)),
    ("transposed",      lambda d: tg.arange(12, device=d).reshape(3, 4).T),
    ("strided",         lambda d: tg.arange(20, device=d).reshape(4, 5)[::2, 1::2]),
    ("reversed",        lambda d: tg.arange(6, device=d)[::-1]),
    ("broadcast",       lambda d: tg.arange(3, device=d).reshape(3, 1).expand(3, 4)),
    ("offset view",     lambda d: tg.arange(10, device=d)[7:]),
]
# fmt: on


@pytest.mark.parametrize("name, make_tensor", EDGE_TENSORS, ids=[e[0] for e in EDGE_TENSORS])
def test_round_trip_edge_tensors(name, make_tensor, tmp_path, device):
    x = make_tensor(device)
    path = tmp_path / "t.safetensors"
    tg.save({"x": x}, path)
    loaded = tg.load(path)["x"]
    assert loaded.shape == x.shape
    assert loaded.dtype == x.dtype
    np.testing.assert_array_equal(loaded.numpy(), x.numpy())
    header, data = read_safetensors(path)
    begin, end = header["x"]["data_offsets"]
    assert end - begin == x.numel() * x.numpy().itemsize


def test_an_empty_dict_round_trips(tmp_path):
    path = tmp_path / "t.safetensors"
    tg.save({}, path)
    assert tg.load(path) == {}


def test_load_accepts_str_paths_and_keeps_names(tmp_path):
    path = str(tmp_path / "t.safetensors")
    tensors = {"h.0.attn.c_attn.weight": tg.ones(2, 2), "wte": tg.zeros(3)}
    tg.save(tensors, path)
    loaded = tg.load(path)
    assert sorted(loaded) == sorted(tensors)


def test_load_onto_a_device(register_backend, tmp_path):
    register_backend("fake2")
    path = tmp_path / "t.safetensors"
    tg.save({"x": tg.arange(4)}, path)
    loaded = tg.load(path, device="fake2")
    assert str(loaded["x"].device) == "fake2"
    assert loaded["x"].tolist() == [0, 1, 2, 3]


def test_loaded_tensors_are_leaves_without_grad(tmp_path):
    path = tmp_path / "t.safetensors"
    tg.save({"w": tg.ones(2, requires_grad=True) * 2}, path)
    w = tg.load(path)["w"]
    assert w.requires_grad is False and w.grad_fn is None


# --- broken files -----------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.safetensors"
    tg.save({"a": tg.arange(100, dtype=tg.float32), "b": tg.ones(3, 3)}, path)
    return path


# fmt: off
CUTS = [
    # name                  bytes kept, out of n
    ("one byte short",      lambda n: n - 1),
    ("half",                lambda n: n // 2),
    ("inside the header",   lambda n: 12),
    ("inside the length",   lambda n: 4),
]
# fmt: on


@pytest.mark.parametrize("name, keep", CUTS, ids=[c[0] for c in CUTS])
def test_a_truncated_file_is_a_serialization_error(name, keep, saved, tmp_path):
    raw = saved.read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(raw[: keep(len(raw))])
    with pytest.raises(tg.SerializationError) as info:
        tg.load(path)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "cut.safetensors" in message, message  # says which file


def safetensors_bytes(header: bytes, data: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + data


def entry(dtype: str, shape: list[int], offsets: list[int]) -> bytes:
    return json.dumps({"a": {"dtype": dtype, "shape": shape, "data_offsets": offsets}}).encode()


# fmt: off
FOREIGN = [
    # name              file contents
    ("empty",           b""),
    ("random bytes",    np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()),
    ("json",            b'{"a": [1, 2, 3]}'),
    ("huge header",     struct.pack("<Q", 2**60) + b"{}"),
    ("header not json", safetensors_bytes(b"abcd")),
    ("header a list",   safetensors_bytes(b"[]")),
    ("entry not a dict", safetensors_bytes(b'{"a": 3}')),
    ("bad dtype",       safetensors_bytes(entry("Q9", [1], [0, 1]), b"\0")),
    ("offsets past end", safetensors_bytes(entry("F32", [1], [0, 4]))),
    ("shape vs bytes",  safetensors_bytes(entry("F32", [2], [0, 4]), b"\0" * 4)),
    ("negative shape",  safetensors_bytes(entry("F32", [-1], [0, 4]), b"\0" * 4)),
    ("offsets reversed", safetensors_bytes(entry("F32", [1], [4, 0]), b"\0" * 4)),
]
# fmt: on


@pytest.mark.parametrize("name, contents", FOREIGN, ids=[f[0] for f in FOREIGN])
def test_a_foreign_or_corrupt_file_is_a_serialization_error(name, contents, tmp_path):
    path = tmp_path / "foreign.bin"
    path.write_bytes(contents)
    with pytest.raises(tg.SerializationError):
        tg.load(path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nothing.safetensors")


# --- saving: types and atomicity --------------------------------------------------------------


# fmt: off
# NOTE: nested dicts, lists, numbers and None are checkpoints now (test_checkpoint_nested.py);
# what stays unsaveable is what JSON and safetensors cannot hold without running code to load
NOT_SAVEABLE = [
    # name              what is passed to tg.save
    ("numpy value",     lambda: {"x": np.ones(2)}),
    ("object value",    lambda: {"x": object()}),
    ("set value",       lambda: {"x": {1, 2}}),
    ("function",        lambda: {"f": len}),
    ("tensor key",      lambda: {tg.ones(1): 1}),
    ("bytes",           lambda: [b"raw"]),
]
# fmt: on


@pytest.mark.parametrize("name, bad", NOT_SAVEABLE, ids=[n[0] for n in NOT_SAVEABLE])
def test_save_rejects_values_a_checkpoint_cannot_hold(name, bad, tmp_path):
    with pytest.raises(TypeError):
        tg.save(bad(), tmp_path / "t.safetensors")
    assert os.listdir(tmp_path) == []


def test_a_failed_save_leaves_the_old_file_and_no_temp_files(saved, monkeypatch):
    before = saved.read_bytes()
    folder_before = sorted(os.listdir(saved.parent))

    def fail(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", fail)
    monkeypatch.setattr(os, "rename", fail)
    with pytest.raises((OSError, tg.SerializationError)):
        tg.save({"a": tg.zeros(5)}, saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert sorted(os.listdir(saved.parent)) == folder_before
    assert tg.load(saved)["a"].shape == (100,)


def test_a_bad_value_leaves_the_old_file_untouched(saved):
    before = saved.read_bytes()
    with pytest.raises(TypeError):
        tg.save({"a": tg.zeros(5), "b": object()}, saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]


def test_saving_twice_replaces_the_file(saved):
    tg.save({"only": tg.tensor([1.0])}, saved)
    assert list(tg.load(saved)) == ["only"]
    assert os.listdir(saved.parent) == [saved.name]


def test_metadata_round_trip(tmp_path, device):
    path = tmp_path / "m.safetensors"
    tg.save({"w": tg.ones(2, device=device)}, path, metadata={"step": 7, "name": "run"})
    assert tg.load_metadata(path) == {"step": "7", "name": "run"}
    assert list(tg.load(path, device=device)) == ["w"]
