"""`kernel_replay`: record the backend kernels one call of a function runs, replay them after.

A decoding step of a small model runs some sixty ops on tensors of a few hundred numbers:
the kernels take a few microseconds each, the Python around them (argument checks, dispatch,
graph bookkeeping, Tensor and NDArray objects) several times more. The kernels a step runs
are the same every time; only the data differ. So the first call runs the function as usual
and writes down each backend call: which kernel, and where each argument comes from (an
input of the call, the output of an earlier kernel, or something fixed such as a weight).
Later calls run those kernels and nothing else. This is what CUDA graphs do for launch
overhead, at the level of this framework's backend calls.

The contract, as with CUDA graphs:

- Every call runs the same kernels: the function may not branch on values. The inputs must
  have the recorded dtypes, devices, shapes and strides (their offsets may differ), except
  the inputs listed in `free_sizes`, whose sizes the function leaves to the kernels (a key
  cache (B, nh, T, hs) whose T grows: attention reads T from the array). A call with other
  inputs records again.
- Tensors the function reads that are not inputs (weights) are read in place at each replay,
  so in-place updates are seen; those in `watch` are also checked for new memory
  (`p.data = other`), which records again. A tensor the function creates is made again by
  the same kernels (from the same Python data).
- Replays build no autograd graph, bump no version counter (of an input written in place)
  and are invisible to `tg.profile()`: with gradients enabled, a profile open, an autocast
  block open or the fast paths off (`TINYGPT_FAST_PATHS=0`), the function runs as usual.
- A function that reads device data on the host, draws random numbers, or makes a view of
  an input whose memory another input shares or whose sizes are free, cannot be replayed:
  it then runs as usual every time, and `reason` says why. A call given one array as two
  inputs runs as usual (and records nothing).
- One function records at a time; meanwhile other threads' ops run unrecorded, and every
  replay (one inside the function being recorded too) runs its function as usual.

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

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any

from . import fast_paths
from .autograd import function
from .autograd.function import is_grad_enabled
from .ndarray import NDArray
from .ops import autocast
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

#: what the compiled program returns when the inputs are not what it was recorded for
_MISS = object()

#: held while a function records (one at a time in a process: it patches backend methods)
_RECORDING = threading.Lock()


class KernelReplay:
    """`fn` on tensors, recorded on its first call without gradients and replayed after.

    `replays` and `recordings` count the calls of each kind; `reason` says why `fn` cannot
    be replayed (None while it can); `source` is the recorded program, written as Python.
    """

    def __init__(
        self, fn: Callable[..., Any], watch: Sequence[Tensor] = (), free_sizes: Collection[int] = ()
    ) -> None:
        self.fn = fn
        self.watch = tuple(watch)
        self.free_sizes = frozenset(free_sizes)
        self.replays = 0
        self.recordings = 0
        self.reason: str | None = None
        self.source: str | None = None
        #: the compiled program: input arrays -> fn's result arrays, or _MISS
        self._run: Callable[[list[NDArray]], Any] | None = None
        self._many = False  # whether fn returns a tuple

    def __call__(self, *inputs: Tensor) -> Any:
        # NOTE: while any function records, replays run as usual: one inside the function
        # being recorded must show its kernels to the recorder
        if (
            is_grad_enabled()
            or function.profile_hook is not None
            or not fast_paths.enabled
            or _RECORDING.locked()
            or autocast.on()  # (other kernels, on other dtypes, than recorded)
        ):
            return self.fn(*inputs)
        run = self._run
        if run is not None:
            out = run([t._data for t in inputs])
            if out is not _MISS:
                self.replays += 1
                if self._many:
                    return tuple(_new(Tensor, array, False) for array in out)
                return _new(Tensor, out, False)
        if self.reason is not None:
            return self.fn(*inputs)
        return self._record(inputs)

    def _record(self, inputs: tuple[Tensor, ...]) -> Any:
        """Run fn once with every kernel call of the inputs' backends written down."""
        if _aliased(inputs) or not _RECORDING.acquire(blocking=False):
            # two inputs are one array (an operand could be either: record another call),
            # or another thread records: this call runs as usual
            return self.fn(*inputs)
        try:
            self._run = None
            self.recordings += 1
            recorder = _Recorder([t._data for t in inputs], self.free_sizes)
            backends = {id(t._data.backend): t._data.backend for t in inputs}
            patched: list[Callable[[], None]] = []
            try:
                for backend in backends.values():
                    patched.append(_patch(backend, recorder))
                result = self.fn(*inputs)
            finally:
                for undo in patched:
                    undo()
        finally:
            _RECORDING.release()
        self._many = isinstance(result, tuple)
        tensors = result if self._many else (result,)
        outputs = []
        if all(isinstance(t, Tensor) for t in tensors):
            outputs = [recorder.spec(t._data) for t in tensors]
        else:
            recorder.fail("fn returned something other than tensors")
        if recorder.reason is not None:
            self.reason = recorder.reason
            return result
        self.source, namespace = _write(recorder, outputs, self._many)
        namespace["WATCHED"] = tuple((t, t._data) for t in self.watch)
        exec(_compiled(self.source), namespace)  # noqa: S102 (the program we just wrote)
        self._run = namespace["replay"]
        return result


