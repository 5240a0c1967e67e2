"""tg.load checks a safetensors file in full: the header's every field, offsets that tile the
data exactly, and the SHA-256 checksums that tg.save stores; tg.save names the target in its
OSErrors and flushes the file and its folder."""

from __future__ import annotations

import errno
import json
import os
import struct

import numpy as np
import pytest

import tinygpt as tg


def safetensors_bytes(header: bytes, data: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + data


def entry(dtype, shape, offsets) -> bytes:
    return json.dumps({"a": {"dtype": dtype, "shape": shape, "data_offsets": offsets}}).encode()


def read_safetensors(path):
    """Parse a safetensors file by hand: (header dict, data bytes)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n].decode("utf-8")), raw[8 + n :]


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.safetensors"
    tg.save({"a": tg.arange(100, dtype=tg.float32), "b": tg.ones(3, 3)}, path)
    return path


# --- integrity: the header checked in full, checksums ----------------------------------------


def two(spans: list[list[int]], data_size: int, shapes=([1], [1])) -> bytes:
    """A hand-made file with two F32 tensors a, b at `spans` and `data_size` data bytes."""
    header = {
        name: {"dtype": "F32", "shape": shape, "data_offsets": span}
        for name, shape, span in zip("ab", shapes, spans)
    }
    return safetensors_bytes(json.dumps(header).encode(), b"\0" * data_size)


# fmt: off
CRAFTED = [
    # name                  file contents                                          message
    ("aliasing offsets",    two([[0, 4], [0, 4]], 4),                              "overlaps"),
    ("partial overlap",     two([[0, 8], [4, 12]], 12, ([2], [2])),                "overlaps"),
    ("gap",                 two([[0, 4], [8, 12]], 12),                            "belong to no"),
    ("trailing bytes",      two([[0, 4], [4, 8]], 12),                             "after the"),
    ("out of range",        two([[0, 4], [4, 8]], 6),                              "truncated"),
    ("offsets floats",      safetensors_bytes(entry("F32", [1], [0.0, 4.0]), b"\0" * 4), "ints"),
    ("offsets bools",       safetensors_bytes(entry("BOOL", [1], [False, True]), b"\1"), "ints"),
    ("three offsets",       safetensors_bytes(entry("F32", [1], [0, 4, 4]), b"\0" * 4), "ints"),
    ("shape floats",        safetensors_bytes(entry("F32", [1.0], [0, 4]), b"\0" * 4), "shape"),
    ("shape a number",      safetensors_bytes(entry("F32", 1, [0, 4]), b"\0" * 4), "shape"),
    ("dtype not a string",  safetensors_bytes(entry(["F32"], [1], [0, 4]), b"\0" * 4), "dtype"),
    ("duplicate names",     safetensors_bytes(b'{"a": {"dtype": "F32", "shape": [1], '
                            b'"data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], '
                            b'"data_offsets": [4, 8]}}', b"\0" * 8),               "twice"),
    ("metadata not strings", safetensors_bytes(b'{"__metadata__": {"step": 7}}'),  "not a string"),
    ("nested too deep",     safetensors_bytes(b"[" * 100_000 + b"]" * 100_000),   "bad header"),
    ("huge header length",  struct.pack("<Q", 2**40) + b"{}" + b"\0" * 64,         "over the"),
    ("header past the end", struct.pack("<Q", 500) + b"{}" + b"\0" * 64,           "truncated"),
]
# fmt: on


@pytest.mark.parametrize("name, contents, message", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_the_header_is_checked_in_full(name, contents, message, tmp_path):
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(contents)
    for read in (tg.load, tg.load_metadata):
        with pytest.raises(tg.SerializationError, match=message) as info:
            read(path)
        assert "crafted.safetensors" in str(info.value)


def test_bool_bytes_other_than_0_and_1_are_an_error(tmp_path):
    path = tmp_path / "bool.safetensors"
    path.write_bytes(safetensors_bytes(entry("BOOL", [2], [0, 2]), b"\1\7"))
    with pytest.raises(tg.SerializationError, match="non-0/1"):
        tg.load(path)


def test_save_stores_checksums_and_load_metadata_hides_them(saved):
    header, _ = read_safetensors(saved)
    stored = json.loads(header["__metadata__"][tg.serialization.CHECKSUM_KEY])
    assert set(stored["tensors"]) == {"a", "b"} and len(stored["header"]) == 64
    assert tg.load_metadata(saved) == {}
    with pytest.raises(ValueError, match="reserved"):
        tg.save({"a": tg.ones(1)}, saved, metadata={tg.serialization.CHECKSUM_KEY: "x"})


def test_a_flipped_data_byte_names_the_tensor(saved):
    raw = bytearray(saved.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header, _ = read_safetensors(saved)
    raw[8 + n + header["b"]["data_offsets"][0] + 5] ^= 0x10  # one bit of tensor b
    saved.write_bytes(bytes(raw))
    with pytest.raises(tg.SerializationError, match="tensor 'b' fails its SHA-256") as info:
        tg.load(saved)
    assert "good.safetensors" in str(info.value)


def test_every_single_bit_flip_is_caught(tmp_path):
    # every byte of a small file, one bit each: the length, the header, the padding, the data
    path = tmp_path / "t.safetensors"
    tg.save({"w": tg.arange(6).reshape(2, 3), "e": tg.zeros(0, 3)}, path, metadata={"k": "v"})
    raw = path.read_bytes()
    flipped = tmp_path / "flipped.safetensors"
    for i in range(len(raw)):
        flipped.write_bytes(raw[:i] + bytes([raw[i] ^ (1 << (i % 8))]) + raw[i + 1 :])
        with pytest.raises(tg.SerializationError):
            tg.load(flipped)


def test_a_checksum_that_lists_other_tensors_is_an_error(tmp_path):
    path = tmp_path / "t.safetensors"
    tg.save({"a": tg.ones(1)}, path)
    header, data = read_safetensors(path)
    header["a2"] = header.pop("a")  # renamed by hand: the digests name 'a'
    path.write_bytes(safetensors_bytes(json.dumps(header).encode(), data))
    with pytest.raises(tg.SerializationError, match="checksums list other tensors"):
        tg.load(path)


# written by the reference `safetensors` library (safetensors.numpy.save_file, 0.8.0): no
# checksum, tensors in a different order from their offsets
REFERENCE_FILE = (
    b'p\x00\x00\x00\x00\x00\x00\x00{"y":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},'
    b'"x":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}'
    + struct.pack("<2q", 1, 2)
    + struct.pack("<3f", 0.0, 1.0, 2.0)
)


def test_files_without_a_checksum_still_load(tmp_path):
    path = tmp_path / "reference.safetensors"
    path.write_bytes(REFERENCE_FILE)
    loaded = tg.load(path)
    assert loaded["y"].tolist() == [[1, 2]] and loaded["x"].tolist() == [0.0, 1.0, 2.0]
    assert tg.load_metadata(path) == {}
    handmade = tmp_path / "handmade.safetensors"
    handmade.write_bytes(safetensors_bytes(entry("F32", [2], [0, 8]), struct.pack("<2f", 1, 2)))
    assert tg.load(handmade)["a"].tolist() == [1.0, 2.0]


def test_other_readers_read_our_files(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "t.safetensors"
    tg.save({"w": tg.arange(6).reshape(2, 3)}, path, metadata={"k": "v"})
    np.testing.assert_array_equal(
        safetensors_numpy.load_file(path)["w"], np.arange(6).reshape(2, 3)
    )


def test_save_flushes_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}") if os.path.isdir("/proc") else None)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    tg.save({"a": tg.ones(2)}, tmp_path / "t.safetensors")
    assert len(synced) == 2  # the temp file before the rename, the folder after it
    if os.path.isdir("/proc"):
        assert synced == [False, True]


@pytest.mark.parametrize("raised", [OSError(28), OSError(28, "No space left on device")])
def test_a_full_disk_names_the_target_not_the_temp_file(raised, saved, monkeypatch):
    def full(*args):
        raise raised

    before = saved.read_bytes()
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        tg.save({"a": tg.zeros(5)}, saved)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(saved)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]
