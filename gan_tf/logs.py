"""A run's log files, written so that none is ever left half written.

  train_losses.pkl       list of (d_loss, g_loss) numpy float32 tuples, one per
                         log interval: the legacy notebook format.
  train_samples.pkl      list of (num_samples, 28, 28) float32 arrays from the fixed z,
                         one per sample interval (legacy format).
  train_samples_steps.json  the step of each entry of train_samples.pkl.
  metrics.jsonl          one JSON object per log interval (step, epoch, losses,
                         D(x), D(G(z)), steps/s): the source of truth the
                         pickle is rebuilt from on resume.

Pickles are replaced atomically (temporary file + rename); metrics.jsonl is
appended to, and cut back to the checkpoint's step when a run resumes.
"""
import io
import json
import os
import pickle
import tempfile

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)

LOSSES = "train_losses.pkl"
SAMPLES = "train_samples.pkl"
SAMPLE_STEPS = "train_samples_steps.json"
METRICS = "metrics.jsonl"


class LogFileError(Exception):
    """A log file cannot be written or read; the message names it."""


class LogFormatError(LogFileError, ValueError):
    """A log file does not hold what its name promises."""


def atomic_write(path, data):
    """Writes bytes to `path` via a temporary file in the same directory and a rename,
    so that `path` always holds either its old or its new contents."""
    try:
        _atomic_write(path, data)
    except OSError as e:
        raise LogFileError(f"cannot write {path}: {e.strerror or e}") from None


def _atomic_write(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would surprise users
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle refers to something other than builtins and numpy data."""


_SAFE_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "complex"), ("builtins", "slice"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "bytearray"),
    ("_codecs", "encode"),  # protocol-2 pickles of numpy arrays encode their bytes with it
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "numpy" and name.endswith("Dtype") or module == "numpy.dtypes":
            return super().find_class(module, name)
        raise UnsafePickleError(f"refusing to load {module}.{name}: only builtin types, "
                                "numpy scalars and numpy arrays are allowed")


def load_pickle(path):
    """Loads a train_losses.pkl / train_samples.pkl without running arbitrary code."""
    with open(path, "rb") as f:
        return _SafeUnpickler(io.BytesIO(f.read())).load()


def load_losses(path):
    """A train_losses.pkl (gan_tf's or a legacy notebook's) as a (n, 2) float32 array."""
    try:
        losses = load_pickle(path)
    except OSError as e:
        raise LogFormatError(f"{path}: cannot read ({e.strerror or e})") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError) as e:
        raise LogFormatError(f"{path}: not a loadable pickle ({e})") from None
    try:
        array = np.asarray(losses, dtype=np.float32)
    except (TypeError, ValueError):
        array = None
    if not isinstance(losses, (list, tuple)) or array is None or array.ndim != 2 \
            or array.shape[1] != 2:
        raise LogFormatError(f"{path}: expected a list of (d_loss, g_loss) pairs, got "
                             f"{type(losses).__name__}"
                             f"{'' if array is None else f' of shape {array.shape}'}")
    return array


def read_metrics(path, up_to_step=None):
    """Reads metrics.jsonl records, those after `up_to_step` dropped."""
    records = []
    if not os.path.exists(path):
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut by a crash ends the readable log
            if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                raise LogFormatError(f"{path}: line {len(records) + 1} is not a metrics record")
            if up_to_step is not None and record["step"] > up_to_step:
                break
            records.append(record)
    return records


class RunLogs:
    """The log files of one run directory."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.records = []
        self.samples, self.sample_steps = [], []

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def resume(self, step):
        """Loads what is logged up to `step` and cuts every file back to it."""
        self.records = read_metrics(self.path(METRICS), up_to_step=step)
        if os.path.exists(self.path(SAMPLES)) and os.path.exists(self.path(SAMPLE_STEPS)):
            try:
                samples = load_pickle(self.path(SAMPLES))
                with open(self.path(SAMPLE_STEPS), encoding="utf-8") as f:
                    steps = json.load(f)
                if not (isinstance(samples, list) and isinstance(steps, list)):
                    raise ValueError("not a list")
            except Exception as e:  # noqa: BLE001 - any unreadable file gets one message
                raise LogFormatError(f"{self.path(SAMPLES)} or {SAMPLE_STEPS} is unreadable "
                                     f"({type(e).__name__}: {e}); move them away to resume "
                                     "without the old samples") from None
            keep = [i for i, s in enumerate(steps[:len(samples)]) if s <= step]
            self.samples = [samples[i] for i in keep]
            self.sample_steps = [steps[i] for i in keep]
        text = "".join(json.dumps(r) + "\n" for r in self.records)
        atomic_write(self.path(METRICS), text.encode("utf-8"))
        self._write_losses()
        self._write_samples()

    def losses(self):
        """The legacy list of (d_loss, g_loss) numpy float32 tuples."""
        return [(np.float32(r["d_loss"]), np.float32(r["g_loss"])) for r in self.records
                if "d_loss" in r]  # evaluation-only records carry no losses

    def append(self, record):
        """Adds one log-interval record to metrics.jsonl and train_losses.pkl."""
        try:
            with open(self.path(METRICS), "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise LogFileError(f"cannot write {self.path(METRICS)}: {e.strerror or e}") from None
        self.records.append(record)
        self._write_losses()

    def append_samples(self, step, images):
        """Adds the fixed-z samples (n, 28, 28[, 1]) taken at `step`."""
        images = np.asarray(images, np.float32)
        self.samples.append(images.reshape(images.shape[0], images.shape[1], images.shape[2]))
        self.sample_steps.append(int(step))
        self._write_samples()

    def _write_losses(self):
        atomic_write(self.path(LOSSES), pickle.dumps(self.losses()))

    def _write_samples(self):
        atomic_write(self.path(SAMPLES), pickle.dumps(self.samples))
        atomic_write(self.path(SAMPLE_STEPS), json.dumps(self.sample_steps).encode("utf-8"))
