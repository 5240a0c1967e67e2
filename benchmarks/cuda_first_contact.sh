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
steps=100
[ -n "${QUICK:-}" ] && steps=20
step gpt-speed 900 "$PY" benchmarks/cuda_gpt.py --steps "$steps"
echo "first contact: $failed step(s) failed; log in $LOG" | tee -a "$LOG"
exit "$failed"
