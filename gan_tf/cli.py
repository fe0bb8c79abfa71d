"""What every command line shares: flag parsing and errors as one line and an exit code.

Used only by entry points (train_main.py and `python -m gan_tf.<tool>`), so the
library itself never needs absl flags. Exit codes: 2 for a bad flag or
argument, 1 for bad input found later (files, checkpoints, directories).
"""
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter


class UsageError(Exception):
    """A flag or argument is wrong (exit status 2)."""


def flag_values(argv):
    """The parsed flags of a tool that takes no positional arguments (UsageError if given)."""
    from absl import flags
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments {argv[1:]}")
    return flags.FLAGS


def check_outputs(out, extension, paths, overwrite):
    """Refuses --out=`out` unless it ends with `extension`, or if any of `paths` (the
    files the tool would write) exists and `overwrite` is false."""
    if not out.endswith(extension):
        raise UsageError(f"--out={out}: must end with {extension}")
    for path in paths:
        if os.path.exists(path) and not overwrite:
            raise UsageError(f"--out={out}: {path} exists; pass --overwrite to replace it")


def fail(message, code=1):
    """Prints `prog: error: message` as the last line and exits with `code`."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    logging.disable(logging.CRITICAL)  # no clean-up warnings after the error line
    sys.exit(code)


def run(main, user_errors=()):
    """absl's app.run(main) with one-line errors.

    `user_errors`: exception types that mean bad input (exit 1, message only), or
    a function returning them (so that TensorFlow is imported only when needed);
    `UsageError` and any flag error exit 2.
    """
    from absl import app
    from absl import flags

    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            fail(e, code=2)

    def wrapped(argv):
        logging.getLogger("gan_tf").setLevel(logging.INFO)
        logging.getLogger("absl").setLevel(logging.WARNING)  # TensorFlow's checkpoint chatter
        try:
            return main(argv)
        except UsageError as e:
            fail(e, code=2)
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except Exception as e:  # noqa: BLE001 - only the listed types are turned into one line
            errors = user_errors() if callable(user_errors) else tuple(user_errors)
            if isinstance(e, errors):
                fail(e, code=getattr(e, "exit_code", 1))
            raise

    app.run(wrapped, flags_parser=parse)
