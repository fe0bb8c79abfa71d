"""Anomaly-detection benchmarks on MNIST: the two protocols of the papers, and MNIST
against Fashion-MNIST.

    python benchmarks/anomaly.py                       # leave_one_out, then Fashion-MNIST
    python benchmarks/anomaly.py --digits=0,1 --no-fashion --max_steps=2000   # a quick look
    python benchmarks/anomaly.py --protocol=one_class  # one digit normal, the other nine anomalies
    python benchmarks/anomaly.py --table=docs/results/anomaly_one_class.json  # an earlier table

--protocol=leave_one_out (the default), for each held-out digit d: `train_main.py
--exclude_classes=d` trains the GAN of --flagfile on the other nine digits of the embedded
MNIST subset's training split (3,600 images), then `python -m gan_tf.anomaly` scores the
held-out split, all ten digits (1,000 images, 100 of d), and the AUROC of each score for
"is digit d" is read off the CSV. Fashion-MNIST: a GAN of all ten digits scores the 1,000
held-out digits and the first 1,000 Fashion-MNIST test images (Debian's
dataset-fashion-mnist or --fashion_dir); AUROC for "is Fashion-MNIST". Results:
docs/results/anomaly.json.

--protocol=one_class (benchmarks/anomaly_one_class.py), for each class c and seed: the GAN
trained on c's training images only (400 on the embedded subset; --dataset=mnist
--data_dir=DIR with mnist.npz for full MNIST's ~6,000; --dataset=fashion_mnist for full
Fashion-MNIST's 6,000, from Debian's dataset-fashion-mnist or --data_dir), the held-out split
scored, the AUROC of "is not c", beside k-nearest neighbours on the pixels. Results:
docs/results/anomaly_one_class.json (anomaly_fashion_one_class.json for Fashion-MNIST),
written after each run; a rerun with the same settings resumes. Either way a markdown table
is printed.

    python benchmarks/anomaly.py --protocol=one_class --dataset=fashion_mnist --seeds=0,1,2
"""
import argparse
import os
import shlex
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import anomaly_one_class, anomaly_runs, quality  # noqa: E402
from benchmarks.results_file import check_out  # noqa: E402
from gan_tf import data as data_lib  # noqa: E402
from gan_tf.applications import anomaly
from gan_tf.errors import DataError  # noqa: E402

RESULTS = {"leave_one_out": "anomaly.json", "one_class": "anomaly_one_class.json",
           "one_class_fashion_mnist": "anomaly_fashion_one_class.json"}
# Training steps per run. One class of MNIST's subset: 400 images, so 2,000 steps are 160
# epochs; 1,500 and 4,000 gave the same feature-score AUROCs on digits 2, 5 and 8. One class
# of Fashion-MNIST: 6,000 images, 2,000 steps are 10.7 epochs; 1,000 to 4,000 steps scored
# alike on classes 0 and 6, the classes these settings were chosen on (docs/anomaly.md).
MAX_STEPS = {"leave_one_out": 4000, "one_class": 2000, "one_class_fashion_mnist": 2000}
# The feature score's k: 5 on MNIST's 400 or 3,600 training images; on Fashion-MNIST's 6,000
# per class, k from 5 to 1,000 rose steadily on classes 0 and 6 (0.934 -> 0.953, 0.821 ->
# 0.827), as did the inversion's AUROC from 200 Adam steps to 50 (0.841 -> 0.854, class 0),
# at a quarter of its 210 s for the 10,000 test images.
FEATURES_K = {"one_class_fashion_mnist": 1000}
INVERSION_STEPS = {"one_class_fashion_mnist": 50}
FASHION_HINT = ("Fashion-MNIST's IDX files: apt-get install dataset-fashion-mnist (Debian, "
                "offline from its package mirror), or --data_dir=DIR holding the four .gz files")


def table(results):
    """Markdown of a leave_one_out results file: one row per held-out digit, the mean,
    and MNIST against Fashion-MNIST: the scores the file holds."""
    first = (results["digits"] or [results.get("fashion") or {"auroc": {}}])[0]["auroc"]
    names = [n for n in anomaly.SCORES if n in first]
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


def any_table(results):
    """The table of either protocol's results file."""
    if results.get("protocol") != "one_class":
        return table(results)
    published = anomaly_one_class.published_table(results)
    return anomaly_one_class.table(results) + ("\n\n" + published if published else "")


