"""Datasets, the DataLoader, collation, random_split, the MNIST / CIFAR-10 readers on small files
in the real formats, and checked downloads from a local HTTP server."""

import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import struct
import tarfile
import threading

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.data import (
    CIFAR10,
    MNIST,
    DataLoader,
    DownloadError,
    TensorDataset,
    default_collate,
    download_url,
    random_split,
    read_cifar_batch,
    read_idx,
)


def dataset(device, n=10):
    x = tg.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2), device=device)
    return TensorDataset(x, tg.arange(n, device=device))


# ------------------------------------------------------------------ TensorDataset
def test_tensor_dataset(device):
    ds = dataset(device)
    x, y = ds[3]
    assert len(ds) == 10 and x.tolist() == [6.0, 7.0] and y.item() == 3


def test_tensor_dataset_refuses_mismatched_rows(device):
    with pytest.raises(tg.ShapeError, match=r"tensor 1 has shape \(4,\), so 4 samples"):
        TensorDataset(tg.zeros(5, 2, device=device), tg.zeros(4, device=device))
    with pytest.raises(tg.ShapeError, match="0-d"):
        TensorDataset(tg.zeros((), device=device))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


# --------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize(
    "batch_size, drop_last, sizes",
    [(4, False, [4, 4, 2]), (4, True, [4, 4]), (5, True, [5, 5]), (1, False, [1] * 10),
     (32, False, [10]), (32, True, [])],
)  # fmt: skip
def test_batches(device, batch_size, drop_last, sizes):
    loader = DataLoader(dataset(device), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(y) for _, y in batches] == sizes
    seen = [v for _, y in batches for v in y.tolist()]
    assert seen == list(range(sum(sizes)))  # in order without shuffle
    x, _ = batches[0] if batches else (None, None)
    assert x is None or (x.shape == (sizes[0], 2) and x.dtype == tg.float32)


def test_shuffle_is_seeded_and_changes_per_epoch(device):
    def orders(loader, epochs=3):
        return [[v for _, y in loader for v in y.tolist()] for _ in range(epochs)]

    a = orders(DataLoader(dataset(device), batch_size=3, shuffle=True, seed=7))
    b = orders(DataLoader(dataset(device), batch_size=3, shuffle=True, seed=7))
    c = orders(DataLoader(dataset(device), batch_size=3, shuffle=True, seed=8))
    assert a == b and a != c
    assert a[0] != a[1] and all(sorted(order) == list(range(10)) for order in a)
    resumed = DataLoader(dataset(device), batch_size=3, shuffle=True, seed=7)
    resumed.set_epoch(2)
    assert orders(resumed, epochs=1) == [a[2]]


def test_shuffle_without_seed_follows_manual_seed(device):
    def order():
        return [v for _, y in DataLoader(dataset(device), 4, shuffle=True) for v in y.tolist()]

    tg.manual_seed(123)
    first = order()
    tg.manual_seed(123)
    assert order() == first
    # an in-order loader draws no seed, so it leaves later random ops unchanged
    tg.manual_seed(5)
    expected = tg.randn(4, device=device).tolist()
    tg.manual_seed(5)
    list(DataLoader(dataset(device), batch_size=4))
    assert tg.randn(4, device=device).tolist() == expected


def test_fast_path_gives_the_same_batches_as_stacking(device):
    ds = dataset(device, n=11)
    fast = DataLoader(ds, batch_size=4, shuffle=True, seed=3)
    slow = DataLoader(ds, batch_size=4, shuffle=True, seed=3, collate_fn=default_collate)
    for (x1, y1), (x2, y2) in zip(fast, slow):
        assert x1.tolist() == x2.tolist() and y1.tolist() == y2.tolist()
        assert y1.dtype == y2.dtype == tg.int64


def test_a_subclass_that_transforms_samples_is_not_bypassed(device):
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    (x, _), *_ = DataLoader(Doubled(*dataset(device).tensors), batch_size=2)
    assert x.tolist() == [[0.0, 2.0], [4.0, 6.0]]


class Records:
    """A plain map-style dataset of dict samples (anything with __getitem__ and __len__)."""

    def __init__(self, device):
        self.device = device

    def __len__(self):
        return 5

    def __getitem__(self, i):
        x = tg.full((2,), float(i), device=self.device)
        return {"x": x, "pair": (i, float(i) / 2), "name": f"r{i}", "flag": i % 2 == 0}


