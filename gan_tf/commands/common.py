"""What every command line shares: the common flags, flag parsing, and errors as one line
and an exit code. Used only by the commands (train_main.py, `python -m gan_tf.<tool>`, the
gan-tf-* console scripts), so the library itself never needs absl flags. Exit codes: 2 for
a bad flag or argument, 1 for bad input found later (files, checkpoints, directories).
"""
import logging
import os
import sys

from gan_tf.commands import quiet  # noqa: F401 - before anything imports TensorFlow
from gan_tf.commands.quiet import show_tensorflow_log  # noqa: F401 - for --tf_log

from absl import app, flags  # noqa: E402

from gan_tf.config_checks import DATASETS, PATTERN_MESSAGE, pattern_free  # noqa: E402
from gan_tf import fileio  # noqa: E402


class UsageError(Exception):
    """A flag or argument is wrong (exit status 2)."""


def flag_values(argv, required=()):
    """The parsed flags of a tool that takes no positional arguments; UsageError if some
    are given, or if a flag named in `required` has no value."""
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments {argv[1:]}")
    for name in required:
        if not flags.FLAGS[name].value:
            raise UsageError(f"--{name} is required")
    return flags.FLAGS


# --- the flags several tools take: one definition each, the help text the tool's own ---
flags.disclaim_key_flags()  # flags defined below belong to the tool that calls (its --help)


def define_run_dir(help):
    flags.DEFINE_string("run_dir", None, help)


def define_out(default, help):
    flags.DEFINE_string("out", default, help)


def define_overwrite(help="Replace existing output files."):
    flags.DEFINE_boolean("overwrite", False, help)


def define_dataset(default, help):
    flags.DEFINE_enum("dataset", default, DATASETS, help)


def define_data_dir(of_run=False):
    """--data_dir; `of_run`: a tool reading a run's dataset, whose default is the directory
    the run's config.json records."""
    flags.DEFINE_string("data_dir", None, "Directory with the dataset files (see train_main)."
                        + (" Default: the run's own --data_dir, as its config.json records "
                           "it (said in a log line when used)." if of_run else ""))


def define_model_functions():
    """--generator_fn/--discriminator_fn of a tool that restores runs of legacy model
    functions (--model=tf1): named on its command line, never taken from config.json."""
    for role in ("generator", "discriminator"):
        flags.DEFINE_string(f"{role}_fn", None, f"For a run of legacy model functions: the "
                            f"--{role}_fn=MODULE:FUNCTION it was trained with (gan_tf imports "
                            "only code the command line names).")


def define_checkpoint():
    """--checkpoint of a tool that restores a run's networks (gan_tf.runs.restore)."""
    flags.DEFINE_string("checkpoint", None, "Which of the run's checkpoints: best (its best "
                        "evaluation's, checkpoints/best-STEP), latest, or a step it keeps. "
                        "Default: the best when the run kept one (it evaluated), else the "
                        "latest; the log says which.")


MAX_DIGITS = 18  # a whole number on a command line: within int64, and int() of it fast


def whole_number(text):
    """The int a flag's text writes in ASCII digits (at most MAX_DIGITS), or None:
    str.isdigit also takes superscripts, which int() refuses, and int() refuses more
    than 4,300 digits."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        return int(text)
    return None


def checkpoint_flag(value):
    """--checkpoint's value as gan_tf.runs.restore.checkpoint_of takes it (UsageError
    unless best, latest, a whole step or unset)."""
    if value is None or value in ("best", "latest"):
        return value
    step = whole_number(value)
    if step is not None and step > 0:
        return step
    raise UsageError(f"--checkpoint={value}: must be best, latest or a step (a positive "
                     "whole number)")


def define_seed(help):
    flags.DEFINE_integer("seed", 0, help, lower_bound=0)


def check_outputs(out, extension, paths, overwrite):
    """Refuses --out=`out` unless it ends with `extension`, or if any of `paths` (the
    files the tool would write) exists and `overwrite` is false, or is something other
    than a file or link (which even --overwrite would fail to replace, after the work)."""
    if not out.endswith(extension):
        raise UsageError(f"--out={out}: must end with {extension}")
    for path in paths:
        if os.path.lexists(path) and not overwrite:  # a dangling link too
            raise UsageError(f"--out={out}: {path} exists; pass --overwrite to replace it")
        if os.path.lexists(path) and not (os.path.islink(path) or os.path.isfile(path)):
            raise UsageError(f"--out={out}: {path} is not a file (a folder, a pipe, ...) that "
                             "--overwrite could replace; move it away or choose another --out")
    for folder in dict.fromkeys(os.path.dirname(os.path.abspath(p)) for p in paths):
        check_folder("out", out, folder)


def check_folder(flag, value, folder):
    """UsageError naming --flag=value unless files can be written in `folder`, or it can be
    made (its nearest existing ancestor is a writable folder): found before a tool's
    work, not after it. Creates nothing."""
    problem = fileio.folder_problem(folder)
    if problem:
        raise UsageError(f"--{flag}={value}: cannot write in {folder} ({problem})")


def check_checkpoint_path(flag, value):
    """UsageError naming --flag=value if TensorFlow could not read back checkpoints or a
    SavedModel written there (config_checks.pattern_free)."""
    if value and not pattern_free(value):
        raise UsageError(f"--{flag}={value}: {PATTERN_MESSAGE}; choose a path without them")


def fail(message, code=1):
    """Prints `prog: error: message` as the last line and exits with `code`."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    logging.disable(logging.CRITICAL)  # no clean-up warnings after the error line
    sys.exit(code)


def main(define_flags, tool_main, user_errors=()):
    """The entry point of `python -m gan_tf.<tool>`: defines the tool's flags, then runs
    `tool_main` as `run` does."""
    define_flags()
    run(tool_main, user_errors)


def run(main, user_errors=()):
    """absl's app.run(main) with one-line errors.

    `user_errors`: exception types that mean bad input (exit 1, or the error's
    `exit_code`; message only); `UsageError` and any flag error exit 2.
    """
    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            fail(e, code=2)

    def wrapped(argv):
        logging.getLogger("gan_tf").setLevel(logging.INFO)
        logging.getLogger("absl").setLevel(logging.WARNING)  # TensorFlow's checkpoint chatter
        logging.getLogger("tensorflow").setLevel(logging.WARNING)  # its all-reduce chatter
        try:
            return main(argv)
        except UsageError as e:
            fail(e, code=2)
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except Exception as e:  # noqa: BLE001 - only the listed types are turned into one line
            if isinstance(e, tuple(user_errors)):
                fail(e, code=getattr(e, "exit_code", 1))
            raise

    app.run(wrapped, flags_parser=parse)
