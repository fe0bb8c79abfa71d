"""Synthetic data for the digit classifier (the first of two uses of a trained GAN):
does a trained generator help, or replace, real labelled images?

For each size N of --sizes and each seed, the digit classifier (gan_tf.classifier) is
trained, for the same --steps batches every time, on:
  real        N real labelled images of the run's training split (N / 10 per class,
              chosen by the seed; "all" is the whole split);
  real+M      the same N plus M synthetic images, for each M of --synthetic (with
              --real_share, the N real ones repeated to that share of the set);
  synthetic   N synthetic images only: the Classification Accuracy Score (CAS) of
              Ravuri & Vinyals 2019 at equal size.
Each is scored on the held-out split, which neither the GAN nor the classifier
sees. Synthetic labels: the class asked for, from a conditional generator (every
class equally often); from an unconditional one, the dataset's cached classifier's
argmax (gan_tf.classifier).

Read the small-N rows with care: the GAN was trained on the whole training split,
so "real N + synthetic" carries what the GAN learned from all of it (labels too,
for a conditional GAN), not only from the N images.

Its command line: `python -m gan_tf.augment` (gan_tf/commands/augment.py).
"""
import dataclasses
import logging
import time

import numpy as np

from gan_tf.applications import sampling
from gan_tf.evaluation import classifier as classifier_lib

log = logging.getLogger(__name__)

KINDS = ("real", "augmented", "synthetic")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    sizes: tuple = (100, 500, 1000, None)  # None: all of the training split
    synthetic: tuple = (1000, 4000)  # M, synthetic images added to the N real ones
    seeds: tuple = (0, 1, 2)
    steps: int = 500  # classifier batches per training run
    batch_size: int = 64
    # 0: real and synthetic images simply pooled. s in (0, 1): the real images repeated
    # (whole copies) until they are about share s of the mixed set, so that a few real
    # images are not drowned by many synthetic ones.
    real_share: float = 0.0


def stratified_subset(labels, n, seed, num_classes):
    """Indices of n images, n // k of each of the k classes below `num_classes` that
    `labels` holds (the rest spread over the first classes; a run's left-out classes are
    not asked for), chosen by `seed`; None n: all of them. ValueError when a class has
    too few (subset_problem says so first)."""
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    problem = subset_problem(labels, n, num_classes)
    if problem:
        raise ValueError(problem)
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), take, replace=False)
              for c, take in _shares(labels, n, num_classes)]
    return np.sort(np.concatenate(chosen))


def subset_problem(labels, n, num_classes):
    """Why stratified_subset cannot take `n` images of `labels`, or None: a class holding
    fewer than its share (full MNIST's 5,421 fives for --sizes=55000)."""
    if n is None or n >= len(labels):
        return None
    counts = np.bincount(labels, minlength=num_classes)
    for c, take in _shares(labels, n, num_classes):
        if take > counts[c]:
            return (f"{n} images need {take} of class {c}; the training images hold "
                    f"{counts[c]}")
    return None


