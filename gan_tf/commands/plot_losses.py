"""Plots a train_losses.pkl (gan_tf's or a legacy notebook's) to a PNG.

    python -m gan_tf.plot_losses runs/mlp_mnist/train_losses.pkl [--out=losses.png] [--overwrite]

The pickle is read with gan_tf.runs.pickles.load_pickle, which refuses anything but
builtin types and numpy data.
"""
import os

from absl import flags

from gan_tf.commands import common  # first: it quiets TensorFlow's start-up
from gan_tf.commands.common import UsageError, check_outputs  # noqa: E402

from gan_tf.errors import LogFileError  # noqa: E402
from gan_tf.runs import plots  # noqa: E402


def define_flags():
    common.define_out(None, "PNG to write (default: FILE with .png).")
    common.define_overwrite("Replace an existing --out (never FILE itself).")


def _same_file(a, b):
    """Whether paths a and b name one file (through links too)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def main(argv):
    if len(argv) != 2:
        raise UsageError("usage: python -m gan_tf.plot_losses FILE [--out=PNG] [--overwrite]")
    path = argv[1]
    out = flags.FLAGS.out or os.path.splitext(path)[0] + ".png"
    if _same_file(out, path):
        raise UsageError(f"--out={out} is the input file itself; choose another --out")
    check_outputs(out, ".png", [out], flags.FLAGS.overwrite)
    n = plots.plot_losses(path, out, replace=flags.FLAGS.overwrite)
    print(f"plotted {n} records of {path} to {out}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (LogFileError, OSError)  # LogFormatError too


def run():
    """`python -m gan_tf.plot_losses` and gan-tf-plot-losses."""
    common.main(define_flags, main, user_errors=USER_ERRORS)


if __name__ == "__main__":
    run()
