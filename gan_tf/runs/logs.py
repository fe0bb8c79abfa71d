"""A run's log files, written so that none is ever left half written.

  train_losses.pkl       list of (d_loss, g_loss) numpy float32 tuples, one per
                         log interval: the legacy notebook format.
  train_samples.pkl      list of (num_samples, 28, 28) float32 arrays from the fixed z,
                         one per sample interval (legacy format).
  train_samples_steps.json  the step of each entry of train_samples.pkl.
  metrics.jsonl          one JSON object per log interval (step, epoch, losses,
                         D(x), D(G(z)), steps/s): the source of truth the
                         pickle is rebuilt from on resume.

Training writes each graph call's records at once: one append to metrics.jsonl and
one to each pickle (fileio.PickledList: readers see the old list or the new one,
never half of it), so a record costs the same however long the run is. Resuming cuts
every file back to the checkpoint's step, replacing it atomically.
"""
import json
import os

import numpy as np

from gan_tf.errors import LogFileError, LogFormatError
from gan_tf import fileio
from gan_tf.runs.pickles import load_pickle, one_line

LOSSES = "train_losses.pkl"
SAMPLES = "train_samples.pkl"
SAMPLE_STEPS = "train_samples_steps.json"
METRICS = "metrics.jsonl"


def read_pickle(path, advice=""):
    """load_pickle, any failure one LogFormatError naming the file."""
    try:
        return load_pickle(path)
    except LogFormatError:
        raise
    except OSError as e:
        raise LogFormatError(f"{path}: cannot read ({e.strerror or e}){advice}") from None
    except Exception as e:  # noqa: BLE001 - a hostile file can raise anything while loading
        raise LogFormatError(f"{path}: not a loadable pickle ({type(e).__name__}: "
                             f"{one_line(e)}){advice}") from None


def load_losses(path):
    """A train_losses.pkl (gan_tf's or a legacy notebook's) as a (n, 2) float32 array."""
    losses = read_pickle(path)
    number = (int, float, np.number, np.bool_)
    if not (isinstance(losses, (list, tuple)) and all(
            isinstance(pair, (list, tuple)) and len(pair) == 2
            and all(isinstance(x, number) for x in pair) for pair in losses)):
        raise LogFormatError(f"{path}: expected a list of (d_loss, g_loss) pairs, got "
                             f"{type(losses).__name__}"
                             f"{f' of {len(losses)}' if isinstance(losses, (list, tuple)) else ''}")
    try:
        return np.asarray(losses, dtype=np.float32).reshape(len(losses), 2)
    except OverflowError:  # an int of hundreds of digits: a number, beyond any float
        raise LogFormatError(f"{path}: holds a loss beyond a float's range") from None


