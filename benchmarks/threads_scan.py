"""Training speed of gan_tf's step with one thread per op against TensorFlow's default,
over MLP batch sizes and widths, the bfloat16 and XLA MLP steps, the tutorial's DCGAN,
the CPU flagfiles' DCGAN over batch and width in bfloat16 and float32, and the wide MLP
flagfile's networks with and without bCR: the measurements
behind --intra_op_threads=auto's rule (gan_tf.training.threads).

    python benchmarks/threads_scan.py [--rounds=3] [--seconds=3] [--report=FILE.json]
        [--cells=dcgancpu,mlp/b100]   # only the cells whose GROUP/VARIANT starts so

Each cell runs `variant@0` (TensorFlow's default threads per op) and `variant@1` in two
processes of their own that take turns (benchmarks/throughput.py's workers), median
steps/s over the rounds; keep the machine otherwise idle.
"""
import argparse
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import throughput  # noqa: E402
from benchmarks.results_file import check_out  # noqa: E402
from gan_tf import models  # noqa: E402
from gan_tf.training import threads  # noqa: E402

# (group, variant): the default MLP up through batch and width, then other steps.
CELLS = (("mlp/b100", "gan_tf"), ("mlp/b256", "gan_tf"), ("mlp/b512", "gan_tf"),
         ("mlp/b1024", "gan_tf"), ("mlp/b128/w512", "gan_tf"), ("mlp/b100/w1024", "gan_tf"),
         ("mlp/b100", "gan_tf_bf16"), ("mlp/b100", "gan_tf_xla"), ("dcgan/b64", "gan_tf"),
         # the CPU flagfiles' DCGAN ("dcgancpu": batch 32, channels 64,32 / 32,64) up
         # through batch and width in bfloat16, in float32, and the tutorial's in bfloat16
         ("dcgancpu/b32", "gan_tf_bf16"), ("dcgancpu/b64", "gan_tf_bf16"),
         ("dcgancpu/b128", "gan_tf_bf16"), ("dcgancpu/b256", "gan_tf_bf16"),
         ("dcgancpu/b32/x2", "gan_tf_bf16"), ("dcgancpu/b32/x4", "gan_tf_bf16"),
         ("dcgancpu/b32", "gan_tf"), ("dcgan/b64", "gan_tf_bf16"),
         # the wide MLP flagfile's networks (G 256-512-1024, D 1024-512) with bCR's extra
         # D pass ("mlpbcr") through batch in bfloat16 and float32, and without it
         ("mlpbcr/b64", "gan_tf_bf16"), ("mlpbcr/b128", "gan_tf_bf16"),
         ("mlpbcr/b256", "gan_tf_bf16"), ("mlpbcr/b512", "gan_tf_bf16"),
         ("mlpbcr/b64", "gan_tf"), ("mlpbcr/b128", "gan_tf"), ("mlpbcr/b256", "gan_tf"),
         ("mlpwide/b128", "gan_tf_bf16"), ("mlpwide/b128", "gan_tf"))


def row(group, variant, medians):
    """A cell's result: both rates, their ratio, the step's size and what auto picks."""
    cfg = throughput.gan_tf_config(group, variant)
    default, one = medians[f"{group}/{variant}@0"], medians[f"{group}/{variant}@1"]
    return {"steps_per_sec_default": round(default, 2), "steps_per_sec_1": round(one, 2),
            "one_over_default": round(one / default, 3),
            "batch_x_widest": cfg.batch_size * (models.widest_hidden(cfg)
                                                or models.widest_channels(cfg)),
            "auto": threads.resolve(cfg, accelerator=False, environ={})[0]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--report")
    p.add_argument("--cells", default="", help="only the cells whose GROUP/VARIANT starts "
                   "with one of these comma-separated prefixes (default: all)")
    args = p.parse_args()
    check_out("report", args.report)
    prefixes = tuple(filter(None, args.cells.split(",")))
    rows = {}
    for group, variant in CELLS:
        if prefixes and not f"{group}/{variant}".startswith(prefixes):
            continue
        medians, _, _ = throughput.measure({group: (f"{variant}@0", f"{variant}@1")},
                                           args.rounds, args.seconds, {}, quick=False)
        rows[f"{group}/{variant}"] = row(group, variant, medians)
        print(f"{group}/{variant}: {rows[f'{group}/{variant}']}", file=sys.stderr)
    results = {"command": "python benchmarks/threads_scan.py " + " ".join(sys.argv[1:]),
               "cpu": throughput.cpu_flags(), "rounds": args.rounds,
               "seconds_per_measurement": args.seconds, "cells": rows}
    throughput.emit_report(results, args.report)


if __name__ == "__main__":
    main()
