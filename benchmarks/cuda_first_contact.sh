#!/usr/bin/env bash
# The cuda backend's first run on a GPU, as one prepared script (issue 16). Run it from the
# repository root on a machine with an NVIDIA GPU whose Python already has CuPy, pytest,
# hypothesis, pluggy and (for the comparison) PyTorch: nothing is downloaded.
#
#   bash benchmarks/cuda_first_contact.sh            # the whole report, about 10 minutes
#   QUICK=1 bash benchmarks/cuda_first_contact.sh    # kit + one sanitizer pass + a short benchmark
#
# Writes one log, $OUT/first-contact.log (or ./first-contact.log), and prints a summary line
# per step: a failing step does not stop the ones after it.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
LOG="${OUT:-.}/first-contact.log"
: >"$LOG"
export PYTHONUNBUFFERED=1
failed=0

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log it, print its last lines
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*" | tee -a "$LOG"
    timeout "$limit" "$@" >>"$LOG" 2>&1
    local rc=$?
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    echo "   $name -> exit $rc" | tee -a "$LOG"
}

KIT=(-m pytest --pyargs tinygpt.testing --tinygpt-backend=cuda -q -p no:cacheprovider)
# the block-cooperative kernels at float32, small cases: what the sanitizers are for
FUSED=(tinygpt.testing.test_conformance_fused tinygpt.testing.test_conformance_attention
    tinygpt.testing.test_conformance_reduce tinygpt.testing.test_conformance_bounds)
SAN_ARGS=(-m pytest --pyargs "${FUSED[@]}" --tinygpt-backend=cuda -q -x -p no:cacheprovider
    -k "float32 and not finite_differences")

step gpu 30 nvidia-smi
step install 300 "$PY" -m pip install -q --no-deps --no-build-isolation --no-index \
    -e ./tinygpt-core -e ./tinygpt-backend-numpy -e ./tinygpt-backend-cuda \
    -e ./tinygpt-nn -e ./tinygpt-gpt
step backends 60 "$PY" -m tinygpt backends --check
step kit 600 "$PY" "${KIT[@]}"
step gpu-only-tests 300 "$PY" -m pytest tests/backends/test_cuda_gpu.py -q -p no:cacheprovider
tools=(memcheck racecheck synccheck)
[ -n "${QUICK:-}" ] && tools=(memcheck)
for tool in "${tools[@]}"; do
    step "sanitizer-$tool" 420 compute-sanitizer --tool "$tool" --error-exitcode 9 \
        "$PY" "${SAN_ARGS[@]}"
done
step tf32 120 env TINYGPT_CUDA_TF32=1 "$PY" -c "
import tinygpt as tg
a = tg.randn(256, 256, device='cuda'); b = tg.randn(256, 256, device='cuda')
exact = (a.to('numpy') @ b.to('numpy')).numpy()
got = (a @ b).numpy()
print('tf32 matmul: max abs difference vs float32', abs(got - exact).max())
"
# The tiled attention kernels (attention_tiled.cu) on the GPU: `check` compares them with the
# numpy backend on shapes with partial tiles (and a race/sync sanitizer pass on the small
# ones); `bench` times forward and backward, tiled against attention.cu's row kernels (and
# PyTorch's SDPA where installed), for GPT-2 small, shakespeare_char and one decode step.
read -r -d '' ATTENTION <<'PYTHON'
import sys, time
import numpy as np
import cupy
from tinygpt.device import Device
from tinygpt.dtypes import statistics_dtype
from tinygpt.testing.helpers import assert_close, random_array, to_ndarray, to_numpy, wrap
from tinygpt_backend_cuda import fused
from tinygpt_backend_cuda.backend import CudaBackend
from tinygpt_backend_numpy.backend import NumpyBackend

gpu, ref = CudaBackend(Device("cuda")), NumpyBackend()
tiled_plan = fused.attention_plan

def inputs(be, shape, dtype):
    b, h, tq, tk, d = shape
    sizes = ((b, h, tq, d), (b, h, tk, d), (b, h, tk, d), (b, h, tq, d))
    return [to_ndarray(be, random_array(s, dtype, -1, 1, seed=n)) for n, s in enumerate(sizes)]

