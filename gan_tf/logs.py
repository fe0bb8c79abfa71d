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
import math
import os
import pickle
import struct

import numpy as np

from gan_tf.errors import LogFileError, LogFormatError, UnsafePickleError
from gan_tf import fileio

LOSSES = "train_losses.pkl"
SAMPLES = "train_samples.pkl"
SAMPLE_STEPS = "train_samples_steps.json"
METRICS = "metrics.jsonl"


def _one_line(text, limit=200):
    """`text` (a name or message from a file) escaped onto one line, at most `limit` long."""
    text = str(text).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def _refuse(what):
    raise UnsafePickleError(f"refusing to load {_one_line(what)}: only lists, tuples, dicts, "
                            "numbers, strings and numpy numbers and arrays of numbers are allowed")


# The numpy dtypes a log may hold, as numpy pickles them (bool, ints, floats).
_NUMERIC = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}
_DTYPE_STATE_TAIL = (None, None, None, -1, -1, 0)  # a plain number's: no fields, flags


class _NdarrayName:
    """numpy.ndarray as a pickle names it: good only as _reconstruct's first argument."""

    def __call__(self, *args):
        _refuse("a call of numpy.ndarray")


_NDARRAY = _NdarrayName()


def _is_int(x):
    return type(x) is int


def _is_flag(x):
    return type(x) in (bool, int) and x in (0, 1)


def _check_dtype(dtype):
    if not (isinstance(dtype, np.dtype) and dtype.str[1:] in _NUMERIC and dtype.names is None
            and dtype.subdtype is None and not dtype.hasobject):
        _refuse(f"an array or scalar of dtype "
                f"{dtype if isinstance(dtype, np.dtype) else type(dtype).__name__}")
    return dtype


def _check_shape(shape, dtype, size):
    """`shape` as a tuple; `size`: the bytes it must hold (None: at most what the file holds)."""
    if not (type(shape) is tuple and len(shape) <= 32 and all(_is_int(n) and n >= 0 for n in shape)):
        _refuse(f"an array of shape {type(shape).__name__}")
    if size is not None and math.prod(shape) * dtype.itemsize != size:
        raise UnsafePickleError(f"refusing to load an array of shape {shape} and dtype {dtype} "
                                f"from {size} bytes")
    return shape


def _raw_bytes(data):
    """Python 2's numpy wrote raw bytes as str, read back as latin-1 (as numpy.load does)."""
    if isinstance(data, str):
        return data.encode("latin-1")
    if not isinstance(data, (bytes, bytearray)):
        _refuse(f"array data of type {type(data).__name__}")
    return data


