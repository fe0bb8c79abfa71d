"""The one-class protocol of benchmarks/anomaly.py (Deep SVDD's, OCGAN's, GEOM's, GOAD's):
for each class c, a GAN trained on c's training images only, the held-out split scored,
and the AUROC of "is not c" (the other nine classes are the anomalies) for every score of
gan_tf.anomaly and for k-nearest neighbours on the raw pixels (no GAN), over one or more
seeds. Each (class, seed) run is written to the results file as it ends; a rerun with the
same settings skips what the file already holds."""
import hashlib
import json
import os
import time

import numpy as np

from benchmarks import anomaly_runs
from gan_tf import fileio
from gan_tf.applications import anomaly
from gan_tf.evaluation import metrics

NUM_CLASSES = 10
KNN = "knn_pixels"  # the baseline's name among the scores
MAX_RESULTS_BYTES = 10 * 2**20  # a results file is a few tens of kB

CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                      "sneaker", "bag", "ankle boot"),
}

# Published one-class Fashion-MNIST results (AUROC x 100; train on one class's 6,000
# training images, the 10,000 test images scored). (method, per class or None, mean, source)
PUBLISHED = {
    "fashion_mnist": (
        ("GEOM (Golan & El-Yaniv 2018)",
         (99.4, 97.6, 91.1, 89.9, 92.1, 93.4, 83.3, 98.9, 90.8, 99.2), 93.5,
         "GEOM Table 1, copied in GOAD Table 2"),
        ("GOAD (Bergman & Hoshen 2020)",
         (94.1, 98.5, 90.8, 91.6, 91.4, 94.8, 83.4, 97.9, 98.9, 99.2), 94.1, "GOAD Table 2"),
        ("ARNet (Ye et al. 2022)",
         (92.7, 99.3, 89.1, 93.6, 90.8, 93.1, 85.0, 98.4, 97.8, 98.4), 93.9,
         "as quoted in AGAD Table 2"),
        ("Deep SVDD (Ruff et al. 2018)",
         (98.2, 90.3, 90.7, 94.2, 89.4, 91.8, 83.4, 98.8, 91.9, 99.0), 92.8, "GOAD Table 2"),
        ("RAW-OC-SVM", None, 92.8, "GEOM Table 1"),
        ("ADGAN (Deecke et al. 2018)", None, 88.4, "GEOM Table 1"),
    ),
}


# --- the baseline: nearest training images in pixel space ------------------------------

