"""Anomaly-detection benchmark: the MNIST protocol of the GAN anomaly papers, and
MNIST against Fashion-MNIST.

    python benchmarks/anomaly.py                       # all ten digits, then Fashion-MNIST
    python benchmarks/anomaly.py --digits=0,1 --no-fashion --max_steps=2000   # a quick look

For each held-out digit d: `train_main.py --exclude_classes=d` trains the GAN of
--flagfile on the other nine digits of the embedded MNIST subset's training split
(3,600 images), then `python -m gan_tf.anomaly` scores the held-out split, all ten
digits (1,000 images, 100 of d), and the AUROC of each score for "is digit d" is
read off the CSV. Fashion-MNIST: a GAN of all ten digits scores the 1,000 held-out
digits and the first 1,000 Fashion-MNIST test images (Debian's dataset-fashion-mnist
or --fashion_dir); AUROC for "is Fashion-MNIST". Results go to
docs/results/anomaly.json and a markdown table is printed.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gan_tf import anomaly, data as data_lib, metrics  # noqa: E402


def train(flagfile, max_steps, seed, out_dir, exclude=None):
    cmd = [sys.executable, os.path.join(ROOT, "train_main.py"), f"--flagfile={flagfile}",
           "--dataset=mnist_5k", f"--max_steps={max_steps}", "--eval_samples=0",
           f"--seed={seed}", f"--output_dir={out_dir}", "--overwrite"]
    if exclude is not None:
        cmd.append(f"--exclude_classes={exclude}")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def score(run_dir, out_csv, inversion_steps, images=None):
    cmd = [sys.executable, "-m", "gan_tf.anomaly", f"--run_dir={run_dir}", f"--out={out_csv}",
           f"--inversion_steps={inversion_steps}", "--overwrite"]
    if images:
        cmd.append(f"--images={images}")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    with open(out_csv, newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    return rows, time.perf_counter() - t0


def aurocs(rows, positive):
    return {name: metrics.auroc([float(r[name]) for r in rows], positive)
            for name in anomaly.SCORES}


def table(results):
    names = anomaly.SCORES
    lines = ["| held-out digit | " + " | ".join(names) + " | train s | score s |",
             "|---" * (len(names) + 3) + "|"]
    for r in results["digits"]:
        lines.append(f"| {r['digit']} | " + " | ".join(f"{r['auroc'][n]:.3f}" for n in names)
                     + f" | {r['train_seconds']:.0f} | {r['score_seconds']:.0f} |")
    if results["digits"]:
        lines.append("| **mean** | " + " | ".join(f"**{results['mean_auroc'][n]:.3f}**"
                                                  for n in names) + " | | |")
    if results.get("fashion"):
        r = results["fashion"]
        lines.append("| MNIST vs Fashion-MNIST | " + " | ".join(
            f"{r['auroc'][n]:.3f}" for n in names)
            + f" | {r['train_seconds']:.0f} | {r['score_seconds']:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flagfile", default=os.path.join(ROOT, "flags", "dcgan_cpu.cfg"))
    parser.add_argument("--max_steps", type=int, default=4000)
    parser.add_argument("--inversion_steps", type=int, default=anomaly.InversionOptions.steps)
    parser.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--fashion", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--fashion_dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work_dir", default="/tmp/gan_tf_anomaly_bench")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "anomaly.json"))
    args = parser.parse_args()
    digits = [int(d) for d in args.digits.split(",") if d != ""]
    os.makedirs(args.work_dir, exist_ok=True)
    held_out = data_lib.load_mnist_5k()
    if args.fashion:  # fail now, not after the digit runs
        fashion = data_lib.load_fashion_mnist(args.fashion_dir, allow_download=False)

    results = {"command": "python benchmarks/anomaly.py " + " ".join(sys.argv[1:]),
               "flagfile": os.path.relpath(args.flagfile, ROOT), "max_steps": args.max_steps,
               "inversion_steps": args.inversion_steps, "seed": args.seed,
               "machine": f"{os.cpu_count()} CPU cores", "digits": []}
    for d in digits:
        run_dir = os.path.join(args.work_dir, f"without_{d}")
        train_s = train(args.flagfile, args.max_steps, args.seed, run_dir, exclude=d)
        rows, score_s = score(run_dir, os.path.join(args.work_dir, f"without_{d}.csv"),
                              args.inversion_steps)
        result = {"digit": d, "auroc": aurocs(rows, held_out.test_labels == d),
                  "train_seconds": round(train_s, 1), "score_seconds": round(score_s, 1)}
        results["digits"].append(result)
        print(f"digit {d}: " + ", ".join(f"{k} {v:.3f}" for k, v in result["auroc"].items()),
              flush=True)
    if results["digits"]:
        results["mean_auroc"] = {n: float(np.mean([r["auroc"][n] for r in results["digits"]]))
                                 for n in anomaly.SCORES}
    if args.fashion:
        run_dir = os.path.join(args.work_dir, "all_digits")
        train_s = train(args.flagfile, args.max_steps, args.seed, run_dir)
        mnist = held_out.test_images
        images = np.concatenate([mnist, fashion.test_images[:len(mnist)]])
        path = os.path.join(args.work_dir, "mnist_and_fashion.npy")
        np.save(path, images)
        rows, score_s = score(run_dir, os.path.join(args.work_dir, "mnist_and_fashion.csv"),
                              args.inversion_steps, images=path)
        positive = np.arange(len(images)) >= len(mnist)
        results["fashion"] = {"auroc": aurocs(rows, positive), "train_seconds": round(train_s, 1),
                              "score_seconds": round(score_s, 1)}
        print("MNIST vs Fashion-MNIST: " + ", ".join(
            f"{k} {v:.3f}" for k, v in results["fashion"]["auroc"].items()), flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(table(results))


if __name__ == "__main__":
    main()
