#!/bin/bash
# Steps/s of a flagfile's run at 1 and at 2 threads per op (--intra_op_threads), in
# alternating processes, at --mixed_precision=auto and =off: each run trains 3,000 steps
# without evaluation into a scratch folder; the rate is the mean of the progress rates
# metrics.jsonl logs after step 1,000 (start-up and tracing left out).
#
#     bash benchmarks/flagfile_threads.sh [FLAGFILE] [ROUNDS]   # default dcgan_info20_cpu, 3
#     PRECISIONS="bfloat16 off" EXTRA_FLAGS="--bcr_weight=0" bash benchmarks/flagfile_threads.sh \
#         flags/mlp_info_wide_bcr.cfg 2    # other --mixed_precision values, flags added
#
# Keep the machine otherwise idle; the numbers are only comparable within one run.
set -euo pipefail
flagfile=${1:-flags/dcgan_info20_cpu.cfg}
rounds=${2:-3}
python=${PYTHON:-python}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
grep -m1 "model name" /proc/cpuinfo || true
read -r -a extra <<< "${EXTRA_FLAGS:-}"
for precision in ${PRECISIONS:-auto off}; do
  for round in $(seq 1 "$rounds"); do
    for threads in 1 2; do
      run="$scratch/${precision}_${threads}_$round"
      "$python" train_main.py --flagfile="$flagfile" --dataset=mnist_5k --max_steps=3000 \
        --eval_every=100000 --eval_samples=0 --intra_op_threads="$threads" --mixed_precision="$precision" \
        --output_dir="$run" "${extra[@]}" > "$run.log" 2>&1
      "$python" - "$run/metrics.jsonl" "$precision" "$threads" "$round" <<'PY'
import json, sys
path, precision, threads, round_ = sys.argv[1:]
with open(path) as f:
    rates = [r["steps_per_sec"] for r in map(json.loads, f) if r["step"] > 1000]
print(f"mixed_precision={precision} intra_op_threads={threads} round {round_}: "
      f"{sum(rates) / len(rates):.1f} steps/s (mean of {len(rates)} logged rates)")
PY
    done
  done
done
