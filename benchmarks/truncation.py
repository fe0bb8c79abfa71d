"""The truncation trick (Brock et al. 2019) as a quality lever: a trained run's default
checkpoint scored on fresh codes drawn from the prior truncated at |z| <= t.

    python benchmarks/truncation.py RUN_DIR [RUN_DIR ...] [--t=2,1.5,1.2,1,0.8] [--out=F.json]

Truncation trades variety for typicality: samples nearer the prior's centre are cleaner
(precision up) and fewer kinds (recall down). t is in the prior's own units: a uniform
prior's codes lie in [-1, 1], so for it only t < 1 truncates (t >= 1 repeats the
untruncated row). Each code is mapped monotonically from the
untruncated one of the same seed (z' = F_t^-1(F(z)), F the normal CDF, F_t the truncated
one; uniform codes scaled by t), so a row shows the same samples pulled inwards. Scored
by gan_tf's evaluator on the codes longer.py serves (the run's seed + FRESH_Z_OFFSET);
t = none is the untruncated prior. Not a training option: a probe of whether sampling
nearer the centre would buy issue 28's classifier score (docs/quality.md).
"""
import argparse
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.longer import served  # noqa: E402
from benchmarks.results_file import check_out, write_json  # noqa: E402
from benchmarks.sweep import cpu_name  # noqa: E402

KEYS = ("classifier_score", "modes", "recall", "precision", "frechet_distance")


def truncate(z, t, distribution):
    """Codes `z` of `distribution` mapped into |z| <= t (each coordinate, monotonically)."""
    import tensorflow as tf
    if distribution == "uniform":
        return z * min(t, 1.0)
    z = tf.cast(z, tf.float64)
    lo = 0.5 * math.erfc(t / math.sqrt(2.0))  # normal CDF at -t
    u = 0.5 * tf.math.erfc(-z / math.sqrt(2.0))  # normal CDF at z
    return tf.cast(tf.math.ndtri(lo + (1.0 - 2.0 * lo) * u), tf.float32)


def measure(run_dir, levels):
    """{t: metrics} of the run's default checkpoint on fresh codes truncated at each t."""
    config, generator, evaluator, path = served(run_dir)
    prior = evaluator.z
    rows = []
    for t in [None, *levels]:
        evaluator.z = prior if t is None else truncate(prior, t, config.z_distribution)
        scores = evaluator(generator)
        rows.append({"t": t, **{k: round(float(scores[k]), 4) for k in KEYS}})
        print(json.dumps({"run": run_dir, **rows[-1]}), flush=True)
    return {"run_dir": run_dir, "checkpoint": os.path.basename(path), "seed": config.seed,
            "z_distribution": config.z_distribution,
            "samples": int(prior.shape[0]), "levels": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--t", default="2,1.5,1.2,1,0.8", help="truncation levels")
    parser.add_argument("--out", default=None, help="JSON results")
    args = parser.parse_args()
    try:
        levels = [float(t) for t in args.t.split(",")]
    except ValueError:
        parser.error(f"--t={args.t}: give comma-separated numbers")
    if any(not t > 0 for t in levels):
        parser.error("--t: levels must be positive")
    check_out("out", args.out)  # before the work, not after it
    from gan_tf import __version__
    from gan_tf.errors import ClassifierError, DataError, RunError
    try:
        runs = [measure(d, levels) for d in args.run_dirs]
    except (RunError, DataError, ClassifierError, OSError) as e:
        raise SystemExit(f"truncation.py: {e}") from None
    doc = {"command": "python " + " ".join(sys.argv), "cpu": cpu_name(),
           "date": time.strftime("%Y-%m-%d"), "code": f"gan_tf {__version__}", "runs": runs}
    if args.out:
        write_json(args.out, doc)


if __name__ == "__main__":
    main()