def read_metrics(path, up_to_step=None):
    """Reads metrics.jsonl records, those after `up_to_step` dropped. Only the last line
    may be cut short (by a crash while appending) and is then dropped; any other line
    that is not a record is a LogFormatError naming it."""
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise LogFileError(f"cannot read {path}: {e.strerror or e}") from None
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    records = []
    for number, line in numbered:
        try:
            record = fileio.loads_json(line.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "is not UTF-8 text"
        except ValueError as e:
            problem = f"is not JSON ({e})"
        else:
            why = _not_a_record(record)
            if why is None:
                records.append(record)
                continue
            problem = f"is not a metrics record ({why})"
        if number == numbered[-1][0] and not problem.startswith("is not a metrics record"):
            break  # the last line, cut short by a crash
        raise LogFormatError(f"{path}: line {number} {problem}; repair or delete that line "
                             "(the file was left as it was)")
    if up_to_step is not None:
        after = [i for i, r in enumerate(records) if r["step"] > up_to_step]
        records = records[:after[0]] if after else records
    return records


def _not_a_record(record):
    """Why a parsed metrics.jsonl line is not a record training writes, or None: an
    object whose step is a whole number >= 0, every value a number (JSON's, not true or
    false, within a float's range: resume turns the losses into float32 and compares the
    scores), and d_loss with g_loss."""
    if not isinstance(record, dict):
        return f"a {type(record).__name__}"
    step = record.get("step")
    if not (type(step) is int and step >= 0):
        return "no step: a whole number >= 0"
    for key, value in record.items():
        if type(value) not in (int, float):
            return f"{str(key)[:40]!r} is not a number"
        try:
            float(value)
        except OverflowError:
            return f"{str(key)[:40]!r} is out of range"
    if ("d_loss" in record) != ("g_loss" in record):
        return "d_loss without g_loss, or g_loss without d_loss"
    return None


class RunLogs:
    """The log files of one run directory."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.records = []
        self.samples, self.sample_steps = [], []
        self._losses = fileio.PickledList(self.path(LOSSES))
        self._samples = fileio.PickledList(self.path(SAMPLES))

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def resume(self, step):
        """Loads what is logged up to `step` and cuts every file back to it. Every file is
        checked before any is rewritten, so a refused resume leaves them as they were."""
        records = read_metrics(self.path(METRICS), up_to_step=step)
        samples, steps = self._read_samples()
        kept = [(grid, s) for grid, s in zip(samples, steps) if s <= step]
        self.records = records
        self.samples, self.sample_steps = [g for g, _ in kept], [s for _, s in kept]
        text = "".join(json.dumps(r) + "\n" for r in self.records)
        fileio.atomic_write(self.path(METRICS), text.encode("utf-8"))
        self._losses.rewrite(self.losses())
        fileio.atomic_write(self.path(SAMPLE_STEPS), json.dumps(self.sample_steps).encode("utf-8"))
        self._samples.rewrite(self.samples)

    def _read_samples(self):
        """The sample grids and their steps, checked: one may be a sample ahead of the other
        (a crash between their writes), nothing else may be missing or amiss."""
        pkl, steps_json = self.path(SAMPLES), self.path(SAMPLE_STEPS)
        move = f"; move {SAMPLES} and {SAMPLE_STEPS} away to resume without the old samples"
        if not os.path.exists(steps_json):
            if os.path.exists(pkl):
                raise LogFormatError(f"{pkl} has no {SAMPLE_STEPS} beside it to say which step "
                                     f"each sample is from; move {SAMPLES} away to resume "
                                     "without the old samples")
            return [], []
        try:
            with open(steps_json, "rb") as f:
                steps = fileio.loads_json(f.read().decode("utf-8"))
        except OSError as e:
            raise LogFormatError(f"{steps_json}: cannot read ({e.strerror or e}){move}") from None
        except ValueError as e:  # UnicodeDecodeError included
            raise LogFormatError(f"{steps_json}: not JSON ({e}){move}") from None
        if not (isinstance(steps, list) and all(type(s) is int for s in steps)):
            raise LogFormatError(f"{steps_json}: expected a list of steps{move}")
        if not os.path.exists(pkl):
            if len(steps) > 1:  # more than the first sample's crash window
                raise LogFormatError(f"{steps_json} lists {len(steps)} samples but {SAMPLES} "
                                     f"is missing; put it back, or move {SAMPLE_STEPS} away "
                                     "to resume without the old samples")
            return [], []
        samples = read_pickle(pkl, move)
        if not isinstance(samples, list):
            raise LogFormatError(f"{pkl}: holds a {type(samples).__name__}, not a list of "
                                 f"sample grids{move}")
        for i, grid in enumerate(samples):
            if not (isinstance(grid, np.ndarray) and grid.dtype.kind == "f" and grid.ndim == 3
                    and grid.shape[0] and grid.shape[1:] == (28, 28)
                    and grid.shape == samples[0].shape):
                what = (f"an array of shape {grid.shape} and dtype {grid.dtype}"
                        if isinstance(grid, np.ndarray) else f"a {type(grid).__name__}")
                raise LogFormatError(f"{pkl}: entry {i} is {what}, not a (n, 28, 28) float "
                                     f"array like the first{move}")
        if abs(len(samples) - len(steps)) > 1:
            raise LogFormatError(f"{pkl} holds {len(samples)} samples but {SAMPLE_STEPS} "
                                 f"lists {len(steps)} steps{move}")
        return samples, steps

    def losses(self):
        """The legacy list of (d_loss, g_loss) numpy float32 tuples."""
        return _losses(self.records)

    def append(self, record):
        """Adds one record (see extend)."""
        self.extend([record])

    def add_evaluation(self, step, evaluation, now):
        """Adds the metrics of an evaluation of `step` after the records up to `step` were
        written (and checkpointed): merged into the record of `step`, metrics.jsonl then
        replaced atomically (evaluations are rare), or a record of their own at `now`."""
        if self.records and self.records[-1]["step"] == step:
            self.records[-1].update(evaluation)
            text = "".join(json.dumps(r) + "\n" for r in self.records)
            fileio.atomic_write(self.path(METRICS), text.encode("utf-8"))
        else:
            self.extend([{"step": step, "time": now, **evaluation}])

    def extend(self, records):
        """Adds records to metrics.jsonl and train_losses.pkl: one append to each."""
        if not records:
            return
        try:
            with open(self.path(METRICS), "a", encoding="utf-8", opener=fileio.no_follow) as f:
                f.write("".join(json.dumps(record) + "\n" for record in records))
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise LogFileError(f"cannot write {self.path(METRICS)}: {e.strerror or e}") from None
        self.records.extend(records)
        self._losses.extend(_losses(records), self.losses)

    def append_samples(self, step, images):
        """Adds the fixed-z samples (n, 28, 28[, 1]) taken at `step`."""
        images = np.asarray(images, np.float32)
        grid = images.reshape(images.shape[0], images.shape[1], images.shape[2])
        self.samples.append(grid)
        self.sample_steps.append(int(step))
        # The steps first: a crash in between leaves a step without its sample, which
        # resume drops; a sample without its step would be one whose step is unknown.
        fileio.atomic_write(self.path(SAMPLE_STEPS), json.dumps(self.sample_steps).encode("utf-8"))
        self._samples.extend([grid], lambda: self.samples)


def _losses(records):
    return [(np.float32(r["d_loss"]), np.float32(r["g_loss"])) for r in records
            if "d_loss" in r]  # evaluation-only records carry no losses