def leave_one_out(args, results):
    """Each digit of args.digits left out of training in turn, then Fashion-MNIST."""
    held_out = data_lib.load_mnist_5k()
    if args.fashion:  # fail now, not after the digit runs
        fashion = data_lib.load_fashion_mnist(args.fashion_dir, allow_download=False)
    results.update(protocol="leave_one_out", digits=[])
    for d in args.classes:
        run_dir = os.path.join(args.work_dir, f"without_{d}")
        train_s = anomaly_runs.train(args.flagfile, args.max_steps, args.seeds[0], run_dir, [d],
                                     extra=args.train_flags)
        rows, score_s = anomaly_runs.score(run_dir, os.path.join(args.work_dir, f"without_{d}.csv"),
                                           args.inversion_steps, features_k=args.features_k,
                                           scores=args.scores)
        result = {"digit": d, "auroc": anomaly_runs.aurocs(rows, held_out.test_labels == d),
                  "train_seconds": round(train_s, 1), "score_seconds": round(score_s, 1)}
        results["digits"].append(result)
        print(f"digit {d}: " + ", ".join(f"{k} {v:.3f}" for k, v in result["auroc"].items()),
              flush=True)
    if results["digits"]:
        results["mean_auroc"] = {n: float(np.mean([r["auroc"][n] for r in results["digits"]]))
                                 for n in results["digits"][0]["auroc"]}
    if args.fashion:
        run_dir = os.path.join(args.work_dir, "all_digits")
        train_s = anomaly_runs.train(args.flagfile, args.max_steps, args.seeds[0], run_dir,
                                     extra=args.train_flags)
        mnist = held_out.test_images
        images = np.concatenate([mnist, fashion.test_images[:len(mnist)]])
        path = os.path.join(args.work_dir, "mnist_and_fashion.npy")
        np.save(path, images)
        rows, score_s = anomaly_runs.score(run_dir, os.path.join(args.work_dir,
                                                                 "mnist_and_fashion.csv"),
                                           args.inversion_steps, images=path,
                                           features_k=args.features_k, scores=args.scores)
        positive = np.arange(len(images)) >= len(mnist)
        results["fashion"] = {"auroc": anomaly_runs.aurocs(rows, positive),
                              "train_seconds": round(train_s, 1),
                              "score_seconds": round(score_s, 1)}
        print("MNIST vs Fashion-MNIST: " + ", ".join(
            f"{k} {v:.3f}" for k, v in results["fashion"]["auroc"].items()), flush=True)
    anomaly_one_class.save(args.out, results)
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=sorted(RESULTS), default="leave_one_out")
    parser.add_argument("--flagfile", default=os.path.join(ROOT, "flags", "dcgan_cpu.cfg"))
    parser.add_argument("--max_steps", type=positive, default=None,
                        help="training steps per run (default: " + ", ".join(
                            f"{p} {n}" for p, n in MAX_STEPS.items()) + ")")
    parser.add_argument("--inversion_steps", type=positive, default=None,
                        help=f"default {anomaly.InversionOptions.steps}, "
                        + ", ".join(f"{k} {v}" for k, v in INVERSION_STEPS.items()))
    parser.add_argument("--features_k", type=positive, default=None,
                        help="nearest training images the feature score averages over "
                        f"(default {anomaly.FEATURE_NEIGHBOURS}, "
                        + ", ".join(f"{k} {v}" for k, v in FEATURES_K.items()) + ")")
    parser.add_argument("--train_flags", type=shlex.split, default=[],
                        help='more flags for train_main.py, e.g. "--g_ema=0.999"')
    parser.add_argument("--classes", "--digits", dest="classes", type=digit_list,
                        default=list(range(10)), help="the normal (one_class) or held-out "
                        "(leave_one_out) classes, e.g. 0,6 (--digits: the older name)")
    parser.add_argument("--seeds", "--seed", dest="seeds", type=seed_list, default=[0],
                        help="one_class: a run per class and seed, e.g. 0,1,2")
    parser.add_argument("--scores", type=score_list, default=list(anomaly.BASE_SCORES),
                        help="scores of gan_tf.anomaly to compute (default "
                        + ",".join(anomaly.BASE_SCORES) + "; rotation too needs "
                        '--train_flags="--rotation_weight=W")')
    parser.add_argument("--knn", action=argparse.BooleanOptionalAction, default=True,
                        help="one_class: k-nearest neighbours on the pixels beside the GAN")
    parser.add_argument("--knn_k", type=positive, default=5,
                        help="the pixel baseline's k (Euclidean distance, mean over the k "
                        "nearest training images; 5, as scikit-learn's default)")
    parser.add_argument("--dataset", choices=("mnist_5k", "mnist", "fashion_mnist"),
                        default="mnist_5k", help="one_class only; mnist: full MNIST from "
                        "--data_dir; fashion_mnist: full Fashion-MNIST (" + FASHION_HINT + ")")
    parser.add_argument("--data_dir", default=None,
                        help="a directory with mnist.npz or the four IDX .gz files")
    parser.add_argument("--fashion", action=argparse.BooleanOptionalAction, default=True,
                        help="leave_one_out only: MNIST against Fashion-MNIST too")
    parser.add_argument("--fashion_dir", default=None)
    parser.add_argument("--work_dir", default=None, help="the runs' folder (default: beside "
                        "--out, OUT_runs; never a fixed name in /tmp, where another user "
                        "could have put links)")
    parser.add_argument("--out", default=None, help="JSON results (default docs/results/...)")
    parser.add_argument("--table", default=None, help="only print the table of this results file")
    args = parser.parse_args(argv)
    if args.protocol == "leave_one_out" and (args.dataset != "mnist_5k" or args.data_dir):
        parser.error("--dataset and --data_dir are for --protocol=one_class")
    if args.protocol == "leave_one_out" and len(args.seeds) > 1:
        parser.error("--seeds: leave_one_out runs one seed")
    if args.data_dir and not os.path.isdir(args.data_dir):
        parser.error(f"--data_dir={args.data_dir}: no such directory")
    if not os.path.isfile(args.flagfile):
        parser.error(f"--flagfile={args.flagfile}: no such file")
    head_scores = [n for n in args.scores if n in anomaly.HEAD_SCORES]
    if head_scores and not trains_rotation_head(args.flagfile, args.train_flags):
        parser.error(f"--scores={','.join(head_scores)} needs the rotation head: add "
                     '--train_flags="--rotation_weight=1" (or set it in the flagfile)')
    kind = args.protocol + ("_fashion_mnist" if args.dataset == "fashion_mnist" else "")
    args.out = args.out or os.path.join(ROOT, "docs", "results", RESULTS[kind])
    if not args.table:
        check_out("out", args.out)
    args.work_dir = args.work_dir or os.path.splitext(args.out)[0] + "_runs"
    args.max_steps = args.max_steps or MAX_STEPS[kind]
    args.features_k = args.features_k or FEATURES_K.get(kind, anomaly.FEATURE_NEIGHBOURS)
    args.inversion_steps = args.inversion_steps or INVERSION_STEPS.get(
        kind, anomaly.InversionOptions.steps)
    return args


