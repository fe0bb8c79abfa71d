"""Plots a train_losses.pkl (gan_tf's or a legacy notebook's) to a PNG.

    python -m gan_tf.plot_losses runs/mlp_mnist/train_losses.pkl [--out=losses.png] [--overwrite]

The pickle is read with gan_tf.pickles.load_pickle, which refuses anything but
builtin types and numpy data.
"""
import os

from gan_tf.errors import LogFormatError


def plot_losses(path, out):
    """Reads (d_loss, g_loss) pairs from `path` and plots them, one point per record."""
    from gan_tf import logs, plots
    losses = logs.load_losses(path)
    plots.save_loss_plot(range(1, len(losses) + 1), losses[:, 0], losses[:, 1], out,
                         xlabel="log record (one per --log_every steps; one per epoch in legacy files)")
    return len(losses)


def define_flags():
    from gan_tf import cli
    cli.define_out(None, "PNG to write (default: FILE with .png).")
    cli.define_overwrite("Replace an existing --out (never FILE itself).")


def _same_file(a, b):
    """Whether paths a and b name one file (through links too)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def main(argv):
    from absl import flags

    from gan_tf.cli import UsageError, check_outputs
    if len(argv) != 2:
        raise UsageError("usage: python -m gan_tf.plot_losses FILE [--out=PNG] [--overwrite]")
    path = argv[1]
    out = flags.FLAGS.out or os.path.splitext(path)[0] + ".png"
    if _same_file(out, path):
        raise UsageError(f"--out={out} is the input file itself; choose another --out")
    check_outputs(out, ".png", [out], flags.FLAGS.overwrite)
    n = plot_losses(path, out)
    print(f"plotted {n} records of {path} to {out}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (LogFormatError, OSError)

if __name__ == "__main__":
    from gan_tf import cli
    cli.main(define_flags, main, user_errors=USER_ERRORS)
