"""Pickles from untrusted files: plain data and numpy numbers and arrays, and nothing else.

`load_pickle` runs Python's own unpickler with every global a pickle may name on an
explicit list of (module, name) pairs, none dotted, each mapped to a checked stand-in:
numpy 1 and numpy 2 pickles of every protocol (and Python 2's) load; code, objects,
unknown names, views of buffers, containers other than lists, tuples and string-keyed
dicts, and allocations beyond a small multiple of the file's size in all are refused,
each after work linear in what the file holds (docs/robustness.md).
"""
import io
import math
import pickle
import struct

import numpy as np

from gan_tf import fileio
from gan_tf.errors import LogFormatError, UnsafePickleError


def one_line(text, limit=200):
    """`text` (a name or message from a file) escaped onto one line, at most `limit` long."""
    text = str(text).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def _refuse(what):
    raise UnsafePickleError(f"refusing to load {one_line(what)}: only lists, tuples, dicts with "
                            "string keys, numbers, strings and numpy numbers and arrays of "
                            "numbers are allowed")


# What the loader may allocate in all (numpy arrays, copies, encoded bytes): a legitimate
# pickle allocates at most about its own size; any mix of opcodes at most this much.
ALLOCATION_FACTOR, ALLOCATION_SLACK = 4, 1 << 20
MAX_MEMO_INDEX = 2 ** 32 - 1  # LONG_BINPUT's range; protocol 0's PUT would take any integer


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


def _shape_text(shape):
    """A shape for a message, whatever integers a file put in it."""
    dims = [str(n) if n.bit_length() < 64 else f"<{n.bit_length()}-bit integer>" for n in shape]
    return one_line(f"({', '.join(dims)}{',' if len(dims) == 1 else ''})")