def trains_rotation_head(flagfile, train_flags):
    """Whether the runs will have D's rotation head: the last --rotation_weight of the
    flagfile's lines then of `train_flags` is above 0 (a check before any training; the
    training command decides for good)."""
    given = [flag.split("=", 1)[1] for flag in train_flags
             if flag.startswith("--rotation_weight=")]
    values = quality.flag_values(flagfile, "rotation_weight") + given
    try:
        return bool(values) and float(values[-1]) > 0
    except ValueError:  # train_main.py will say what is wrong with it
        return False


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def digit_list(text):
    digits = [int(d) for d in text.split(",") if d.strip()]
    if not digits or len(set(digits)) != len(digits) or not all(0 <= d <= 9 for d in digits):
        raise argparse.ArgumentTypeError(f"distinct classes 0 to 9, comma-separated, not {text!r}")
    return digits


def seed_list(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds) or not all(0 <= s < 2**31 for s in seeds):
        raise argparse.ArgumentTypeError(f"distinct seeds >= 0, comma-separated, not {text!r}")
    return seeds


def score_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or len(set(names)) != len(names) or not set(names) <= set(anomaly.SCORES):
        raise argparse.ArgumentTypeError(
            f"distinct scores of {', '.join(anomaly.SCORES)}, comma-separated, not {text!r}")
    return [n for n in anomaly.SCORES if n in names]


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        try:
            results = anomaly_one_class.load(args.table)
        except (ValueError, UnicodeDecodeError, OSError) as e:
            raise SystemExit(f"anomaly.py: error: {e}") from None
        if results is None:
            raise SystemExit(f"anomaly.py: error: --table={args.table}: no such file")
        print(any_table(results))
        return
    os.makedirs(args.work_dir, exist_ok=True)
    argv = sys.argv[1:] if argv is None else argv
    header = {"command": "python benchmarks/anomaly.py " + " ".join(argv),
              "flagfile": os.path.relpath(args.flagfile, ROOT), "max_steps": args.max_steps,
              "inversion_steps": args.inversion_steps,
              "machine": anomaly_runs.machine()}
    try:
        if args.protocol == "one_class":
            results = anomaly_one_class.run(args, header)
        else:
            results = leave_one_out(args, {**header, "seed": args.seeds[0]})
    except DataError as e:
        hint = f" ({FASHION_HINT})" if "Fashion-MNIST" in str(e) else ""
        raise SystemExit(f"anomaly.py: error: {e}{hint}") from None
    print(any_table(results))


if __name__ == "__main__":
    main()
