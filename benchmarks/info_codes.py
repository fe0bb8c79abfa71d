"""What an InfoGAN run's categorical code became: for each code value, the digits that
gan_tf's classifier reads in samples drawn with it.

    python benchmarks/info_codes.py RUN_DIR [RUN_DIR ...] [--samples=300] [--out=F.json]

A run with --latent_categories=K trains without labels, so nothing makes a code value a
digit. Its classifier score is highest when every digit has values of its own and each
value draws one digit: this measures how far a run got there. Per value, `samples` draws
(fresh z of the run's seed + FRESH_Z_OFFSET, the code fixed) are classified; a value's
*majority* is its most common digit and its *purity* that digit's share. Reported per run:
the mean purity, the digits that are some value's majority (`covered`, and `missing`), and
the class histogram of all draws (every value equally often, as the prior draws them).
The run's default checkpoint (the best) is read, as the tools and longer.py serve it; the
run's own last evaluation (eval.json's `final`) is recorded beside it.

`pairs` looks at what --mode_seeking_weight pays for: PAIRS pairs of draws that share a
random code value and differ in z (as the term pairs a fake batch's rows), each pair's
ratio (losses.mode_seeking_pair_ratios: mean image distance over mean z distance), and
the share of pairs whose two images the classifier reads as one digit (`same_digit`),
with the median ratio of those pairs and of the others, and `separation`: the chance that
a pair drawing two digits has the larger ratio than a pair drawing one (the area under the
ROC curve of the ratio as a test for "two digits"; 0.5: the ratio cannot tell them apart,
1: any cap between them would). `pairs_d_features` is the same with the distance taken
between the images' features in the run's own D (`Discriminator.features`, its last hidden
layer) instead of their pixels: the space a capped term could ask for variety in instead.

`q_prior` asks whether serving the code values as often as the data holds them helps: the
prior p(c) = mean over the training images of Q(c | x) (InfoGAN's Q head on D's features;
no labels), and the run's evaluation metrics on the same 1,000 fresh z with the code drawn
uniformly (as trained and evaluated) and from p(c) (the same uniform numbers through each
prior's CDF, so the two differ only where the priors do).
"""
import argparse
import dataclasses
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.longer import FRESH_Z_OFFSET  # noqa: E402
from benchmarks.results_file import check_out, read_json, write_json  # noqa: E402
from benchmarks.sweep import SCORES, cpu_name  # noqa: E402


def alignment(classes, num_classes=10):
    """The code's summary from `classes`, (K, n) predicted digits of n draws per value."""
    classes = np.asarray(classes)
    shares = np.stack([np.bincount(row, minlength=num_classes) / len(row) for row in classes])
    majority = shares.argmax(axis=1)
    covered = sorted({int(c) for c in majority})
    return {"purity": round(float(shares.max(axis=1).mean()), 4),
            "covered": len(covered),
            "missing": sorted(set(range(num_classes)) - set(covered)),
            "histogram": [round(float(h), 4) for h in shares.mean(axis=0)],
            "values": [{"code": k, "majority": int(m), "purity": round(float(s.max()), 4)}
                       for k, (m, s) in enumerate(zip(majority, shares))]}


PAIRS = 1000  # pairs of draws for `pairs`


def pair_summary(ratios, classes):
    """`pairs`' summary of (n,) pair ratios and (2n,) predicted digits, pair i the rows
    2i and 2i + 1."""
    ratios, classes = np.asarray(ratios, np.float64), np.asarray(classes)
    same = classes[0::2] == classes[1::2]

    def median(values):
        return round(float(np.median(values)), 4) if len(values) else None
    two, one = ratios[~same], ratios[same]
    separation = (float(((two[:, None] > one[None, :]) + 0.5 * (two[:, None] == one[None, :]))
                        .mean()) if len(two) and len(one) else None)
    return {"count": len(ratios), "same_digit": round(float(same.mean()), 4),
            "separation": None if separation is None else round(separation, 4),
            "ratio_percentiles": {str(q): round(float(np.percentile(ratios, q)), 4)
                                  for q in (10, 25, 50, 75, 90)},
            "ratio_median_same_digit": median(ratios[same]),
            "ratio_median_other_digit": median(ratios[~same])}


EVAL_SAMPLES = 1000  # q_prior's draws: as many as a run's own evaluations use


def q_prior(config, generator, discriminator, data, all_data):
    """The run's metrics on 1,000 fresh z with codes from the uniform prior and from Q's
    marginal on the training images (module docstring)."""
    import tensorflow as tf
    from gan_tf.evaluation import GeneratorEvaluator
    from gan_tf.evaluation.code_prior import q_marginal
    from gan_tf.randomness import codes_from_prior, latent_codes
    config = dataclasses.replace(config, eval_samples=EVAL_SAMPLES)  # whatever the run used
    evaluator = GeneratorEvaluator(config, data, all_data)
    n = EVAL_SAMPLES
    evaluator.z = latent_codes(n, config.z_dim, config.z_distribution,
                               config.seed + FRESH_Z_OFFSET + 2)
    u = np.random.default_rng(config.seed + FRESH_Z_OFFSET + 2).random(n)
    prior = q_marginal(discriminator, data.train_images)  # (N, 28, 28, 1)
    result = {"prior": [round(float(p), 4) for p in prior]}
    for name, weights in (("uniform", np.ones(config.latent_categories)), ("q_marginal", prior)):
        evaluator.codes = tf.constant(codes_from_prior(u, weights))
        metrics = evaluator(generator)
        result[name] = {k: float(metrics[k]) for k in SCORES}
    return result