def _check_shape(shape, dtype, size, limit):
    """`shape` as a tuple; `size`: the bytes it must hold (None: any). Every dimension is
    compared with `limit` (the file's size) before any is multiplied: a shape of huge
    integers costs no more than reading it."""
    if not (type(shape) is tuple and len(shape) <= 32 and all(_is_int(n) and n >= 0 for n in shape)):
        _refuse(f"an array of shape {type(shape).__name__}")
    if any(n > limit for n in shape):
        raise UnsafePickleError(f"refusing to load an array of shape {_shape_text(shape)}: a "
                                "dimension is larger than the whole file")
    if size is not None and math.prod(shape) * dtype.itemsize != size:
        raise UnsafePickleError(f"refusing to load an array of shape {_shape_text(shape)} and "
                                f"dtype {dtype} from {size} bytes")
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
    allocated beyond a small multiple of the size of the file. Containers are filled
    only when they are lists and string-keyed dicts (never arrays, bytearrays or sets,
    whose hashing a file could make quadratic)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data):
        super().__init__(io.BytesIO(data), encoding="latin-1")
        self._budget = len(data)  # what a legitimate pickle can hold
        self._allowed = ALLOCATION_FACTOR * len(data) + ALLOCATION_SLACK  # all allocations
        self._allocated = 0
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

    def _charge(self, nbytes, what):
        """Counts `nbytes` about to be allocated for `what` against the file's allowance."""
        self._allocated += nbytes
        if self._allocated > self._allowed:
            raise UnsafePickleError(
                f"refusing to allocate {what}: more than {ALLOCATION_FACTOR} times the file's "
                f"size ({self._budget} bytes) in all")

    def _dtype(self, spec, align=False, copy=False):
        if not (isinstance(spec, str) and spec in _NUMERIC and _is_flag(align) and _is_flag(copy)):
            _refuse(f"numpy.dtype({spec!r})" if isinstance(spec, str) else "a numpy.dtype")
        return self._new(np.dtype(spec, copy=True))  # a copy: BUILD sets its byte order

    def _reconstruct(self, subtype, shape, dtype):
        if subtype is not _NDARRAY:
            _refuse("an ndarray subclass")
        placeholder = isinstance(dtype, (bytes, str)) and dtype in (b"b", "b")  # numpy writes
        dtype = np.dtype("b") if placeholder else _check_dtype(dtype)
        shape = _check_shape(shape, dtype, None, self._budget)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > self._budget:
            raise UnsafePickleError(f"refusing to allocate an array of shape {_shape_text(shape)}: "
                                    "more than the whole file holds")
        self._charge(nbytes, f"an array of shape {_shape_text(shape)}")
        return self._new(np.zeros(shape, dtype))

    def _scalar(self, dtype, data):
        data = _raw_bytes(data)
        _check_shape((), _check_dtype(dtype), len(data), self._budget)
        self._charge(len(data), "a numpy scalar")
        return np.frombuffer(data, dtype)[0]

    def _frombuffer(self, buf, dtype, shape, order):
        buf = _raw_bytes(buf)
        shape = _check_shape(shape, _check_dtype(dtype), len(buf), self._budget)
        if order not in ("C", "F"):
            _refuse(f"array order {order!r}" if isinstance(order, str) else "an array order")
        self._charge(len(buf), f"an array of shape {_shape_text(shape)}")
        return np.frombuffer(buf, dtype).reshape(shape, order=order)

    def _encode(self, text, encoding):
        if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
            _refuse("_codecs.encode of anything but latin-1 text")
        self._charge(len(text), "bytes encoded from text")
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
            _check_shape(state[1], _check_dtype(state[2]), len(state[4]), self._budget)
            self._charge(len(state[4]), f"an array of shape {_shape_text(state[1])}")  # a copy
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
        self._charge(size, "a bytearray")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8

    # Filling containers: only lists, and dicts with string keys (whose hashes are
    # randomised: no file can make them collide), are ever changed after they are made.
    # An array's item assignment could copy from memory a view no longer owns; a set's
    # or an int-keyed dict's hashing can be made quadratic.
    @staticmethod
    def _target(target, kind):
        if type(target) is not kind:
            _refuse(f"{'items added to' if kind is list else 'items set on'} "
                    f"{type(target).__name__}")
        return target

    @staticmethod
    def _string_keys(keys):
        for key in keys:
            if type(key) is not str:
                _refuse(f"a dict with {type(key).__name__} keys")

    def load_append(self):
        value = self.stack.pop()
        self._target(self.stack[-1], list).append(value)

    def load_appends(self):
        items = self.pop_mark()
        self._target(self.stack[-1], list).extend(items)

    def load_setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        self._string_keys([key])
        self._target(self.stack[-1], dict)[key] = value

    def load_setitems(self):
        items = self.pop_mark()
        self._string_keys(items[::2])
        target = self._target(self.stack[-1], dict)
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_dict(self):
        items = self.pop_mark()
        self._string_keys(items[::2])
        self.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})

    def load_set(self):
        _refuse("a set")

    def load_view(self):
        _refuse("a view of a buffer (READONLY_BUFFER or NEXT_BUFFER: numpy writes them only "
                "for out-of-band data)")

    def _memo_index(self):
        line = self.readline()[:-1]
        if not (line.isdigit() and len(line) <= 10 and int(line) <= MAX_MEMO_INDEX):
            _refuse(f"a memo index {line[:20]!r}")
        return int(line)

    def load_put(self):
        self.memo[self._memo_index()] = self.stack[-1]

    def load_get(self):
        index = self._memo_index()
        if index not in self.memo:
            raise pickle.UnpicklingError(f"memo value {index} not found")
        self.append(self.memo[index])

    for _opcode, _load in ((pickle.APPEND, load_append), (pickle.APPENDS, load_appends),
                           (pickle.SETITEM, load_setitem), (pickle.SETITEMS, load_setitems),
                           (pickle.DICT, load_dict), (pickle.EMPTY_SET, load_set),
                           (pickle.FROZENSET, load_set), (pickle.ADDITEMS, load_set),
                           (pickle.READONLY_BUFFER, load_view), (pickle.NEXT_BUFFER, load_view),
                           (pickle.PUT, load_put), (pickle.GET, load_get)):
        dispatch[_opcode[0]] = _load
    del _opcode, _load

    def load_object(self):
        _refuse("an object built by INST, OBJ, NEWOBJ or NEWOBJ_EX")

    for _opcode in (pickle.INST, pickle.OBJ, pickle.NEWOBJ, pickle.NEWOBJ_EX):
        dispatch[_opcode[0]] = load_object
    del _opcode


def load_pickle(path):
    """Loads a train_losses.pkl / train_samples.pkl (or any pickle of plain data and numpy
    numbers and arrays, from numpy 1 or 2) without running code from it: anything else
    raises UnsafePickleError."""
    try:  # a regular file, whose size bounds the read (a device like /dev/zero never ends)
        with fileio.open_regular(path) as f:
            return _SafeUnpickler(f.read()).load()
    except fileio.NotSmallFile as e:
        raise LogFormatError(f"{path}: cannot read ({e.why})") from None
    except MemoryError:
        raise LogFormatError(f"{path}: needs more memory than this machine has to load") from None
