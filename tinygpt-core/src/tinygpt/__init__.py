"""tinygpt: a small, readable deep-learning framework that trains real GPTs.

    import tinygpt as tg
    x = tg.randn(3, 4, requires_grad=True)
    (x.exp() * 2).sum().backward()
    print(x.grad)

Reading order: `ndarray.py` (strided views) -> `backend/protocol.py` (what a device does) ->
`backend/registry.py` (how devices are found) -> `tensor.py` -> `autograd/function.py` and
`ops/elementwise.py` (primitives) -> `autograd/engine.py` (backward) -> `ops/__init__.py`
(one file per op family). docs/architecture.md maps every concept to its file.
"""

# tinygpt-nn and tinygpt-gpt add subpackages (tinygpt.nn, tinygpt.gpt) from their own
# folders; extend_path lets them live in another sys.path entry (editable installs).
import importlib
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

from . import _missing  # noqa: E402

_missing.install()

from . import (  # noqa: E402
    accelerator,
    amp,
    autograd,
    cuda,
    distributions,
    func,
    jit,
    linalg,
    special,
    tensor_misc_more,
    viz,
)
from . import numpy_keywords as _numpy_keywords  # noqa: E402
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402
from .autograd import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend.registry import (  # noqa: E402
    BackendInfo,
    backends,
    default_device,
    get_backend,
    set_default_device,
)
from .compiling import compile  # noqa: E402, A004
from .creation import (  # noqa: E402
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    next_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .creation_more import *  # noqa: E402, F403
from .creation_more import __all__ as _creation_more_all  # noqa: E402
from .device import Device, device  # noqa: E402
from .dtypes import (  # noqa: E402
    DType,
    as_dtype,
    bfloat16,
    float16,
    float32,
    float64,
    int8,
    int32,
    int64,
    promote_types,
    uint8,
)
from .dtypes import bool_ as bool  # noqa: E402, A001
from .errors import (  # noqa: E402
    BackendError,
    DeviceError,
    DTypeError,
    OutOfMemoryError,
    SerializationError,
    ShapeError,
    TinyGPTError,
)
from .functional import *  # noqa: E402, F403
from .functional import __all__ as _functional_all  # noqa: E402
from .functional_aliases import *  # noqa: E402, F403
from .functional_aliases import __all__ as _functional_aliases_all  # noqa: E402
from .functional_extras import *  # noqa: E402, F403
from .functional_extras import __all__ as _functional_extras_all  # noqa: E402
from .functional_inplace import *  # noqa: E402, F403
from .functional_inplace import __all__ as _functional_inplace_all  # noqa: E402
from .functional_math import *  # noqa: E402, F403 - its `unique` adds dim= to extras' one
from .functional_math import __all__ as _functional_math_all  # noqa: E402
from .functional_more import *  # noqa: E402, F403
from .functional_more import __all__ as _functional_more_all  # noqa: E402
from .functional_parity import *  # noqa: E402, F403
from .functional_parity import __all__ as _functional_parity_all  # noqa: E402
from .linalg import toplevel as _linalg_toplevel  # noqa: E402
from .printing import get_printoptions, set_printoptions  # noqa: E402
from .profiler import profile  # noqa: E402
from .random import (  # noqa: E402
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    randint_like,
    randperm,
    seed,
    set_rng_state,
)
from .serialization import load, load_metadata, save  # noqa: E402
from .settings import *  # noqa: E402, F403 - replaces registry's `backends` (still callable)
from .settings import __all__ as _settings_all  # noqa: E402
from .size import Size  # noqa: E402
from .tensor import Tensor  # noqa: E402
from .type_info import finfo, iinfo  # noqa: E402

# PyTorch's top-level linear-algebra names (`tg.det`, `tg.mv`, `tg.svd`, ...): the list is
# linalg's own contract (`TOPLEVEL_NAMES`), so the two packages cannot drift apart
for _name in _linalg_toplevel.TOPLEVEL_NAMES:
    globals()[_name] = getattr(_linalg_toplevel, _name)
tensor_misc_more.bind_linalg(_linalg_toplevel)  # `x.det()`, `m.mv(v)`, ... (TENSOR_METHODS)

__version__ = "0.1.0"


#: subpackages other distributions add, loaded on first use as attributes (`tg.nn.Linear`)
_LAZY_SUBPACKAGES = ("nn", "optim", "data", "utils", "gpt")


def __getattr__(name: str) -> object:
    """`import tinygpt as tg; tg.nn` without `import tinygpt.nn` first, as with torch.nn.

    A subpackage whose distribution is not installed raises the ImportError that names it
    (from `_missing.py`: "pip install ./tinygpt-nn").
    """
    if name in _LAZY_SUBPACKAGES or name in ("testing", "multiprocessing"):
        # (testing: the conformance kit and assert_close; both import more than core needs)
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NN_FUNCTIONAL:
        # `torch.conv1d(...)`: PyTorch's top-level spellings of nn.functional ops (same
        # arguments), found in tinygpt-nn when it is installed
        return getattr(importlib.import_module(f"{__name__}.nn.functional"), name)
    raise AttributeError(f"module 'tinygpt' has no attribute {name!r}")


#: torch.* names that are nn.functional's ops with the same arguments
_NN_FUNCTIONAL = frozenset(
    {
        "adaptive_avg_pool1d",
        "adaptive_max_pool1d",
        "alpha_dropout",
        "avg_pool1d",
        "bilinear",
        "channel_shuffle",
        "conv1d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "feature_alpha_dropout",
        "max_pool1d",
        "max_pool1d_with_indices",
        "max_pool3d",
        "pixel_shuffle",
        "pixel_unshuffle",
    }
)


def synchronize(device: "Device | str | None" = None) -> None:
    """Wait for every queued kernel on `device` (the default device when None)."""
    get_backend(device).synchronize()


__all__ = [
    "BackendError",
    "BackendInfo",
    "DType",
    "DTypeError",
    "Device",
    "DeviceError",
    "OutOfMemoryError",
    "SerializationError",
    "ShapeError",
    "Tensor",
    "TinyGPTError",
    "arange",
    "as_dtype",
    "autograd",
    "backends",
    "bool",
    "default_device",
    "device",
    "empty",
    "empty_like",
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "eye",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_backend",
    "int32",
    "int64",
    "load",
    "load_metadata",
    "manual_seed",
    "next_seed",
    "no_grad",
    "ones",
    "ones_like",
    "profile",
    "promote_types",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "save",
    "set_default_device",
    "set_grad_enabled",
    "synchronize",
    "tensor",
    "viz",
    "zeros",
    "zeros_like",
    *_functional_all,
    *_functional_parity_all,
    *_functional_aliases_all,
    *_functional_extras_all,
    *_functional_more_all,
    *_creation_more_all,
    *_functional_inplace_all,
    *_functional_math_all,
    *(name for name in _settings_all if name != "backends"),
    "Size",
    "amp",
    "autocast",
    "compile",
    "get_autocast_dtype",
    "is_autocast_enabled",
    "accelerator",
    "cuda",
    "distributions",
    "func",
    "jit",
    "special",
    "finfo",
    "iinfo",
    "linspace",
    "Generator",
    "bfloat16",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "int8",
    "randint_like",
    "randperm",
    "seed",
    "set_rng_state",
    "uint8",
    "linalg",
    "get_printoptions",
    "set_printoptions",
    "is_anomaly_enabled",
    *_linalg_toplevel.TOPLEVEL_NAMES,
]

# NumPy's `axis=` / `keepdims=` wherever PyTorch takes them (numpy_keywords.py)
_numpy_keywords.install(globals(), __all__, Tensor)

# PyTorch's short dtype names (`tg.long`, `tg.half`, ...). Bound last, and left out of
# __all__, because `float` and `int` would shadow the builtins in this module and in a
# star-importing one.
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
byte = uint8
char = int8
dtype = DType  # `isinstance(x, tg.dtype)`, as torch.dtype (left out of __all__ likewise)
