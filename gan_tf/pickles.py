"""Pickles from untrusted files: plain data and numpy numbers and arrays, and nothing else.

`load_pickle` runs Python's own unpickler with every global a pickle may name on an
explicit list of (module, name) pairs, none dotted, each mapped to a checked stand-in:
numpy 1 and numpy 2 pickles of every protocol (and Python 2's) load; code, objects,
unknown names and allocations beyond the file's size are refused (docs/robustness.md).
"""
import io
import math
import pickle
import struct

import numpy as np

from gan_tf.errors import LogFormatError, UnsafePickleError


def one_line(text, limit=200):
    """`text` (a name or message from a file) escaped onto one line, at most `limit` long."""
    text = str(text).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def _refuse(what):
    raise UnsafePickleError(f"refusing to load {one_line(what)}: only lists, tuples, dicts, "
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
