"""What both anomaly benchmarks (benchmarks/anomaly.py's protocols) run: a training
command, the anomaly command on its run, the AUROCs read off its CSV, and the machine."""
import csv
import os
import subprocess
import sys
import time

from gan_tf.applications import anomaly
from gan_tf.evaluation import metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cmd, what):
    """Runs cmd; its error's last lines, not a traceback, if it fails. Seconds taken."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n"
                         + "\n".join(done.stderr.strip().splitlines()[-5:]))
    return time.perf_counter() - t0


def train(flagfile, max_steps, seed, out_dir, exclude=(), dataset="mnist_5k", data_dir=None,
          extra=()):
    """train_main.py on `dataset` without the classes `exclude`; seconds taken."""
    cmd = [sys.executable, os.path.join(ROOT, "train_main.py"), f"--flagfile={flagfile}",
           f"--dataset={dataset}", f"--max_steps={max_steps}", "--eval_samples=0",
           f"--seed={seed}", f"--output_dir={out_dir}", "--overwrite", *extra]
    if data_dir:
        cmd.append(f"--data_dir={data_dir}")
    if exclude:
        cmd.append("--exclude_classes=" + ",".join(str(c) for c in exclude))
    return _run(cmd, f"training {out_dir}")


def score(run_dir, out_csv, inversion_steps, images=None, features_k=anomaly.FEATURE_NEIGHBOURS,
          scores=anomaly.BASE_SCORES):
    """`python -m gan_tf.anomaly` on the run with `scores`: (its CSV rows in image order,
    seconds taken)."""
    cmd = [sys.executable, "-m", "gan_tf.anomaly", f"--run_dir={run_dir}", f"--out={out_csv}",
           f"--inversion_steps={inversion_steps}", f"--features_k={features_k}",
           "--scores=" + ",".join(scores), "--overwrite"]
    if images:
        cmd.append(f"--images={images}")
    seconds = _run(cmd, f"scoring {run_dir}")
    with open(out_csv, newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    return rows, seconds


def aurocs(rows, positive):
    """{score: AUROC of the rows' scores for `positive` (the anomalies)}, for each score
    of gan_tf.anomaly the rows hold."""
    return {name: metrics.auroc([float(r[name]) for r in rows], positive)
            for name in anomaly.SCORES if rows and name in rows[0]}


def machine():
    """{"cpu": lscpu's model name, "cores": CPUs this process sees}."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")]
    return {"cpu": names[0] if names else "unknown CPU", "cores": os.cpu_count()}
