"""The library's errors: one class per kind of bad input or failed run, each with a
message that names the file, flag or value and says what to do.

The command lines turn these into one line and exit status 1 (or the error's
`exit_code`). This module imports no TensorFlow, so that train_main.py can name the
errors before TensorFlow is loaded.
"""
import pickle


class ConfigError(ValueError):
    """A configuration value is invalid; `field` names the flag."""

    def __init__(self, field, message):
        super().__init__(f"--{field}: {message}")
        self.field = field


class DataError(Exception):
    """A data file is missing, truncated or not what it claims to be."""


class LogFileError(Exception):
    """A log or output file cannot be written or read; the message names it."""


class LogFormatError(LogFileError, ValueError):
    """A log file does not hold what its name promises."""


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle refers to something other than plain data and numpy numbers and arrays."""


class RunError(Exception):
    """A run cannot start or continue; the message says why and what to do."""

    exit_code = 1


class NotARun(RunError):
    """The directory holds no gan_tf run configuration."""


class Diverged(RunError):
    """A loss or weight became NaN or Inf; the last good checkpoint is kept."""


class Interrupted(RunError):
    """SIGINT or SIGTERM stopped the run after saving; exits 128 + the signal number."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.exit_code = 128 + int(signum)


class DistributeError(RunError):
    """A strategy cannot be set up as asked (one line, for the user)."""


class WorkerLost(DistributeError):
    """Another worker of the cluster went away mid-run."""


class ModelFunctionError(RunError):
    """A legacy TF1 model function (--generator_fn, --discriminator_fn, porting.tf1_network)
    cannot be imported or does not behave as a generator or discriminator."""


class PortingError(Exception):
    """A TF1 checkpoint or name map cannot be used; the message lists why."""


class TF1PortError(PortingError):
    """Legacy TF1 model code calls something that cannot work under gan_tf (a placeholder,
    a Session, a removed tf.contrib module, a tf.layers option gan_tf.tf1 does not apply);
    the message names the call and what to do instead."""


class ClassifierError(Exception):
    """A classifier directory is missing or does not hold a trained classifier."""


class SampleSizeError(ValueError):
    """Drawing this many samples (or of this z_dim) would exhaust the machine's memory."""


class OutputError(Exception):
    """An output path cannot be used: writing there would damage something else (another
    run's checkpoint index); the message names the path and what to do."""


def checkpoint_errors():
    """What reading a missing, truncated or corrupt TF checkpoint raises (a function, so
    that importing this module does not import TensorFlow)."""
    import tensorflow as tf
    return (tf.errors.OpError, ValueError, IndexError, RuntimeError, AssertionError)