def test_default_collate_recurses_into_dicts_and_tuples(device):
    batch = next(iter(DataLoader(Records(device), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["x"].tolist()[2] == [2.0, 2.0]
    ints, floats = batch["pair"]
    assert ints.dtype == tg.int64 and ints.tolist() == [0, 1, 2]
    assert floats.dtype == tg.float32 and floats.tolist() == [0.0, 0.5, 1.0]
    assert batch["name"] == ["r0", "r1", "r2"]
    assert batch["flag"].dtype == tg.bool and batch["flag"].tolist() == [True, False, True]


def test_default_collate_numpy_lists_and_errors(device):
    arrays = default_collate([np.zeros(3, np.float32), np.ones(3, np.float32)])
    assert arrays.shape == (2, 3) and arrays.dtype == tg.float32
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)
    with pytest.raises(tg.ShapeError, match="different shapes"):
        default_collate([tg.zeros(2, device=device), tg.zeros(3, device=device)])
    with pytest.raises(ValueError, match="different keys"):
        default_collate([{"a": 1}, {"b": 2}])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(dataset(device), batch_size=0)


# ------------------------------------------------------------------- random_split
@pytest.mark.parametrize(
    "lengths, sizes", [([7, 3], [7, 3]), ([0.8, 0.2], [8, 2]), ([0.34, 0.33, 0.33], [4, 3, 3])]
)
def test_random_split(device, lengths, sizes):
    parts = random_split(dataset(device), lengths, seed=0)
    assert [len(p) for p in parts] == sizes
    ids = [p[i][1].item() for p in parts for i in range(len(p))]
    assert sorted(ids) == list(range(10)) and ids != list(range(10))
    again = random_split(dataset(device), lengths, seed=0)
    assert [p.indices for p in again] == [p.indices for p in parts]


def test_random_split_errors(device):
    with pytest.raises(ValueError, match="sum to 9, but the dataset has 10"):
        random_split(dataset(device), [5, 4])
    with pytest.raises(ValueError, match="sum to 0.9"):
        random_split(dataset(device), [0.5, 0.4])


# -------------------------------------------------------------------------- MNIST
def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return bytes([0, 0, type_code, array.ndim]) + dims + big_endian.tobytes()


def write_mnist(folder, train=True, n=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    prefix = "train" if train else "t10k"
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"{prefix}-images-idx3-ubyte": images, f"{prefix}-labels-idx1-ubyte": labels}
    for name, array in files.items():
        raw = idx_bytes(array)
        assert raw[:4] == struct.pack(">I", 2051 if array.ndim == 3 else 2049)  # real magic
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return images, labels


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_mnist_reads_idx_files(device, tmp_path, gz):
    images, labels = write_mnist(tmp_path, train=False, gz=gz)
    ds = MNIST(tmp_path, train=False, device=device)
    assert ds.images.shape == (5, 1, 28, 28) and ds.images.dtype == tg.float32
    assert ds.labels.shape == (5,) and ds.labels.dtype == tg.int64
    np.testing.assert_allclose(ds.images.numpy()[:, 0], images / 255.0, rtol=1e-6)
    assert ds.labels.tolist() == labels.tolist()
    x, y = ds[2]
    assert x.shape == (1, 28, 28) and y.item() == labels[2]
    assert 0.0 <= ds.images.min().item() and ds.images.max().item() <= 1.0
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert xb.shape == (4, 1, 28, 28) and yb.shape == (4,)


def test_mnist_torchvision_layout_and_missing_files(device, tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", train=True, n=3)
    assert len(MNIST(tmp_path, device=device)) == 3
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte\(.gz\), t10k-labels"):
        MNIST(tmp_path, train=False)
    with pytest.raises(ValueError, match="needs the SHA-256 of t10k-images-idx3-ubyte.gz"):
        MNIST(tmp_path, train=False, download=True)


@pytest.mark.parametrize(
    "array, code",
    [(np.arange(6, dtype=np.int16).reshape(2, 3) - 3, 0x0B), (np.linspace(0, 1, 4), 0x0E),
     (np.arange(4, dtype=np.float32), 0x0D), (np.arange(-2, 2, dtype=np.int32), 0x0C)],
)  # fmt: skip
def test_read_idx_other_types(tmp_path, array, code):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(array, code))
    np.testing.assert_array_equal(read_idx(path), array)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(bad)
    bad.write_bytes(idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(bad)


# ----------------------------------------------------------------------- CIFAR-10
def cifar_batch(n, seed, protocol=2):
    """A batch in the real layout: a pickled dict with bytes keys, data (n, 3072) uint8."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    batch = {b"batch_label": b"batch", b"labels": labels, b"data": data,
             b"filenames": [b"img_%d.png" % i for i in range(n)]}  # fmt: skip
    return pickle.dumps(batch, protocol=protocol), data, labels


def write_cifar(folder, n=4):
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for seed, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        raw, data, labels = cifar_batch(n, seed, protocol=2 if seed % 2 else 5)
        (folder / name).write_bytes(raw)
        written[name] = (data, labels)
    return written


def test_cifar_reads_pickled_batches(device, tmp_path):
    written = write_cifar(tmp_path / "cifar-10-batches-py")
    train = CIFAR10(tmp_path, device=device)
    test = CIFAR10(tmp_path / "cifar-10-batches-py", train=False, device=device)
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == tg.float32
    assert train.labels.dtype == tg.int64 and len(test) == 4
    data, labels = written["data_batch_2"]
    image, label = train[4 + 1]  # second image of the second batch
    assert label.item() == labels[1]
    # channel planes, each row-major: pixel (c, h, w) is data[c * 1024 + h * 32 + w]
    c, h, w = 2, 5, 7
    assert image[c, h, w].item() == pytest.approx(data[1, c * 1024 + h * 32 + w] / 255.0)
    assert test.labels.tolist() == written["test_batch"][1]


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_cifar_unpickler_refuses_code(tmp_path):
    marker = str(tmp_path / "pwned")
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit(marker), b"labels": []}))
    with pytest.raises(ValueError, match="refusing to load"):
        read_cifar_batch(path)
    assert not os.path.exists(marker)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"expected uint8 \(N, 3072\)"):
        read_cifar_batch(path)
    with pytest.raises(FileNotFoundError, match="data_batch_1, data_batch_2"):
        CIFAR10(tmp_path / "empty")


# ----------------------------------------------------------------------- download
class Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files` (path -> bytes), honouring `Range: bytes=N-` when asked to."""

    timeout = 5  # seconds: a stuck client cannot hang the server thread

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Range")))
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted and self.server.honour_range:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass  # keep the test output clean


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server in a thread; `server.url + path` serves `server.files[path]`."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")  # never route these through a proxy
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.requests, httpd.honour_range = {}, [], True
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


BODY = bytes(range(256)) * 40
DIGEST = hashlib.sha256(BODY).hexdigest()


def test_download_checks_and_renames(server, tmp_path):
    server.files["/f.bin"] = BODY
    path = download_url(server.url + "/f.bin", tmp_path / "f.bin", DIGEST, progress=False)
    assert path.read_bytes() == BODY and not (tmp_path / "f.bin.part").exists()
    download_url(server.url + "/f.bin", path, DIGEST)  # already there: no request
    assert len(server.requests) == 1


def test_download_checksum_mismatch_removes_the_file(server, tmp_path):
    server.files["/f.bin"] = BODY[:-1] + b"X"
    with pytest.raises(DownloadError, match=f"expected {DIGEST}; the file was removed"):
        download_url(server.url + "/f.bin", tmp_path / "f.bin", DIGEST, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("honour_range", [True, False], ids=["range", "server-ignores-range"])
def test_download_resumes_from_part_file(server, tmp_path, honour_range):
    server.files["/f.bin"] = BODY
    server.honour_range = honour_range
    (tmp_path / "f.bin.part").write_bytes(BODY[:1000])
    path = download_url(server.url + "/f.bin", tmp_path / "f.bin", DIGEST, progress=False)
    assert path.read_bytes() == BODY
    assert server.requests == [("/f.bin", "bytes=1000-")]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    url = f"http://127.0.0.1:{closed_port()}/f.bin"
    with pytest.raises(DownloadError, match="place it at .*f.bin") as error:
        download_url(url, tmp_path / "f.bin", DIGEST, timeout=5)
    assert DIGEST in str(error.value)
    with pytest.raises(ValueError, match="64-hex-digit"):
        download_url(url, tmp_path / "f.bin", "abc")


def test_download_http_error(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_url(server.url + "/missing", tmp_path / "f.bin", DIGEST)


def test_mnist_download(server, device, tmp_path):
    images, labels = write_mnist(tmp_path / "source", train=False, n=3)
    digests = {}
    for file in (tmp_path / "source").iterdir():
        server.files[f"/mnist/{file.name}"] = file.read_bytes()
        digests[file.name] = hashlib.sha256(file.read_bytes()).hexdigest()
    ds = MNIST(tmp_path / "root", train=False, download=True, sha256=digests,
               base_url=server.url + "/mnist/", device=device)  # fmt: skip
    assert ds.labels.tolist() == labels.tolist()
    assert MNIST(tmp_path / "root", train=False, device=device).labels.tolist() == labels.tolist()
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(DownloadError, match="t10k-images-idx3-ubyte.*Place these files there"):
        MNIST(tmp_path / "other", train=False, download=True, sha256=digests, base_url=url)


def test_cifar_download_extracts_only_the_batches(server, device, tmp_path):
    written = write_cifar(tmp_path / "source")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in written:
            tar.add(tmp_path / "source" / name, arcname=f"cifar-10-batches-py/{name}")
        evil = tarfile.TarInfo("../evil")  # a path-traversal member must not be written
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil"))
    server.files["/cifar.tar.gz"] = buffer.getvalue()
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    root = tmp_path / "root"
    ds = CIFAR10(root, train=False, download=True, sha256=digest, url=server.url + "/cifar.tar.gz",
                 device=device)  # fmt: skip
    assert ds.labels.tolist() == written["test_batch"][1]
    assert not (tmp_path / "evil").exists() and not (root / "evil").exists()
    assert len(CIFAR10(root, device=device)) == 20  # the train batches were extracted too
    with pytest.raises(ValueError, match="needs sha256="):
        CIFAR10(tmp_path / "elsewhere", download=True)
