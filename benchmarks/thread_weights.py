"""Does the thread count change a step's numbers? Trains a network of benchmarks/throughput.py's
groups for a few steps at one thread per op and at two, each in a fresh process, and
compares the weights bitwise: where they differ, a run resumed at another count goes on
differently (which is why config.json records the count and a resumed run keeps it,
gan_tf.training.threads).

    python benchmarks/thread_weights.py [--steps=60] [--cells=mlp/b100/gan_tf,...]
        [--report=FILE.json]

Each cell is GROUP/VARIANT as in benchmarks/threads_scan.py; floating-point results
depend on the CPU, so the report names it.
"""
import argparse
import hashlib
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = ("mlp/b100/gan_tf", "mlpwide/b128/gan_tf", "mlpbcr/b128/gan_tf",
         "mlpwide/b128/gan_tf_bf16", "mlpbcr/b128/gan_tf_bf16", "dcgancpu/b32/gan_tf_bf16")


def digest(cell, threads_per_op, steps):
    """In this process: trains `cell` with `threads_per_op` for `steps` steps; returns
    the sha256 of its weights' bytes."""
    sys.path.insert(0, ROOT)
    from benchmarks import throughput
    from gan_tf.training import threads
    group, variant = cell.rsplit("/", 1)
    config = throughput.gan_tf_config(group, f"{variant}@{threads_per_op}")
    threads.configure(config)  # before any TensorFlow work, as train() does
    import tensorflow as tf
    from gan_tf import data, models
    from gan_tf.training import distribute
    from gan_tf.training.steps import GANTrainer
    tf.random.set_seed(0)
    g, d = models.build(config, distribute.compute_dtype(config, tf.distribute.get_strategy()))
    trainer = GANTrainer(config, g, d)
    images = data.load_mnist_5k().train_images
    trainer.train_steps(iter(data.make_dataset(images, config.batch_size, seed=0)),
                        tf.constant(steps, tf.int64))
    return hashlib.sha256(b"".join(v.numpy().tobytes()
                                   for v in g.variables + d.variables)).hexdigest()


def in_child(cell, threads_per_op, steps):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
           "TF_NUM_INTRAOP_THREADS": ""}
    result = subprocess.run([sys.executable, __file__, "--child", cell, str(threads_per_op),
                             str(steps)], capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip().splitlines()[-1]


def main():
    if sys.argv[1:2] == ["--child"]:
        print(digest(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--report")
    args = p.parse_args()
    sys.path.insert(0, ROOT)
    from benchmarks.results_file import check_out
    check_out("report", args.report)
    from benchmarks.throughput import cpu_flags, emit_report
    cells = {}
    for cell in filter(None, args.cells.split(",")):
        one, two = (in_child(cell, n, args.steps) for n in (1, 2))
        cells[cell] = {"same_weights": one == two, "one_thread": one[:16], "two": two[:16]}
        print(f"{cell}: {'the same' if one == two else 'different'}", file=sys.stderr)
    report = {"command": "python benchmarks/thread_weights.py " + " ".join(sys.argv[1:]),
              "cpu": cpu_flags(), "steps": args.steps, "cells": cells}
    emit_report(report, args.report)


if __name__ == "__main__":
    main()