def final_evaluation(run_dir):
    """The run's own last evaluation (eval.json's `final`: its step and SCORES), or None for
    a run without one (trained with --eval_samples=0, or an eval.json without `final`)."""
    from gan_tf.runs import EVAL_FILE
    path = os.path.join(run_dir, EVAL_FILE)
    if not os.path.lexists(path):
        return None
    final = read_json(path, "a run's evaluations").get("final")
    return {k: final.get(k) for k in ("step",) + SCORES} if isinstance(final, dict) else None


def measure(run_dir, samples):
    """alignment() of the run's default checkpoint, `samples` fresh draws per code value.
    A run without a code, or with a damaged eval.json, is refused before any sampling."""
    import tensorflow as tf
    from gan_tf.data import load
    from gan_tf.evaluation import classifier as classifier_lib
    from gan_tf.randomness import latent_codes
    from gan_tf.runs import read_config
    from gan_tf.runs.restore import restore_models
    if not read_config(run_dir).latent_categories:
        raise SystemExit(f"info_codes.py: {run_dir} has no categorical code "
                         "(it was not trained with --latent_categories)")
    final = final_evaluation(run_dir)
    config, generator, discriminator, path = restore_models(run_dir)
    classifier, _ = classifier_lib.load_or_train(load(config.dataset, config.data_dir),
                                                 config.classifier_dir)
    # The same fresh z for every value: the values differ only in the code.
    z = latent_codes(samples, config.z_dim, config.z_distribution, config.seed + FRESH_Z_OFFSET)
    classes = []
    for k in range(config.latent_categories):
        images = generator(z, training=False, labels=tf.fill([samples], k))[0]
        logits, _ = classifier_lib.predict(classifier, images.numpy())
        classes.append(np.argmax(logits, axis=1))
    # Pairs: a random code value each (the values' own stream), z fresh again.
    from gan_tf import losses
    from gan_tf.randomness import random_codes
    z = latent_codes(2 * PAIRS, config.z_dim, config.z_distribution,
                     config.seed + FRESH_Z_OFFSET + 1)
    codes = np.repeat(random_codes(PAIRS, config.latent_categories, config.seed), 2)
    images = generator(z, training=False, labels=tf.constant(codes))[0]
    logits, _ = classifier_lib.predict(classifier, images.numpy())
    pair_classes = np.argmax(logits, axis=1)
    pairs = pair_summary(losses.mode_seeking_pair_ratios(images, z).numpy(), pair_classes)
    features = tf.cast(discriminator.features(images, training=False), tf.float32)
    pairs_d = pair_summary(losses.mode_seeking_pair_ratios(features, z).numpy(), pair_classes)
    from gan_tf.data import without_classes
    all_data = load(config.dataset, config.data_dir)  # as the run's own evaluations had it
    data = without_classes(all_data, config.exclude_classes)
    return {"run_dir": run_dir, "checkpoint": os.path.basename(path), "seed": config.seed,
            "latent_categories": config.latent_categories, "z_dim": config.z_dim,
            "z_distribution": config.z_distribution, "samples": samples,
            "final_evaluation": final, **alignment(classes, int(logits.shape[1])),
            "pairs": pairs, "pairs_d_features": pairs_d,
            "q_prior": q_prior(config, generator, discriminator, data, all_data)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--samples", type=int, default=300, help="draws per code value")
    parser.add_argument("--out", default=None, help="JSON results, written after each run")
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 10_000:
        parser.error("--samples must be from 1 to 10000")
    check_out("out", args.out)  # before the work, not after it
    from gan_tf import __version__
    from gan_tf.errors import ClassifierError, DataError, RunError
    doc = {"command": "python " + " ".join(sys.argv), "cpu": cpu_name(),
           "date": time.strftime("%Y-%m-%d"), "code": f"gan_tf {__version__}", "runs": []}
    for run_dir in args.run_dirs:
        try:
            r = measure(run_dir, args.samples)
        except (RunError, DataError, ClassifierError, OSError) as e:
            raise SystemExit(f"info_codes.py: {e}") from None
        doc["runs"].append(r)
        if args.out:  # a later run's failure keeps the earlier ones
            write_json(args.out, doc)
        print(f"{run_dir} ({r['checkpoint']}): purity {r['purity']:.3f}, {r['covered']} digits "
              f"covered, missing {r['missing'] or 'none'}; pairs of one code drawing one digit "
              f"{r['pairs']['same_digit']:.3f}; separation of their ratios in pixels "
              f"{_shown(r['pairs']['separation'])}, in D's features "
              f"{_shown(r['pairs_d_features']['separation'])}; score / recall with codes from "
              f"the uniform prior {r['q_prior']['uniform']['classifier_score']:.3f} / "
              f"{r['q_prior']['uniform']['recall']:.3f}, from Q's marginal "
              f"{r['q_prior']['q_marginal']['classifier_score']:.3f} / "
              f"{r['q_prior']['q_marginal']['recall']:.3f}", flush=True)


def _shown(value):
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
