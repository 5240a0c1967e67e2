"""`kernel_replay`: record the backend kernels one call of a function runs, replay them after.

A decoding step of a small model runs some sixty ops on tensors of a few hundred numbers:
the kernels take a few microseconds in all, the Python around them (argument checks,
dispatch, graph bookkeeping, Tensor and NDArray objects) many times more. The kernels a step
runs are the same every time; only the data differ. So the first call runs the function as
usual and writes down each backend call: which kernel, and where each argument comes from
(an input of the call, the output of an earlier kernel, or something fixed such as a weight).
Later calls run that list and nothing else: one Python loop over the kernels. This is what
CUDA graphs do for launch overhead, at the level of this framework's backend calls.

The contract, as with CUDA graphs:

- Every call must run the same kernels on arrays of the same layouts: the function may not
  branch on values, and may branch on the inputs' sizes only where the kernels read them
  (a (B, nh, T, hs) key cache whose T grows is fine: the kernel reads T from the array).
- Tensors the function reads that are not inputs (weights) are read in place at each replay,
  so in-place updates are seen; a tensor it *creates* (from Python data, or from other fixed
  tensors) is made again by the same kernels.
- Replays build no autograd graph and are invisible to `tg.profile()`: with gradients enabled,
  a profile open or the fast paths off (`TINYGPT_FAST_PATHS=0`), the function runs as usual.
- A function that reads device data on the host, draws random numbers, or makes a view of an
  input inside itself cannot be replayed: it then runs as usual every time, and `reason` says
  why. Views of inputs must be made outside and passed in.

>>> import tinygpt as tg
>>> w = tg.ones(3, 2)
>>> step = tg.kernel_replay(lambda x: (x @ w).relu())
>>> with tg.no_grad():
...     first = step(tg.ones(1, 3))
...     again = step(tg.full((1, 3), 2.0))
>>> again.tolist(), step.replays
([[6.0, 6.0]], 1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import fast_paths
from .autograd import function
from .autograd.function import is_grad_enabled
from .ndarray import NDArray
from .tensor import Tensor, _new

__all__ = ["KernelReplay", "kernel_replay"]

#: backend methods whose result a replay could not reproduce: host reads and random draws
_UNREPLAYABLE = frozenset(
    {"to_host", "export_buffer", "random", "random_bits", "synchronize", "native_stream"}
)

# how a recorded argument is found at replay time (the first item of its spec)
_FIXED = 0  # the recorded object itself (a weight, a Python scalar, an op name)
_INPUT = 1  # the array of input i of this call
_RESULT = 2  # a view of the buffer kernel j returned (element k of a tuple, or all of it)
_VIEW = 3  # a view fn made of input i (a broadcast, say), at an offset from the input's


class KernelReplay:
    """`fn` on tensors, recorded on its first call (without gradients) and replayed after.

    `replays` counts the calls that replayed; `reason` says why `fn` cannot be replayed
    (None while it can); `source` is the recorded program, written out as Python.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.replays = 0
        self.reason: str | None = None
        self.source: str | None = None
        #: the compiled program: input arrays -> fn's result arrays, or _MISS when the inputs
        #: have other dtypes, devices or layouts than it was recorded for
        self._run: Callable[[list[NDArray]], Any] | None = None
        self._many = False  # whether fn returns a tuple

    def __call__(self, *inputs: Tensor) -> Any:
        if is_grad_enabled() or function.profile_hook is not None or not fast_paths.enabled:
            return self.fn(*inputs)
        run = self._run
        if run is None:
            if self.reason is not None:
                return self.fn(*inputs)
            return self._record(inputs)
        out = run([t._data for t in inputs])
        if out is _MISS:
            return self.fn(*inputs)  # not the dtypes, devices or layouts recorded: as usual
        self.replays += 1
        if self._many:
            return tuple(_new(Tensor, array, False) for array in out)
        return _new(Tensor, out, False)

    def _record(self, inputs: tuple[Tensor, ...]) -> Any:
        """Run fn once with every kernel call of the inputs' backends written down."""
        recorder = _Recorder([t._data for t in inputs])
        backends = {id(t._data.backend): t._data.backend for t in inputs}
        patched = [_patch(backend, recorder) for backend in backends.values()]
        try:
            result = self.fn(*inputs)
        finally:
            for undo in patched:
                undo()
        self._many = isinstance(result, tuple)
        tensors = result if self._many else (result,)
        if not all(isinstance(t, Tensor) for t in tensors):
            recorder.fail("fn returned something other than tensors")
        outputs = [recorder.spec(t._data) for t in tensors] if recorder.reason is None else []
        if recorder.reason is not None:
            self.reason = recorder.reason
            return result
        self.source, namespace = _write(recorder, outputs, self._many)
        exec(compile(self.source, "<kernel_replay>", "exec"), namespace)  # noqa: S102
        self._run = namespace["replay"]
        return result


def kernel_replay(fn: Callable[..., Any]) -> KernelReplay:
    """Wrap `fn` (tensors in, a tensor or a tuple of tensors out) so that calls without
    gradients after the first replay its backend kernels (see the module docstring)."""
    return KernelReplay(fn)


#: what the compiled program returns when the inputs are not what it was recorded for
_MISS = object()