def forward(be, q, k, v, causal):
    out, lse = be.attention(q, k, v, causal, 1 / np.sqrt(q.shape[-1]))
    return wrap(be, out, q.shape, q.dtype), wrap(be, lse, q.shape[:-1], statistics_dtype(q.dtype))

def backward(be, q, k, v, dout, out, lse, causal):
    return be.attention_backward(dout, q, k, v, out, lse, causal, 1 / np.sqrt(q.shape[-1]))

def run(be, shape, dtype, causal):
    q, k, v, dout = inputs(be, shape, dtype)
    out, lse = forward(be, q, k, v, causal)
    grads = backward(be, q, k, v, dout, out, lse, causal)
    shapes = (q.shape, k.shape, k.shape)
    return [to_numpy(out), to_numpy(lse)] + [
        to_numpy(wrap(be, g, s, q.dtype)) for g, s in zip(grads, shapes)]

def check(shapes):
    tol = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-12}
    for shape, causal in shapes:
        for dtype in ("float32", "float16", "float64"):
            got, want = run(gpu, shape, dtype, causal), run(ref, shape, dtype, causal)
            for name, g, w in zip(("out", "lse", "dq", "dk", "dv"), got, want):
                t = tol[str(w.dtype)] if name == "lse" else tol[dtype]
                assert_close(g, w, f"{shape} {dtype} causal={causal}: {name}", t, t)
    print(f"tiled attention: {len(shapes)} shapes x 3 dtypes match numpy")

def elapsed_ms(call, reps=20):
    call()
    start, end = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    for _ in range(reps):
        call()
    end.record()
    end.synchronize()
    return cupy.cuda.get_elapsed_time(start, end) / reps

def bench(shapes):
    for shape, causal in shapes:
        times = {}
        for plan in ("tiled", "rows"):
            fused.attention_plan = tiled_plan if plan == "tiled" else (lambda Tk, D: None)
            q, k, v, dout = inputs(gpu, shape, "float32")
            out, lse = forward(gpu, q, k, v, causal)
            times[plan] = (elapsed_ms(lambda: forward(gpu, q, k, v, causal)),
                           elapsed_ms(lambda: backward(gpu, q, k, v, dout, out, lse, causal)))
        fused.attention_plan = tiled_plan
        line = " ".join(f"{p} fwd {f:.3f} ms bwd {b:.3f} ms;" for p, (f, b) in times.items())
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:  # top-left causal: the same mask only for Tq == Tk or Tq == 1
            b, h, tq, tk, d = shape
            tq_t, tk_t, tv_t = (torch.randn(b, h, t, d, device="cuda", requires_grad=True)
                                for t in (tq, tk, tk))
            sdpa = lambda: torch.nn.functional.scaled_dot_product_attention(
                tq_t, tk_t, tv_t, is_causal=causal and tq == tk)
            grad = torch.randn(b, h, tq, d, device="cuda")
            line += f" torch sdpa fwd {elapsed_ms(sdpa):.3f} ms"
            line += f" fwd+bwd {elapsed_ms(lambda: sdpa().backward(grad)):.3f} ms"
        print(f"attention float32 {shape} causal={causal}: {line}")

small = [((1, 2, 70, 70, 16), True), ((1, 1, 5, 77, 64), True), ((2, 1, 33, 40, 80), False),
         ((3, 2, 65, 97, 40), False), ((1, 1, 9, 35, 128), False)]
if sys.argv[1] == "check":
    check(small + [((2, 3, 300, 300, 64), True), ((1, 2, 130, 1000, 128), True)])
elif sys.argv[1] == "check-small":
    check(small[:2])
else:
    bench([((8, 12, 1024, 1024, 64), True), ((64, 6, 256, 256, 64), True),
           ((12, 12, 1, 1024, 64), True)])
PYTHON
step attention-tiled 300 "$PY" -c "$ATTENTION" check
for tool in racecheck synccheck; do
    step "sanitizer-attention-$tool" 300 compute-sanitizer --tool "$tool" --error-exitcode 9 \
        "$PY" -c "$ATTENTION" check-small
done
step attention-speed 300 "$PY" -c "$ATTENTION" bench
steps=100
[ -n "${QUICK:-}" ] && steps=20
step gpt-speed 900 "$PY" benchmarks/cuda_gpt.py --steps "$steps"
echo "first contact: $failed step(s) failed; log in $LOG" | tee -a "$LOG"
exit "$failed"
