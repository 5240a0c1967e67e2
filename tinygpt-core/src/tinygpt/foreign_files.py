"""Name a file that is not safetensors from its first bytes, and say what to do with it.

`tg.load` asks only after the safetensors reading has failed, so a real safetensors file whose
header length happens to start like one of these never gets misnamed. The commonest case is a
PyTorch checkpoint: `torch.save` writes a zip archive holding a pickle (a plain pickle before
PyTorch 1.6), and without this its first eight bytes read as a header length of
578712552184433488.

>>> print(describe_foreign(b"PK\\x03\\x04\\x00\\x00\\x08\\x08", "ckpt.pt").splitlines()[0])
ckpt.pt is a zip archive, the format torch.save writes (a pickle inside a zip);
"""

from __future__ import annotations

__all__ = ["describe_foreign"]

# NOTE: the way out for PyTorch files: convert once, where PyTorch is installed; the
# tensors-only dict is what safetensors can hold (nested parts can be saved one by one)
_FROM_TORCH = (
    "tinygpt never unpickles, because loading a pickle can run any code. Convert it once where "
    "PyTorch is installed:\n"
    "    sd = torch.load(PATH, weights_only=True)            # a nanoGPT ckpt: sd['model']\n"
    "    safetensors.torch.save_file(sd, 'model.safetensors')  # pip install safetensors\n"
    "then tg.load('model.safetensors')"
)


def describe_foreign(prefix: bytes, path: object) -> str | None:
    """What the file starting with `prefix` is and what to do, or None if unrecognised."""
    if prefix.startswith(b"PK\x03\x04") or prefix.startswith(b"PK\x05\x06"):
        return (
            f"{path} is a zip archive, the format torch.save writes (a pickle inside a zip);\n"
            + _FROM_TORCH.replace("PATH", repr(str(path)))
            + "\n(a NumPy .npz is a zip too: read it with numpy.load, then tg.tensor(...))"
        )
    if len(prefix) >= 2 and prefix[0] == 0x80 and 2 <= prefix[1] <= 5:
        return (
            f"{path} is a Python pickle (protocol {prefix[1]}), as pickle.dump or an old "
            "torch.save writes;\n" + _FROM_TORCH.replace("PATH", repr(str(path)))
        )
    if prefix.startswith(b"\x93NUMPY"):
        return (
            f"{path} is a NumPy .npy file; read it with numpy.load and pass the array to "
            "tg.tensor(...)"
        )
    if prefix.startswith(b"\x89HDF"):
        return (
            f"{path} is an HDF5 file (Keras .h5, h5py); read it with h5py and pass the arrays "
            "to tg.tensor(...)"
        )
    if prefix.startswith(b"\x1f\x8b"):
        return f"{path} is gzip-compressed; decompress it first (gunzip), then tg.load it"
    return None
