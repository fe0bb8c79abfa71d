"""Anomaly scores from a trained GAN (its second use): images unlike its training data first.

    python -m gan_tf.anomaly --run_dir=runs/no7 --out=anomaly.csv     # the held-out split
    python -m gan_tf.anomaly --run_dir=runs/no7 --images=mine.npy --out=mine.csv

The command line of gan_tf.applications.anomaly, which says what its files and options mean.
"""

from absl import flags

from gan_tf.commands import common  # first: it quiets TensorFlow's start-up
from gan_tf.commands.common import UsageError, check_outputs, flag_values  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from gan_tf import data as data_lib  # noqa: E402
from gan_tf import runs  # noqa: E402
from gan_tf.applications import anomaly  # noqa: E402
from gan_tf.errors import DataError, LogFileError, RunError  # noqa: E402
from gan_tf.runs.restore import restore_models  # noqa: E402


def define_flags():
    common.define_run_dir("A gan_tf run directory (--checkpoint: which of its checkpoints).")
    common.define_checkpoint()
    flags.DEFINE_string("images", None, "A .npy of images to score, (N, 28, 28[, 1]): floats in "
                        "[-1, 1], or integer pixels 0 to 255 (any integer dtype), which are "
                        "scaled; bool, complex, text and object arrays and .npz files are "
                        "refused (default: --dataset's --split).")
    common.define_dataset(None, "Dataset to score (default: the run's).")
    common.define_data_dir(of_run=True)
    flags.DEFINE_enum("split", "test", ["test", "train"], "Which split of --dataset: the "
                      "held-out one, or the training one.")
    flags.DEFINE_integer("num_images", None, "Score only the first N images.", lower_bound=1)
    flags.DEFINE_list("scores", None, "Scores to compute: " + ", ".join(anomaly.SCORES) + " "
                      "(default: every one the run has; rotation needs a run trained with "
                      "--rotation_weight).")
    flags.DEFINE_enum("rank_by", None, anomaly.SCORES, "Score that orders the CSV and the PNG "
                      "(default: features if computed, else the "
                      "first one given).")
    flags.DEFINE_integer("inversion_steps", anomaly.InversionOptions.steps, "Adam steps on z per image.",
                         lower_bound=1)
    flags.DEFINE_integer("features_k", anomaly.FEATURE_NEIGHBOURS, "Nearest training images of the run "
                         "whose feature distances the feature score averages.", lower_bound=1)
    common.define_seed("Seed of the starting z of the inversion.")
    flags.DEFINE_integer("png_count", 16, "Most and least anomalous images in the PNG.",
                         lower_bound=1, upper_bound=256)
    common.define_out("anomaly.csv", "Output .csv; the PNG goes beside it.")
    common.define_overwrite()


def main(argv):
    f = flag_values(argv, required=["run_dir"])
    which = common.checkpoint_flag(f.checkpoint)
    check_outputs(f.out, ".csv", [f.out, anomaly.png_path(f.out)], f.overwrite)
    asked = f.scores
    if asked is not None:
        unknown = [s for s in asked if s not in anomaly.SCORES]
        if unknown or not asked:
            raise UsageError(f"--scores: choose from {', '.join(anomaly.SCORES)} "
                             f"(got {','.join(asked)})")
        if f.rank_by and f.rank_by not in asked:
            raise UsageError(f"--rank_by={f.rank_by} is not among --scores")
    images = None
    if f.images:
        try:
            images = anomaly.load_images(f.images)
        except DataError as e:  # a bad argument: exit 2, as for the other flags
            raise UsageError(f"--images: {e}") from None

    # Grappler's remapper cannot fuse the inversion loop's gradients and says so as an
    # error line; the graph runs the same without it.
    tf.config.optimizer.set_experimental_options({"remapping": False})
    config, generator, discriminator, source = restore_models(f.run_dir, checkpoint=which)
    if config.model == "tf1":
        raise RunError(f"--run_dir={f.run_dir}: its legacy discriminator function does not "
                       "expose the hidden features anomaly scores read; use gan_tf's models")
    available = anomaly.available_scores(discriminator)
    missing = [s for s in (asked or []) + [f.rank_by] if s and s not in available]
    if missing:
        flag = "scores" if missing[0] in (asked or []) else "rank_by"
        raise RunError(f"--{flag}={missing[0]}: --run_dir={f.run_dir} was trained without "
                       "--rotation_weight, so its discriminator has no rotation head")
    asked = asked or list(available)
    # By default the feature score orders the outputs, not `combined`: that is the better
    # score on Fashion-MNIST and the worse on MNIST's digits (docs/anomaly.md).
    rank_by = f.rank_by or ("features" if "features" in asked else asked[0])
    run_data = data_lib.load(config.dataset, runs.data_dir_of(f.run_dir, config, f.data_dir))
    reference = data_lib.without_classes(run_data, config.exclude_classes).train_images  # normal
    if {"features", "combined"} & set(asked) and f.features_k >= len(reference):
        raise UsageError(f"--features_k={f.features_k}: must be below the run's {len(reference)} "
                         "training images")
    labels, in_reference = None, None
    if images is None:  # every class of the dataset, those left out of training too
        dataset = f.dataset or config.dataset
        data = run_data if dataset == config.dataset else data_lib.load(dataset, f.data_dir)
        images, labels = ((data.test_images, data.test_labels) if f.split == "test"
                          else (data.train_images, data.train_labels))
        if f.split == "train" and dataset == config.dataset:
            in_reference = ~np.isin(labels, config.exclude_classes)
    if f.num_images:
        images = images[:f.num_images]
        labels = None if labels is None else labels[:f.num_images]
        in_reference = None if in_reference is None else in_reference[:f.num_images]
    scores = anomaly.score(generator, discriminator, images, reference, config.z_dim,
                   config.z_distribution, tuple(asked),
                   anomaly.InversionOptions(steps=f.inversion_steps, seed=f.seed), in_reference,
                   f.features_k)
    anomaly.write_outputs(f.out, images, scores, labels, rank_by, f.png_count, f.overwrite)
    top = anomaly.ranking(scores, rank_by)[:5]
    print(f"scored {len(images)} images with {source}; most anomalous by {rank_by}: indices "
          f"{', '.join(str(int(i)) for i in top)}; wrote {f.out} and {anomaly.png_path(f.out)}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (RunError, DataError, LogFileError, OSError)


def run():
    """`python -m gan_tf.anomaly` and gan-tf-anomaly."""
    common.main(define_flags, main, user_errors=USER_ERRORS)


if __name__ == "__main__":
    run()
