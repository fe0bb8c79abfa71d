"""The one-class protocol of benchmarks/anomaly.py (Deep SVDD's and OCGAN's): for each digit
d, a GAN trained on d's training images only, the held-out split scored, and the AUROC of
"is not d" (the other nine digits are the anomalies) for every score of gan_tf.anomaly."""
import json
import os
import time

import numpy as np

from benchmarks import anomaly_runs
from gan_tf.applications import anomaly

NUM_CLASSES = 10


def run_digit(args, data, digit):
    """Trains on `digit` alone, scores the held-out split; the digit's result."""
    run_dir = os.path.join(args.work_dir, f"only_{digit}")
    others = [c for c in range(NUM_CLASSES) if c != digit]
    train_s = anomaly_runs.train(args.flagfile, args.max_steps, args.seed, run_dir, exclude=others,
                                 dataset=args.dataset, data_dir=args.data_dir,
                                 extra=args.train_flags)
    rows, score_s = anomaly_runs.score(run_dir, os.path.join(args.work_dir, f"only_{digit}.csv"),
                                       args.inversion_steps, features_k=args.features_k)
    labels = np.array([int(r["label"]) for r in rows])
    return {"digit": digit, "auroc": anomaly_runs.aurocs(rows, labels != digit),
            "train_images": int(np.sum(data.train_labels == digit)),
            "test_images": len(labels), "test_normal": int(np.sum(labels == digit)),
            "train_seconds": round(train_s, 1), "score_seconds": round(score_s, 1)}


def summarize(header, digits, total_seconds):
    """The results document: `header`, each digit's result, and for each score its
    per-digit AUROCs and their mean."""
    per_score = {name: {"per_digit": {str(r["digit"]): r["auroc"][name] for r in digits},
                        "mean_auroc": float(np.mean([r["auroc"][name] for r in digits]))}
                 for name in anomaly.SCORES} if digits else {}
    return {**header, "protocol": "one_class", "digits": digits, "auroc": per_score,
            "total_seconds": round(total_seconds, 1)}


def save(out, results):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)


def table(results):
    """Markdown: a line naming the data, then one row per normal digit and the mean."""
    names = list(results["auroc"])
    counts = [r["train_images"] for r in results["digits"]]
    per_class = f"{min(counts):,}" + ("" if min(counts) == max(counts) else f" to {max(counts):,}")
    lines = [f"AUROC of \"is not the normal digit\", {results['dataset']} ({per_class} training "
             f"images per class), {results['max_steps']:,} steps, features k="
             f"{results['features_k']}; {results['machine']['cpu']}, "
             f"{results['machine']['cores']} cores, {results['total_seconds'] / 60:.1f} min "
             "in all.",
             "",
             "| normal digit | training images | " + " | ".join(names) + " | train s | score s |",
             "|---" * (len(names) + 4) + "|"]
    for r in results["digits"]:
        lines.append(f"| {r['digit']} | {r['train_images']:,} | "
                     + " | ".join(f"{r['auroc'][n]:.3f}" for n in names)
                     + f" | {r['train_seconds']:.0f} | {r['score_seconds']:.0f} |")
    lines.append("| **mean** | | " + " | ".join(
        f"**{results['auroc'][n]['mean_auroc']:.3f}**" for n in names) + " | | |")
    return "\n".join(lines)


def run(args, header):
    """Every digit of args.digits in turn; the results file is rewritten after each."""
    from gan_tf import data as data_lib
    data = data_lib.load(args.dataset, args.data_dir, allow_download=False)
    header = {**header, "dataset": data.name, "data_source": data.source,
              "features_k": args.features_k, "train_flags": args.train_flags}
    start, digits = time.perf_counter(), []
    for d in args.digits:
        digit_start = time.perf_counter()
        digits.append(run_digit(args, data, d))
        digits[-1]["seconds"] = round(time.perf_counter() - digit_start, 1)  # wall, all in
        print(f"normal digit {d}: " + ", ".join(f"{k} {v:.3f}" for k, v in
                                                digits[-1]["auroc"].items()), flush=True)
        results = summarize(header, digits, time.perf_counter() - start)
        save(args.out, results)
    return results