def _shares(labels, n, num_classes):
    """[(class, images to take)] of n over the classes `labels` holds: n // k each, the
    rest one more each for the first classes."""
    classes = _classes(labels, num_classes)
    return [(c, n // len(classes) + (1 if i < n % len(classes) else 0))
            for i, c in enumerate(classes)]


def _classes(labels, num_classes):
    present = np.unique(labels)
    return [c for c in range(num_classes) if c in present]


def synthesize(generator, z_dim, z_distribution, count, seed, label_classifier=None,
               prior=None, classes=None):
    """(images (count, 28, 28, 1), labels (count,) int64) from the generator: the classes
    in turn (conditional: `classes`, those the run trained on, default all), or labelled by
    `label_classifier` (unconditional; an InfoGAN one's codes drawn from `prior`, a
    --code_prior=learned run's, or uniformly)."""
    given = None
    if generator.num_classes:
        classes = np.arange(generator.num_classes) if classes is None else np.asarray(classes)
        given = classes[np.arange(count) % len(classes)].astype(np.int32)
    images = sampling.draw(generator, count, z_dim, z_distribution, seed, prior=prior,
                           labels=given)[..., None]
    if generator.num_classes:
        labels = given.astype(np.int64)
    else:
        if label_classifier is None:
            raise ValueError("an unconditional generator's samples need a label_classifier")
        logits, _ = classifier_lib.predict(label_classifier, images)
        labels = np.argmax(logits, axis=1).astype(np.int64)
    order = np.random.default_rng(seed).permutation(count)  # so that any prefix is balanced-ish
    return images[order], labels[order]


def memory_bytes(config, train_images, z_dim):
    """Rough peak bytes of `run`: the synthetic pool (images and z), and for the largest
    N its real subset and every mixed set at once (each twice: tiled, then joined), as
    run builds them before training on each."""
    image = sampling.IMAGE_BYTES
    sizes = [train_images if n is None else n for n in config.sizes]
    pool = max(max(sizes), max(config.synthetic, default=0))
    sets = max(n + sum(2 * (real_copies(n, m, config.real_share) * n + m)
                       for m in config.synthetic) + n for n in sizes)
    return pool * (image + 4 * z_dim) + sets * image


def real_copies(n, m, share):
    """Whole copies of n real images that make them about `share` of a set with m
    synthetic ones (at least 1)."""
    if not share or not m:
        return 1
    return max(1, int(round(share / (1.0 - share) * m / n)))


def summarize(records):
    """Mean and standard deviation (over seeds) of each (n, kind, m)."""
    groups = {}
    for r in records:
        groups.setdefault((r["n"], r["kind"], r["m"]), []).append(r["accuracy"])
    return [{"n": n, "kind": kind, "m": m, "mean": float(np.mean(a)),
             "std": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, "runs": len(a)}
            for (n, kind, m), a in groups.items()]


def run(config, generator, z_dim, z_distribution, data, label_classifier=None, progress=None,
        prior=None):
    """Every (seed, N, kind, M) of `config`: a list of records with the held-out accuracy
    (`prior`: as synthesize takes it)."""
    records = []
    sizes = [len(data.train_labels) if n is None else n for n in config.sizes]
    pool = max(max(sizes), max(config.synthetic, default=0))
    for seed in config.seeds:
        synth_x, synth_y = synthesize(generator, z_dim, z_distribution, pool, seed,
                                      label_classifier, prior,
                                      _classes(data.train_labels, data.num_classes))
        for n in sizes:
            idx = stratified_subset(data.train_labels, n, seed, data.num_classes)
            real_x, real_y = data.train_images[idx], data.train_labels[idx]
            sets = [("real", 0, real_x, real_y)]
            for m in config.synthetic:
                copies = real_copies(n, m, config.real_share)
                sets.append(("augmented", m, np.concatenate([np.tile(real_x, (copies, 1, 1, 1)),
                                                             synth_x[:m]]),
                             np.concatenate([np.tile(real_y, copies), synth_y[:m]])))
            sets.append(("synthetic", n, synth_x[:n], synth_y[:n]))
            for kind, m, x, y in sets:
                t0 = time.perf_counter()
                model = classifier_lib.train(x, y, steps=config.steps,
                                             batch_size=config.batch_size, seed=seed)
                acc = classifier_lib.accuracy(model, data.test_images, data.test_labels)
                record = {"seed": seed, "n": n, "kind": kind, "m": m, "accuracy": acc,
                          "seconds": round(time.perf_counter() - t0, 1)}
                records.append(record)
                (progress or log.info)(
                    f"seed {seed} N={n} {kind}{f' M={m}' if kind == 'augmented' else ''}: "
                    f"held-out accuracy {100 * acc:.2f}% ({record['seconds']:.0f} s)")
    return records


def table(summary, synthetic):
    """Markdown: one row per N; real, each real+M, synthetic only, CAS / real."""
    cell = {(s["n"], s["kind"], s["m"]): s for s in summary}
    sizes = sorted({s["n"] for s in summary})

    def fmt(s):
        return f"{100 * s['mean']:.2f} ± {100 * s['std']:.2f}" if s else "-"

    head = ["N real", "real only"] + [f"real + {m} synthetic" for m in synthetic] + [
        "synthetic only (CAS, N images)", "CAS / real"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for n in sizes:
        real, synth = cell.get((n, "real", 0)), cell.get((n, "synthetic", n))
        ratio = f"{synth['mean'] / real['mean']:.3f}" if real and synth else "-"
        lines.append("| " + " | ".join([str(n), fmt(real)] + [
            fmt(cell.get((n, "augmented", m))) for m in synthetic] + [fmt(synth), ratio]) + " |")
    return "\n".join(lines)


# --- command line -------------------------------------------------------------