def kernel_replay(
    fn: Callable[..., Any], watch: Sequence[Tensor] = (), free_sizes: Collection[int] = ()
) -> KernelReplay:
    """Wrap `fn` (tensors in, a tensor or a tuple of tensors out) so that calls without
    gradients after the first replay its backend kernels (see the module docstring).

    `watch`: tensors fn reads besides its inputs that may get new memory; `free_sizes`: the
    positions of the inputs whose sizes may change between calls."""
    return KernelReplay(fn, watch, free_sizes)


def _aliased(inputs: tuple[Tensor, ...]) -> bool:
    """Whether two inputs are the same array (one buffer, one layout)."""
    layouts = {(id(t._data.buffer), t._data.shape, t._data.strides, t._data.offset) for t in inputs}
    return len(layouts) < len(inputs)


class _Recorder:
    """The kernels of one call and where their arguments come from."""

    def __init__(self, inputs: list[NDArray], free_sizes: frozenset[int]) -> None:
        self.inputs = inputs
        self.free_sizes = free_sizes
        #: per kernel: (its name, the backend method, argument specs, keyword argument specs)
        self.program: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        #: id(buffer) -> (kernel index, tuple position or -1) for every buffer a kernel made
        self.made: dict[int, tuple[int, int]] = {}
        #: those buffers, kept alive while recording so that no id is reused
        self.keep: list[Any] = []
        self.reason: str | None = None
        self.depth = 0  # how many backend calls are under way (see `call`)
        self.thread = threading.get_ident()

    def call(self, name: str, method: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """Run one kernel and write it down (or note why fn cannot be replayed).

        subtle: a backend method may call others of its own (a dense-inputs backend compacts
        its operands with `copy`); only the outermost call is a step of the program, since
        replaying it makes the inner ones again."""
        if self.depth or self.reason is not None or threading.get_ident() != self.thread:
            return self.nested(method, args, kwargs)
        if name in _UNREPLAYABLE:
            self.fail(f"fn calls the backend's {name!r} (a host read or random draw)")
            return method(*args, **kwargs)
        j = len(self.program)
        specs = tuple(self.spec(a) for a in args)
        keywords = {k: self.spec(v) for k, v in kwargs.items()}
        self.program.append((name, method, specs, keywords))
        out = self.nested(method, args, kwargs)
        if isinstance(out, tuple):
            for k, item in enumerate(out):
                self.made[id(item)] = (j, k)
        elif out is not None:
            self.made[id(out)] = (j, -1)
        self.keep.append(out)
        return out

    def nested(self, method: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """Call `method`, with the backend calls it makes itself counted as inner ones."""
        self.depth += 1
        try:
            return method(*args, **kwargs)
        finally:
            self.depth -= 1

    def spec(self, value: Any) -> tuple[Any, ...]:
        """Where `value` comes from: an input, a kernel's output (a view of it), or fixed."""
        if type(value) is not NDArray:
            if isinstance(value, (list, tuple)) and any(type(v) is NDArray for v in value):
                self.fail("a backend method took a list of arrays (not recorded)")
            return (_FIXED, value)
        for i, array in enumerate(self.inputs):
            if value is array:
                return (_INPUT, i)
        made = self.made.get(id(value.buffer))
        if made is not None:
            layout = (value.backend, value.shape, value.dtype, value.strides, value.offset)
            return (_RESULT, *made, *layout)
        sources = [i for i, a in enumerate(self.inputs) if a.buffer is value.buffer]
        same = (value.shape, value.strides, value.offset, value.dtype)
        for i in sources:
            source = self.inputs[i]
            if same == (source.shape, source.strides, source.offset, source.dtype):
                return (_INPUT, i)  # another NDArray object for the same view
        if len(sources) == 1 and sources[0] not in self.free_sizes:
            # a view made of the input (a broadcast, say): the same view of each call's
            # input, which has the recorded shape and strides (its offset may move)
            i = sources[0]
            delta = value.offset - self.inputs[i].offset
            return (_VIEW, i, value.backend, value.shape, value.dtype, value.strides, delta)
        if sources:
            self.fail(
                f"fn makes a view {value.shape} of input {sources[0]}, which shares memory with "
                "another input or has free sizes; make it outside and pass it in"
            )
        return (_FIXED, value)

    def fail(self, reason: str) -> None:
        """Note the first reason fn cannot be replayed."""
        if self.reason is None:
            self.reason = reason


def _patch(backend: Any, recorder: _Recorder) -> Callable[[], None]:
    """Route every public method of `backend` through `recorder`; return the undo."""
    own = dict(getattr(backend, "__dict__", {}))  # instance attributes (a wrapped matmul)
    names = [n for n in dir(backend) if not n.startswith("_") and callable(getattr(backend, n))]
    done: list[str] = []

    def undo() -> None:
        for name in done:
            if name in own:
                setattr(backend, name, own[name])
            else:
                delattr(backend, name)

    for name in names:
        method = getattr(backend, name)

        def recorded(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            return recorder.call(_name, _method, args, kwargs)

        try:
            setattr(backend, name, recorded)
        except (AttributeError, TypeError):  # (a backend without instance attributes)
            undo()
            recorder.fail(f"the {type(backend).__name__} backend's methods cannot be wrapped")
            return lambda: None
        done.append(name)
    return undo


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
            where, offset = f"a[{i}].buffer", f"a[{i}].offset + {delta}"
        else:
            _, j, k, backend, shape, dtype, strides, offset = spec
            where = f"r{j}" if k < 0 else f"r{j}[{k}]"
        be, dt = name_of(backend, "b"), name_of(dtype, "d")
        return f"NDArray({be}, {where}, {shape!r}, {dt}, {strides!r}, {offset})"

    lines = ["def replay(a):", f"    if len(a) != {len(recorder.inputs)}:", "        return MISS"]
    # the guards: each input's dtype, device and (unless free) shape and strides
    for i, array in enumerate(recorder.inputs):
        test = f"a[{i}].dtype is not {name_of(array.dtype, 'd')}"
        test += f" or a[{i}].backend is not {name_of(array.backend, 'b')}"
        if i not in recorder.free_sizes:
            test += f" or a[{i}].shape != {array.shape!r} or a[{i}].strides != {array.strides!r}"
        lines += [f"    if {test}:", "        return MISS"]
    lines += ["    for tensor, array in WATCHED:", "        if tensor._data is not array:"]
    lines += ["            return MISS"]
    for j, (kernel, method, specs, keywords) in enumerate(recorder.program):
        args = [expression(spec) for spec in specs]
        args += [f"{key}={expression(spec)}" for key, spec in keywords.items()]
        lines.append(f"    r{j} = {name_of(method, 'k')}({', '.join(args)})  # {kernel}")
    results = [expression(spec) for spec in outputs]
    lines.append(f"    return ({', '.join(results)},)" if many else f"    return {results[0]}")
    return "\n".join(lines) + "\n", namespace


#: programs compiled so far, by source: compiling one costs a few times running fn as usual,
#: and the same function recorded again (a new decoding loop, say) writes the same source
_CODE: dict[str, Any] = {}
_CODE_LIMIT = 64


def _compiled(source: str) -> Any:
    """The code object of `source`, compiled once."""
    code = _CODE.get(source)
    if code is None:
        if len(_CODE) >= _CODE_LIMIT:
            _CODE.clear()
        code = _CODE[source] = compile(source, "<kernel_replay>", "exec")
    return code