def _write(recorder: _Recorder, outputs: list[Any], many: bool) -> tuple[str, dict[str, Any]]:
    """The recorded program as Python source, one line per kernel, and the objects it names.

    subtle: written out rather than interpreted, since an interpreter's loop over argument
    specs costs about as much per kernel as the Python the replay exists to skip.
    """
    names: dict[int, str] = {}
    namespace: dict[str, Any] = {"NDArray": NDArray, "MISS": _MISS}

    def name_of(value: Any, prefix: str) -> str:
        key = id(value)
        if key not in names:
            names[key] = f"{prefix}{len(names)}"
            namespace[names[key]] = value
        return names[key]

    def expression(spec: tuple[Any, ...]) -> str:
        kind = spec[0]
        if kind == _FIXED:
            value = spec[1]
            if value is None or type(value) in (bool, int, str):
                return repr(value)
            return name_of(value, "c")  # (a float too: its repr may be inf or nan)
        if kind == _INPUT:
            return f"a[{spec[1]}]"
        if kind == _VIEW:
            _, i, backend, shape, dtype, strides, delta = spec
            where = f"a[{i}].buffer"
            offset = f"a[{i}].offset + {delta}"
        else:
            _, j, k, backend, shape, dtype, strides, offset = spec
            where = f"r{j}" if k < 0 else f"r{j}[{k}]"
        be = name_of(backend, "b")
        dt = name_of(dtype, "d")
        return f"NDArray({be}, {where}, {shape!r}, {dt}, {strides!r}, {offset})"

    lines = ["def replay(a):"]
    # the guards: every input's dtype and device, and the layout of each input fn viewed
    for i, array in enumerate(recorder.inputs):
        dt = name_of(array.dtype, "d")
        be = name_of(array.backend, "b")
        lines.append(f"    if a[{i}].dtype is not {dt} or a[{i}].backend is not {be}:")
        lines.append("        return MISS")
    for i, (shape, strides) in recorder.guards.items():
        lines.append(f"    if a[{i}].shape != {shape!r} or a[{i}].strides != {strides!r}:")
        lines.append("        return MISS")
    for j, (kernel, method, specs, keywords) in enumerate(recorder.program):
        args = [expression(spec) for spec in specs]
        args += [f"{key}={expression(spec)}" for key, spec in keywords.items()]
        lines.append(f"    r{j} = {name_of(method, 'k')}({', '.join(args)})  # {kernel}")
    results = [expression(spec) for spec in outputs]
    lines.append(f"    return ({', '.join(results)},)" if many else f"    return {results[0]}")
    return "\n".join(lines) + "\n", namespace


class _Recorder:
    """The kernels of one call and where their arguments come from."""

    def __init__(self, inputs: list[NDArray]) -> None:
        self.inputs = inputs
        #: per kernel: (its name, the backend method, argument specs, keyword argument specs)
        self.program: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        #: id(buffer) -> (kernel index, tuple position or -1) for every buffer a kernel made
        self.made: dict[int, tuple[int, int]] = {}
        #: those buffers, kept alive while recording so that no id is reused
        self.keep: list[Any] = []
        #: input i -> the (shape, strides) it must have for the views fn made of it
        self.guards: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self.reason: str | None = None

    def call(self, name: str, method: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """Run one kernel and write it down (or note why fn cannot be replayed)."""
        if self.reason is None:
            if name in _UNREPLAYABLE:
                self.fail(f"fn calls the backend's {name!r} (a host read or random draw)")
            else:
                specs = tuple(self.spec(a) for a in args)
                keywords = {k: self.spec(v) for k, v in kwargs.items()}
                self.program.append((name, method, specs, keywords))
        out = method(*args, **kwargs)
        if self.reason is None:
            j = len(self.program) - 1
            if isinstance(out, tuple):
                for k, item in enumerate(out):
                    self.made[id(item)] = (j, k)
            elif out is not None:
                self.made[id(out)] = (j, -1)
            self.keep.append(out)
        return out

    def spec(self, value: Any) -> tuple[Any, ...]:
        """Where `value` comes from: an input, a kernel's output (a view of it), or fixed."""
        if type(value) is not NDArray:
            return (_FIXED, value)
        for i, array in enumerate(self.inputs):
            if value is array:
                return (_INPUT, i)
        buffer = id(value.buffer)
        made = self.made.get(buffer)
        if made is not None:
            j, k = made
            layout = (value.backend, value.shape, value.dtype, value.strides, value.offset)
            return (_RESULT, j, k, *layout)
        sources = [i for i, a in enumerate(self.inputs) if a.buffer is value.buffer]
        if not sources:
            return (_FIXED, value)
        same = (value.shape, value.strides, value.offset, value.dtype)
        for i in sources:
            source = self.inputs[i]
            if same == (source.shape, source.strides, source.offset, source.dtype):
                return (_INPUT, i)  # another NDArray object for the same view
        if len(sources) > 1:
            self.fail(f"fn makes a view {value.shape} of inputs {sources} that share memory")
            return (_FIXED, value)
        # a view made from the input (a broadcast, say): the same view of each call's input,
        # as long as that input has the recorded shape and strides (its offset may move)
        (i,) = sources
        source = self.inputs[i]
        self.guards[i] = (source.shape, source.strides)
        delta = value.offset - source.offset
        return (_VIEW, i, value.backend, value.shape, value.dtype, value.strides, delta)

    def fail(self, reason: str) -> None:
        """Note the first reason fn cannot be replayed."""
        if self.reason is None:
            self.reason = reason


def _patch(backend: Any, recorder: _Recorder) -> Callable[[], None]:
    """Route every public method of `backend` through `recorder`; return the undo."""
    own = dict(vars(backend))  # instance attributes (a wrapped matmul, say) to put back
    names = [n for n in dir(backend) if not n.startswith("_") and callable(getattr(backend, n))]
    for name in names:
        method = getattr(backend, name)

        def recorded(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            return recorder.call(_name, _method, args, kwargs)

        setattr(backend, name, recorded)

    def undo() -> None:
        for name in names:
            if name in own:
                setattr(backend, name, own[name])
            else:
                delattr(backend, name)

    return undo