class _SafeUnpickler(pickle._Unpickler):  # the Python one: its opcodes can be overridden
    """Loads plain data and numpy numbers and arrays, and nothing else: every global a
    pickle may name is an explicit (module, name) pair mapped to a checked stand-in, so
    no dotted name reaches any attribute, nothing runs but the checks, state is set only
    on numpy arrays and dtypes and only the state numpy itself pickles, and nothing is
    allocated beyond the size of the file."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data):
        super().__init__(io.BytesIO(data), encoding="latin-1")
        self._budget = len(data)  # what a legitimate pickle can hold
        self._unbuilt = {}  # id -> the arrays and dtypes made here, whose state BUILD sets once
        self._globals = {
            ("numpy", "ndarray"): _NDARRAY,  # only as _reconstruct's argument
            ("numpy", "dtype"): self._dtype,
            ("numpy.core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy.core.multiarray", "scalar"): self._scalar,
            ("numpy._core.multiarray", "scalar"): self._scalar,
            ("numpy.core.numeric", "_frombuffer"): self._frombuffer,  # protocol 5
            ("numpy._core.numeric", "_frombuffer"): self._frombuffer,
            ("_codecs", "encode"): self._encode,  # protocols 0-2: bytes as latin-1 text
        }

    def find_class(self, module, name):
        if (module, name) not in self._globals:
            _refuse(f"{module}.{name}")
        return self._globals[module, name]

    def _new(self, value):
        self._unbuilt[id(value)] = value
        return value

    def _dtype(self, spec, align=False, copy=False):
        if not (isinstance(spec, str) and spec in _NUMERIC and _is_flag(align) and _is_flag(copy)):
            _refuse(f"numpy.dtype({spec!r})" if isinstance(spec, str) else "a numpy.dtype")
        return self._new(np.dtype(spec, copy=True))  # a copy: BUILD sets its byte order

    def _reconstruct(self, subtype, shape, dtype):
        if subtype is not _NDARRAY:
            _refuse("an ndarray subclass")
        placeholder = isinstance(dtype, (bytes, str)) and dtype in (b"b", "b")  # numpy writes
        dtype = np.dtype("b") if placeholder else _check_dtype(dtype)
        shape = _check_shape(shape, dtype, None)
        if math.prod(shape) * dtype.itemsize > self._budget:
            raise UnsafePickleError(f"refusing to allocate an array of shape {shape}: more "
                                    "than the whole file holds")
        return self._new(np.zeros(shape, dtype))

    @staticmethod
    def _scalar(dtype, data):
        data = _raw_bytes(data)
        _check_shape((), _check_dtype(dtype), len(data))
        return np.frombuffer(data, dtype)[0]

    @staticmethod
    def _frombuffer(buf, dtype, shape, order):
        buf = _raw_bytes(buf)
        shape = _check_shape(shape, _check_dtype(dtype), len(buf))
        if order not in ("C", "F"):
            _refuse(f"array order {order!r}" if isinstance(order, str) else "an array order")
        return np.frombuffer(buf, dtype).reshape(shape, order=order)

    @staticmethod
    def _encode(text, encoding):
        if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
            _refuse("_codecs.encode of anything but latin-1 text")
        return text.encode("latin-1")

    def load_build(self):
        state, inst = self.stack.pop(), self.stack[-1]
        if self._unbuilt.pop(id(inst), None) is not inst:
            _refuse(f"a state for {type(inst).__name__}")
        if type(inst) is np.ndarray:
            if not (type(state) is tuple and len(state) == 5 and _is_int(state[0])
                    and state[0] == 1 and _is_flag(state[3])):
                _refuse("an array state numpy does not write")
            state = state[:4] + (_raw_bytes(state[4]),)
            _check_shape(state[1], _check_dtype(state[2]), len(state[4]))
        elif isinstance(inst, np.dtype):
            if not (type(state) is tuple and len(state) == 8 and _is_int(state[0])
                    and state[0] == 3 and isinstance(state[1], str) and state[1] in "<>|="
                    and len(state[1]) == 1
                    and all(a is b if b is None else _is_int(a) and a == b
                            for a, b in zip(state[2:], _DTYPE_STATE_TAIL))):
                _refuse("a dtype state that is not a plain number's")
        inst.__setstate__(state)

    dispatch[pickle.BUILD[0]] = load_build

    def load_bytearray8(self):  # Python's allocates the size the pickle claims, then reads
        size, = struct.unpack("<Q", self.read(8))
        data = self.read(size)  # never more than the file holds
        if len(data) != size:
            raise pickle.UnpicklingError("pickle data was truncated")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8

    def load_object(self):
        _refuse("an object built by INST, OBJ, NEWOBJ or NEWOBJ_EX")

    for _opcode in (pickle.INST, pickle.OBJ, pickle.NEWOBJ, pickle.NEWOBJ_EX):
        dispatch[_opcode[0]] = load_object
    del _opcode


def load_pickle(path):
    """Loads a train_losses.pkl / train_samples.pkl (or any pickle of plain data and numpy
    numbers and arrays, from numpy 1 or 2) without running code from it: anything else
    raises UnsafePickleError."""
    try:
        with open(path, "rb") as f:
            return _SafeUnpickler(f.read()).load()
    except MemoryError:
        raise LogFormatError(f"{path}: needs more memory than this machine has to load") from None


def _read_pickle(path, advice=""):
    """load_pickle, any failure one LogFormatError naming the file."""
    try:
        return load_pickle(path)
    except LogFormatError:
        raise
    except OSError as e:
        raise LogFormatError(f"{path}: cannot read ({e.strerror or e}){advice}") from None
    except Exception as e:  # noqa: BLE001 - a hostile file can raise anything while loading
        raise LogFormatError(f"{path}: not a loadable pickle ({type(e).__name__}: "
                             f"{_one_line(e)}){advice}") from None


def load_losses(path):
    """A train_losses.pkl (gan_tf's or a legacy notebook's) as a (n, 2) float32 array."""
    losses = _read_pickle(path)
    number = (int, float, np.number, np.bool_)
    if not (isinstance(losses, (list, tuple)) and all(
            isinstance(pair, (list, tuple)) and len(pair) == 2
            and all(isinstance(x, number) for x in pair) for pair in losses)):
        raise LogFormatError(f"{path}: expected a list of (d_loss, g_loss) pairs, got "
                             f"{type(losses).__name__}"
                             f"{f' of {len(losses)}' if isinstance(losses, (list, tuple)) else ''}")
    return np.asarray(losses, dtype=np.float32).reshape(len(losses), 2)


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
            record = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "is not UTF-8 text"
        except ValueError as e:
            problem = f"is not JSON ({e})"
        else:
            if isinstance(record, dict) and isinstance(record.get("step"), int):
                records.append(record)
                continue
            problem = "is not a metrics record"
        if number == numbered[-1][0] and problem != "is not a metrics record":
            break  # the last line, cut short by a crash
        raise LogFormatError(f"{path}: line {number} {problem}; repair or delete that line "
                             "(the file was left as it was)")
    if up_to_step is not None:
        after = [i for i, r in enumerate(records) if r["step"] > up_to_step]
        records = records[:after[0]] if after else records
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
        """Loads what is logged up to `step` and cuts every file back to it. Every file is
        checked before any is rewritten, so a refused resume leaves them as they were."""
        records = read_metrics(self.path(METRICS), up_to_step=step)
        samples, steps = self._read_samples()
        kept = [(grid, s) for grid, s in zip(samples, steps) if s <= step]
        self.records = records
        self.samples, self.sample_steps = [g for g, _ in kept], [s for _, s in kept]
        text = "".join(json.dumps(r) + "\n" for r in self.records)
        fileio.atomic_write(self.path(METRICS), text.encode("utf-8"))
        self._write_losses()
        self._write_samples()

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
                steps = json.loads(f.read().decode("utf-8"))
        except OSError as e:
            raise LogFormatError(f"{steps_json}: cannot read ({e.strerror or e}){move}") from None
        except ValueError as e:  # UnicodeDecodeError included
            raise LogFormatError(f"{steps_json}: not JSON ({e}){move}") from None
        if not (isinstance(steps, list) and all(_is_int(s) for s in steps)):
            raise LogFormatError(f"{steps_json}: expected a list of steps{move}")
        if not os.path.exists(pkl):
            if len(steps) > 1:  # more than the first sample's crash window
                raise LogFormatError(f"{steps_json} lists {len(steps)} samples but {SAMPLES} "
                                     f"is missing; put it back, or move {SAMPLE_STEPS} away "
                                     "to resume without the old samples")
            return [], []
        samples = _read_pickle(pkl, move)
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
        fileio.atomic_write(self.path(LOSSES), pickle.dumps(self.losses()))

    def _write_samples(self):
        # The steps first: a crash in between leaves a step without its sample, which
        # resume drops; a sample without its step would be one whose step is unknown.
        fileio.atomic_write(self.path(SAMPLE_STEPS), json.dumps(self.sample_steps).encode("utf-8"))
        fileio.atomic_write(self.path(SAMPLES), pickle.dumps(self.samples))