def knn_pixel_scores(images, reference, neighbours, batch_size=1000):
    """Mean Euclidean distance from each image to its `neighbours` nearest reference
    images, on the raw pixels: the detector a user tries first. (N,) float64."""
    x = np.asarray(images, np.float32).reshape(len(images), -1)     # (N, 784)
    r = np.asarray(reference, np.float32).reshape(len(reference), -1)  # (M, 784)
    r_sq = np.sum(r.astype(np.float64) ** 2, axis=1)
    out = []
    for start in range(0, len(x), batch_size):
        part = x[start:start + batch_size]
        sq = np.sum(part.astype(np.float64) ** 2, axis=1)[:, None] - 2.0 * (part @ r.T) + r_sq
        nearest = np.partition(sq, neighbours - 1, axis=1)[:, :neighbours]
        out.append(np.sqrt(np.maximum(nearest, 0.0)).mean(axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def knn_baseline(data, classes, neighbours):
    """{class: AUROC of knn_pixel_scores for "is not class"}, and the seconds it took."""
    start = time.perf_counter()
    result = {}
    for c in classes:
        scores = knn_pixel_scores(data.test_images, data.train_images[data.train_labels == c],
                                  neighbours)
        result[str(c)] = metrics.auroc(scores, data.test_labels != c)
    return result, time.perf_counter() - start


# --- one run ---------------------------------------------------------------------------

def run_class(args, data, c, seed):
    """Trains on class `c` alone with `seed`, scores the held-out split; the run's result."""
    name = f"only_{c}_seed{seed}"
    run_dir = os.path.join(args.work_dir, name)
    others = [o for o in range(NUM_CLASSES) if o != c]
    train_s = anomaly_runs.train(args.flagfile, args.max_steps, seed, run_dir, exclude=others,
                                 dataset=args.dataset, data_dir=args.data_dir,
                                 extra=args.train_flags)
    rows, score_s = anomaly_runs.score(run_dir, os.path.join(args.work_dir, name + ".csv"),
                                       args.inversion_steps, features_k=args.features_k,
                                       scores=args.scores)
    labels = np.array([int(r["label"]) for r in rows])
    return {"class": c, "seed": seed, "auroc": anomaly_runs.aurocs(rows, labels != c),
            "train_images": int(np.sum(data.train_labels == c)),
            "test_images": len(labels), "test_normal": int(np.sum(labels == c)),
            "train_seconds": round(train_s, 1), "score_seconds": round(score_s, 1)}


# --- the results file ------------------------------------------------------------------

def settings(args, data):
    """What a run's numbers depend on: a results file is resumed only under the same."""
    with open(args.flagfile, "rb") as f:
        flagfile_sha = hashlib.sha256(f.read()).hexdigest()
    return {"dataset": data.name, "data_fingerprint": data.record()["fingerprint"],
            "flagfile_sha256": flagfile_sha, "max_steps": args.max_steps,
            "inversion_steps": args.inversion_steps, "features_k": args.features_k,
            "train_flags": list(args.train_flags), "scores": list(args.scores)}


def load(path):
    """A results file of this benchmark, or None if there is none. A file of the older
    single-seed layout ("digits") is read as runs of its one seed."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RESULTS_BYTES + 1)
    except FileNotFoundError:
        return None
    if len(raw) > MAX_RESULTS_BYTES:
        raise ValueError(f"{path}: larger than {MAX_RESULTS_BYTES} bytes; not a results file")
    results = fileio.loads_json(raw.decode("utf-8"))
    if not isinstance(results, dict):
        raise ValueError(f"{path}: not a results file of benchmarks/anomaly.py")
    if results.get("protocol") != "one_class":
        return results  # leave_one_out's: read as it is
    if "runs" not in results and isinstance(results.get("digits"), list):  # the older layout
        header = {k: v for k, v in results.items()
                  if k not in ("digits", "auroc", "total_seconds", "seed")}
        runs = [{**{k: v for k, v in r.items() if k != "digit"}, "class": r.get("digit"),
                 "seed": results.get("seed", 0)} for r in results["digits"] if isinstance(r, dict)]
        check_runs(runs, path)
        return summarize(header, runs)
    check_runs(results.get("runs"), path)
    return results


def check_runs(runs, path):
    """ValueError unless `runs` is a list of runs: each a class, a seed and AUROCs."""
    if not isinstance(runs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("class"), int)
            and isinstance(r.get("seed"), int) and isinstance(r.get("auroc"), dict)
            and all(isinstance(v, float) for v in r["auroc"].values()) for r in runs):
        raise ValueError(f"{path}: its runs are not each a class, a seed and AUROCs")


def done_runs(previous, wanted_settings, path):
    """{(class, seed): run} of a previous results file made with the same settings."""
    if previous is None:
        return {}
    if previous.get("protocol") != "one_class":
        raise ValueError(f"{path} is not a one-class results file; give --out another file")
    had = previous.get("settings")
    if had != wanted_settings:
        differ = sorted(k for k in wanted_settings if (had or {}).get(k) != wanted_settings[k])
        raise ValueError(f"{path} holds runs made with other settings ({', '.join(differ)}); "
                         "give --out another file, or move that one away")
    return {(r["class"], r["seed"]): r for r in previous["runs"]}


def summarize(header, runs, baseline=None):
    """The results document: `header`, every run, and for each score its AUROC per class
    (mean, min, max over seeds), the mean over classes, and that mean per complete seed."""
    runs = sorted(runs, key=lambda r: (r["seed"], r["class"]))
    names = [n for n in (*anomaly.SCORES, KNN) if runs and all(n in r["auroc"] for r in runs)]
    classes = sorted({r["class"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    per_score = {}
    for n in names:
        by_class = {c: [r["auroc"][n] for r in runs if r["class"] == c] for c in classes}
        per_class = {str(c): {"mean": float(np.mean(v)), "min": float(min(v)),
                              "max": float(max(v)), "seeds": len(v)} for c, v in by_class.items()}
        complete = {s: [r["auroc"][n] for r in runs if r["seed"] == s] for s in seeds}
        per_score[n] = {"per_class": per_class,
                        "mean_auroc": float(np.mean([v["mean"] for v in per_class.values()])),
                        "mean_auroc_per_seed": {str(s): float(np.mean(v))
                                                for s, v in complete.items()
                                                if len(v) == len(classes)}}
    if baseline:
        per_score[KNN] = {"per_class": {c: {"mean": a, "min": a, "max": a, "seeds": 1}
                                        for c, a in baseline["per_class"].items()},
                          "mean_auroc": float(np.mean(list(baseline["per_class"].values()))),
                          "mean_auroc_per_seed": {}}
    return {**header, "protocol": "one_class", "classes": classes, "seeds": seeds, "runs": runs,
            "baseline": baseline, "auroc": per_score,
            "total_seconds": round(sum(r.get("seconds", 0.0) for r in runs)
                                   + (baseline or {}).get("seconds", 0.0), 1)}


def save(out, results):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fileio.atomic_write(out, (json.dumps(results, indent=2) + "\n").encode("utf-8"))


# --- tables ------------------------------------------------------------------------------

def class_label(dataset, c):
    names = CLASS_NAMES.get(dataset)
    return f"{c} {names[c]}" if names else str(c)


def _cell(stat):
    if stat is None:
        return ""
    if stat["seeds"] > 1:
        return f"{stat['mean']:.3f} ({stat['min']:.3f}-{stat['max']:.3f})"
    return f"{stat['mean']:.3f}"


def table(results):
    """Markdown: a line naming the data and the seeds, then one row per normal class with
    each score's AUROC (mean and range over seeds) and the mean over classes."""
    names = list(results["auroc"])
    runs = results["runs"]
    counts = [r["train_images"] for r in runs] or [0]
    per_class = f"{min(counts):,}" + ("" if min(counts) == max(counts) else f" to {max(counts):,}")
    seeds = results["seeds"]
    test_images = max([r["test_images"] for r in runs] or [0])
    flags = " ".join(results.get("train_flags") or [])
    lines = [f"AUROC of \"is not the normal class\", {results['dataset']} ({per_class} training "
             f"images per class, {test_images:,} test images), {results['max_steps']:,} steps"
             + (f" with {flags}" if flags else "") + ", "
             f"features k={results['features_k']}, seed{'s' if len(seeds) > 1 else ''} "
             f"{', '.join(map(str, seeds))}"
             + (" (mean, and min-max over seeds)" if len(seeds) > 1 else "")
             + f"; {results['machine']['cpu']}, {results['machine']['cores']} cores, "
             f"{results['total_seconds'] / 60:.1f} min in all.",
             "",
             "| normal class | " + " | ".join(names) + " | train s | score s |",
             "|---" * (len(names) + 3) + "|"]
    for c in results["classes"]:
        mine = [r for r in runs if r["class"] == c]
        lines.append(f"| {class_label(results['dataset'], c)} | "
                     + " | ".join(_cell(results["auroc"][n]["per_class"].get(str(c)))
                                  for n in names)
                     + f" | {np.mean([r['train_seconds'] for r in mine]):.0f}"
                     f" | {np.mean([r['score_seconds'] for r in mine]):.0f} |")
    means = []
    for n in names:
        per_seed = list(results["auroc"][n]["mean_auroc_per_seed"].values())
        spread = (f" ({min(per_seed):.3f}-{max(per_seed):.3f})" if len(per_seed) > 1 else "")
        means.append(f"**{results['auroc'][n]['mean_auroc']:.3f}**{spread}")
    lines.append("| **mean** | " + " | ".join(means) + " | | |")
    return "\n".join(lines)


def published_table(results, scores=("combined", "features")):
    """Markdown, AUROC x 100: this run's `scores` (those it has) and the pixel baseline
    beside the published rows of its dataset, one column per normal class. Empty if none
    are published or the run has none of the scores."""
    published = PUBLISHED.get(results["dataset"])
    scores = [name for name in scores if name in results["auroc"]]
    if not published or not scores:
        return ""
    classes = list(range(NUM_CLASSES))
    head = ["| method | " + " | ".join(class_label(results["dataset"], c) for c in classes)
            + " | mean | source |", "|---" * (NUM_CLASSES + 3) + "|"]

    def ours(name, label):
        per = results["auroc"][name]["per_class"]
        cells = [f"{100 * per[str(c)]['mean']:.1f}" if str(c) in per else "" for c in classes]
        complete = len(per) == NUM_CLASSES
        mean = f"**{100 * results['auroc'][name]['mean_auroc']:.1f}**" if complete else ""
        return f"| {label} | " + " | ".join(cells) + f" | {mean} | this page |"

    seeds = len(results["seeds"])
    rows = [ours(name, f"gan_tf, {name} score (mean of {seeds} seed{'s' if seeds > 1 else ''})")
            for name in scores]
    if KNN in results["auroc"]:
        rows.append(ours(KNN, f"k-nearest neighbours on pixels, k = {results['baseline']['k']}"))
    for method, per_class, mean, source in published:
        cells = [f"{v:.1f}" for v in per_class] if per_class else [""] * NUM_CLASSES
        rows.append(f"| {method} | " + " | ".join(cells) + f" | {mean:.1f} | {source} |")
    return "\n".join(head + rows)


# --- the benchmark -------------------------------------------------------------------------

def run(args, header):
    """Every (seed, class) of args.seeds x args.classes not already in args.out, in turn;
    the results file is rewritten after each, with a progress line."""
    from gan_tf import data as data_lib
    data = data_lib.load(args.dataset, args.data_dir, allow_download=False)
    wanted = settings(args, data)
    try:
        runs = done_runs(load(args.out), wanted, args.out)
    except (ValueError, UnicodeDecodeError, OSError) as e:
        raise SystemExit(f"anomaly.py: error: {e}") from None
    header = {**header, "dataset": data.name, "data_source": data.source,
              "features_k": args.features_k, "train_flags": args.train_flags,
              "settings": wanted}
    todo = [(c, s) for s in args.seeds for c in args.classes if (c, s) not in runs]
    if runs:
        print(f"resuming {args.out}: {len(runs)} run(s) already there, {len(todo)} to go",
              flush=True)
    baseline = None
    if args.knn:
        per_class, seconds = knn_baseline(data, args.classes, args.knn_k)
        baseline = {"k": args.knn_k, "metric": "euclidean, raw pixels",
                    "per_class": per_class, "seconds": round(seconds, 1)}
    def wanted_runs():  # this invocation's classes and seeds, of what the file holds too
        return [r for (c, s), r in runs.items() if c in args.classes and s in args.seeds]
    results = summarize(header, wanted_runs(), baseline)
    save(args.out, results)
    spent = []
    for i, (c, s) in enumerate(todo, 1):
        start = time.perf_counter()
        result = run_class(args, data, c, s)
        result["seconds"] = round(time.perf_counter() - start, 1)  # wall, all in
        spent.append(result["seconds"])
        runs[(c, s)] = result
        results = summarize(header, wanted_runs(), baseline)
        save(args.out, results)
        eta = np.mean(spent) * (len(todo) - i) / 60
        knn = f", {KNN} {baseline['per_class'][str(c)]:.3f}" if baseline else ""
        print(f"[{i}/{len(todo)}] class {class_label(data.name, c)}, seed {s}: "
              + ", ".join(f"{k} {v:.3f}" for k, v in result["auroc"].items()) + knn
              + f" | train {result['train_seconds']:.0f} s, score {result['score_seconds']:.0f} s"
              f" | about {eta:.0f} min to go", flush=True)
    return results
