"""The CNN digit classifier: trained on a dataset's training split, saved, and frozen as the
feature space of gan_tf.evaluation.metrics.

    python -m gan_tf.classifier --dataset=mnist --output_dir=classifiers/mnist

The command line of gan_tf.evaluation.classifier, which says what its files and options mean.
"""
import logging
import os
import sys

from absl import flags
from absl import logging as absl_logging

from gan_tf.commands import common  # first: it quiets TensorFlow's start-up
from gan_tf.commands.common import UsageError, flag_values  # noqa: E402

from gan_tf import data as data_lib  # noqa: E402
from gan_tf.errors import ClassifierError, DataError, LogFileError  # noqa: E402
from gan_tf.evaluation import classifier  # noqa: E402


def define_flags():
    common.define_dataset("mnist", "Dataset whose training split it learns.")
    common.define_data_dir()
    flags.DEFINE_string("output_dir", None, "Where to save it (default: the cache that "
                        "metrics use, ~/.cache/gan_tf/classifiers/<dataset>).")
    flags.DEFINE_integer("epochs", None, "Passes over the training split (default: 15 on the "
                         "4,000-digit subset, 2 on 60,000 images).", lower_bound=1)
    common.define_seed("Seed of weights, order and dropout.")
    common.define_overwrite("Replace a classifier already in --output_dir.")


def main(argv):
    f = flag_values(argv)
    common.check_checkpoint_path("output_dir", f.output_dir)
    data = data_lib.load(f.dataset, f.data_dir)
    directory = f.output_dir or classifier.default_classifier_dir(data.name)
    if os.path.exists(os.path.join(directory, classifier.INFO_FILE)) and not f.overwrite:
        raise UsageError(f"--output_dir={directory} already holds a classifier; "
                         "pass --overwrite to replace it")
    taken = classifier.saved_files(directory)  # the weights' names, without the record
    if taken and not f.overwrite:
        raise UsageError(f"--output_dir={directory}: {taken[0]} exists; pass --overwrite "
                         "to replace it")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UsageError(f"--output_dir={directory} is a file")
    common.check_folder("output_dir", directory, directory)  # before training, not after
    _, info = classifier.train_and_save(data, directory, epochs=f.epochs, seed=f.seed,
                                        replace=f.overwrite)
    print(f"{data.name}: held-out accuracy {100 * info['held_out_accuracy']:.2f}% on "
          f"{info['held_out_images']} images (trained on {info['train_images']} for "
          f"{info['epochs']} epochs in {info['train_seconds']:.0f} s); saved in {directory}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (ClassifierError, DataError, LogFileError, OSError)


def child_main():
    """The child process that trains a classifier at TensorFlow's default threads for a
    run whose ops use others (gan_tf.evaluation.classifier._train_and_save_in_child),
    logging as the commands do."""
    flags.FLAGS.mark_as_parsed()  # no flags: absl's log lines without its warning
    absl_logging.use_absl_handler()
    logging.getLogger("gan_tf").setLevel(logging.INFO)  # the parent command's log levels
    logging.getLogger("absl").setLevel(logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    classifier.train_in_child(sys.argv[1:])


def run():
    """`python -m gan_tf.classifier` and gan-tf-classifier."""
    common.main(define_flags, main, user_errors=USER_ERRORS)


if __name__ == "__main__":
    run()
