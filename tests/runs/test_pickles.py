"""gan_tf.runs.pickles: pickles that try to run code or exhaust memory are refused; numpy 1
and 2 pickles of every protocol, and Python 2's, still load."""
import os
import pickle
import pickletools
import struct
import subprocess
import sys

import numpy as np
import pytest

from gan_tf import errors
from gan_tf.runs import logs, pickles
from tests.helpers import ROOT, one_error_line


# Pickles written opcode by opcode, the way an attacker would.
def text(s):
    b = s.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(b)) + b


def integer(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "little", signed=True)
    if len(b) < 256:
        return pickle.LONG1 + bytes([len(b)]) + b
    return pickle.LONG4 + struct.pack("<i", len(b)) + b


def stack_global(module, name):
    return text(module) + text(name) + pickle.STACK_GLOBAL


def call(func, *args):
    return func + pickle.MARK + b"".join(args) + pickle.TUPLE + pickle.REDUCE


def protocol4(body):
    return pickle.PROTO + b"\x04" + body + pickle.STOP


def exploit(marker, module="numpy.dtypes", name="__builtins__.get"):
    """module.name is dict.get of the builtins: .get('eval')(expression)."""
    expression = f"open({str(marker)!r}, 'w').close()"
    return protocol4(call(call(stack_global(module, name), text("eval")), text(expression)))


def test_the_dotted_name_exploit_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(exploit(marker))
    with pytest.raises(errors.UnsafePickleError, match="numpy.dtypes.__builtins__.get"):
        pickles.load_pickle(str(path))
    assert not marker.exists()
    with pytest.raises(errors.LogFormatError, match="evil.pkl"):
        logs.load_losses(str(path))
    assert not marker.exists()


def test_plot_losses_refuses_the_exploit_in_one_line(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(exploit(marker))
    result = subprocess.run([sys.executable, "-m", "gan_tf.plot_losses", "evil.pkl"],
                            cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=ROOT),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "evil.pkl" in one_error_line(result) and "refusing to load" in one_error_line(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists() and not (tmp_path / "evil.png").exists()


@pytest.mark.parametrize("module,name", [
    ("numpy.dtypes", "_add_dtype_helper.__builtins__.get"),
    ("numpy", "__builtins__.get"),
    ("numpy", "dtypes.__builtins__.get"),
    ("numpy._core.multiarray", "__builtins__.get"),
    ("numpy.core.multiarray", "_reconstruct.__globals__.get"),
    ("_codecs", "__builtins__.get"),
    ("numpy.dtypes", "Float32DType"),  # numpy pickles dtypes as numpy.dtype: not needed
    ("builtins", "eval"), ("builtins", "getattr"), ("builtins", "bytearray"),
    ("numpy", "nd\narray" * 100),
])
def test_dotted_and_unlisted_names_are_refused(tmp_path, module, name):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(exploit(marker, module, name))
    with pytest.raises(errors.UnsafePickleError, match="refusing to load"):
        pickles.load_pickle(str(path))
    with pytest.raises(errors.LogFormatError) as error:
        logs.load_losses(str(path))
    assert "\n" not in str(error.value) and len(str(error.value)) < 500
    assert not marker.exists()


@pytest.mark.parametrize("body", [
    call(stack_global("builtins", "bytearray"), integer(10 ** 13)),
    call(stack_global("numpy", "ndarray"), pickle.MARK + integer(10 ** 13) + pickle.TUPLE),
    call(stack_global("numpy.core.multiarray", "_reconstruct"), stack_global("numpy", "ndarray"),
         pickle.MARK + integer(10 ** 13) + pickle.TUPLE, pickle.SHORT_BINBYTES + b"\x01b"),
    # Far more than the file holds, though it would fit in memory.
    call(stack_global("numpy._core.multiarray", "_reconstruct"), stack_global("numpy", "ndarray"),
         pickle.MARK + integer(10 ** 7) + pickle.TUPLE, pickle.SHORT_BINBYTES + b"\x01b"),
    pickle.BYTEARRAY8 + struct.pack("<Q", 10 ** 13),
], ids=["bytearray", "ndarray", "reconstruct", "more_than_the_file", "bytearray8"])
def test_memory_bombs_are_refused_before_allocating(tmp_path, body):
    path = tmp_path / "bomb.pkl"
    path.write_bytes(protocol4(body))
    with pytest.raises(pickle.UnpicklingError):
        pickles.load_pickle(str(path))
    with pytest.raises(errors.LogFormatError, match="bomb.pkl"):
        logs.load_losses(str(path))


def test_a_pickle_that_runs_out_of_memory_anyway_is_one_line(tmp_path, monkeypatch):
    def no_memory(self):
        raise MemoryError
    monkeypatch.setattr(pickles._SafeUnpickler, "load", no_memory)
    path = tmp_path / "losses.pkl"
    path.write_bytes(pickle.dumps([(1.0, 2.0)]))
    with pytest.raises(errors.LogFormatError, match="losses.pkl.*memory"):
        logs.load_losses(str(path))


def numpy_values():
    return {"losses": [(np.float32(1.5), np.float32(0.25)), (np.float32(1.0), np.float32(2.0))],
            "samples": [np.linspace(-1, 1, 2 * 784, dtype=np.float32).reshape(2, 28, 28),
                        np.zeros((2, 28, 28), ">f4"), np.ones((2, 28, 28), np.float64).T],
            "dtypes": [np.dtype("f4"), np.dtype(">f8"), np.dtype(bool), np.dtype("u1")],
            "scalars": [np.float64(2.5), np.int64(-3), np.bool_(True), np.float16(0.5)]}


def assert_same(loaded, value):
    assert type(loaded) is type(value) and len(loaded) == len(value)
    for a, b in zip(loaded, value):
        if isinstance(b, np.ndarray):
            assert a.dtype.str[1:] == b.dtype.str[1:] and a.shape == b.shape  # numpy loads native
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b and type(a) is type(b)


def as_numpy1(data):
    """numpy 2's pickle as numpy 1.x writes it: numpy.core instead of numpy._core (frames,
    which are optional, dropped so that the names can change length)."""
    frames = [pos for op, _, pos in pickletools.genops(data) if op.name == "FRAME"]
    for pos in reversed(frames):
        data = data[:pos] + data[pos + 9:]
    for new in (b"numpy._core.multiarray", b"numpy._core.numeric"):
        old = new.replace(b"._core.", b".core.")
        data = data.replace(new + b"\n", old + b"\n")  # protocols 0-3: GLOBAL
        data = data.replace(pickle.SHORT_BINUNICODE + bytes([len(new)]) + new,
                            pickle.SHORT_BINUNICODE + bytes([len(old)]) + old)  # 4, 5
    assert b"_core" not in data
    return data


@pytest.mark.parametrize("numpy_major", [1, 2])
@pytest.mark.parametrize("protocol", range(6))
def test_numpy_1_and_2_pickles_load(tmp_path, protocol, numpy_major):
    for name, value in numpy_values().items():
        data = pickle.dumps(value, protocol=protocol)
        if numpy_major == 1:
            data = as_numpy1(data)
        (tmp_path / name).write_bytes(data)
        assert_same(pickles.load_pickle(str(tmp_path / name)), value)
    path = tmp_path / "losses"
    np.testing.assert_array_equal(logs.load_losses(str(path)), [[1.5, 0.25], [1.0, 2.0]])


def test_python2_numpy_pickles_load(tmp_path):
    """Python 2's numpy wrote bytes as str (BINSTRING): read as latin-1, as numpy.load does."""
    def py2_str(b):
        return pickle.SHORT_BINSTRING + bytes([len(b)]) + b
    dtype = (b"cnumpy\ndtype\n" + py2_str(b"f4") + pickle.NEWFALSE + pickle.NEWTRUE
             + pickle.TUPLE3 + pickle.REDUCE + pickle.MARK + pickle.BININT1 + b"\x03"
             + py2_str(b"<") + pickle.NONE * 3 + pickle.BININT + b"\xff" * 4 + pickle.BININT
             + b"\xff" * 4 + pickle.BININT1 + b"\x00" + pickle.TUPLE + pickle.BUILD)
    scalar = (b"cnumpy.core.multiarray\nscalar\n" + dtype + py2_str(np.float32(1.5).tobytes())
              + pickle.TUPLE2 + pickle.REDUCE)
    raw = np.arange(-2, 2, dtype=np.float32).tobytes()  # holds bytes >= 0x80
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + pickle.MARK + b"cnumpy\nndarray\n"
             + pickle.MARK + pickle.BININT1 + b"\x00" + pickle.TUPLE + py2_str(b"b")
             + pickle.TUPLE + pickle.REDUCE + pickle.MARK + pickle.BININT1 + b"\x01"
             + pickle.MARK + pickle.BININT1 + b"\x04" + pickle.TUPLE + dtype + pickle.NEWFALSE
             + py2_str(raw) + pickle.TUPLE + pickle.BUILD)
    path = tmp_path / "py2.pkl"
    path.write_bytes(b"\x80\x02" + pickle.MARK + scalar + array + pickle.LIST + pickle.STOP)
    value, arr = pickles.load_pickle(str(path))
    assert type(value) is np.float32 and value == 1.5
    np.testing.assert_array_equal(arr, np.arange(-2, 2, dtype=np.float32))


@pytest.mark.parametrize("value", [
    np.array([1, "x"], dtype=object), np.dtype("O"), np.array([(1, 2.0)], "i4,f4"),
    np.zeros(3, "U2"), np.dtype("(2,)f4"), np.zeros(2, "c8"), {1, 2}, b"a".decode,
], ids=["object_array", "object_dtype", "structured", "unicode", "subarray", "complex", "set",
        "method"])
def test_anything_but_numeric_numpy_data_is_refused(tmp_path, value):
    path = tmp_path / "x.pkl"
    for protocol in (2, 4) if not isinstance(value, set) else (2,):  # 4 has opcodes for sets
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        with pytest.raises(errors.UnsafePickleError, match="refusing"):
            pickles.load_pickle(str(path))


def test_a_dtype_state_that_would_corrupt_memory_is_refused(tmp_path):
    """numpy.dtype.__setstate__ takes any flags and fields: flags saying 'holds objects' on a
    float32 would make numpy free float bits as pointers."""
    data = pickle.dumps(np.dtype("f4"), protocol=2)
    state = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00"
    assert data.count(state) == 1
    path = tmp_path / "x.pkl"
    path.write_bytes(data.replace(state, state[:-1] + b"\x3f"))
    with pytest.raises(errors.UnsafePickleError, match="state"):
        pickles.load_pickle(str(path))


# --- issue 31: opcodes that reach freed memory, and memory and CPU bombs -------------------

RECONSTRUCT = stack_global("numpy._core.multiarray", "_reconstruct")


def dtype_of(spec):
    """numpy.dtype('f8') with its state as numpy writes it; '>f8' sets the byte order."""
    order, kind = (spec[0], spec[1:]) if spec[0] in "<>" else ("<", spec)
    state = (pickle.MARK + integer(3) + text(order) + pickle.NONE * 3 + integer(-1) * 2
             + integer(0) + pickle.TUPLE)
    return (call(stack_global("numpy", "dtype"), text(kind), pickle.NEWFALSE, pickle.NEWTRUE)
            + state + pickle.BUILD)


def unbuilt_array(shape, dtype="f4"):
    """numpy's _reconstruct(ndarray, shape, dtype): an array BUILD has not yet set."""
    shape_tuple = pickle.MARK + b"".join(integer(n) for n in shape) + pickle.TUPLE
    return call(RECONSTRUCT, stack_global("numpy", "ndarray"), shape_tuple, dtype_of(dtype))


def array_state(shape, dtype, data):
    """The state tuple numpy's ndarray.__reduce__ writes: (1, shape, dtype, fortran, bytes)."""
    return (pickle.MARK + integer(1) + pickle.MARK + b"".join(integer(n) for n in shape)
            + pickle.TUPLE + dtype_of(dtype) + pickle.NEWFALSE + pickle.BINBYTES + struct.pack("<I", len(data)) + data
            + pickle.TUPLE)


def use_after_free(victim_floats=784):
    """A (1, 784) grid filled from a memoryview of an array whose buffer a second BUILD
    frees: READONLY_BUFFER, BUILD, then SETITEM on the grid copies freed heap bytes. (A
    bytes object as large as the victim first, so that the file holds what it allocates.)"""
    padding = pickle.BINBYTES + struct.pack("<I", 4 * victim_floats) + bytes(4 * victim_floats)
    grid = (padding + pickle.POP + unbuilt_array((1, victim_floats))
            + array_state((1, victim_floats), "<f4", bytes(4 * victim_floats)) + pickle.BUILD)
    return protocol4(
        grid + pickle.MEMOIZE                                   # memo 0: the grid
        + unbuilt_array((victim_floats,)) + pickle.MEMOIZE      # memo 1: the victim, unbuilt
        + pickle.READONLY_BUFFER + pickle.MEMOIZE + pickle.POP  # memo 2: a view of its buffer
        + pickle.BINGET + b"\x01" + array_state((1,), "<f4", bytes(4)) + pickle.BUILD + pickle.POP  # frees the buffer
        + pickle.BINGET + b"\x00" + pickle.NONE + pickle.BINGET + b"\x02" + pickle.SETITEM)


def test_a_memoryview_of_an_array_is_refused_before_it_can_outlive_the_buffer(tmp_path):
    path = tmp_path / "train_samples.pkl"
    path.write_bytes(use_after_free())
    with pytest.raises(errors.UnsafePickleError, match="READONLY_BUFFER|buffer"):
        pickles.load_pickle(str(path))


def test_plot_losses_of_the_use_after_free_is_one_line_not_a_segfault(tmp_path):
    path = tmp_path / "train_losses.pkl"
    path.write_bytes(use_after_free())
    result = subprocess.run([sys.executable, "-m", "gan_tf.plot_losses", str(path),
                             "--out", str(tmp_path / "x.png")],
                            env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "train_losses.pkl" in one_error_line(result) and "refusing" in one_error_line(result)
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("target", [
    unbuilt_array((4,)) + pickle.NONE + integer(1) + pickle.SETITEM,           # array[None] = 1
    unbuilt_array((4,)) + integer(1) + pickle.APPEND,
    unbuilt_array((4,)) + pickle.MARK + integer(1) + pickle.APPENDS,
    pickle.BINBYTES + struct.pack("<I", 3) + b"abc" + integer(1) + pickle.APPEND,  # no .append
    pickle.BYTEARRAY8 + struct.pack("<Q", 3) + b"abc" + integer(1) + pickle.APPEND,
    pickle.BYTEARRAY8 + struct.pack("<Q", 3) + b"abc" + integer(0) + integer(1) + pickle.SETITEM,
    pickle.EMPTY_DICT + integer(1) + integer(2) + pickle.SETITEM,             # non-string key
    pickle.EMPTY_DICT + pickle.MARK + integer(1) + integer(2) + pickle.SETITEMS,
    pickle.MARK + integer(1) + integer(2) + pickle.DICT,
    pickle.EMPTY_SET + pickle.MARK + integer(1) + pickle.ADDITEMS,
    pickle.MARK + integer(1) + pickle.FROZENSET,
], ids=["array_setitem", "array_append", "array_appends", "bytes_append", "bytearray_append",
        "bytearray_setitem", "int_key", "int_keys", "dict_opcode_int_key", "set", "frozenset"])
def test_containers_are_filled_only_when_they_are_lists_or_string_keyed_dicts(tmp_path, target):
    path = tmp_path / "x.pkl"
    path.write_bytes(protocol4(target))
    with pytest.raises(errors.UnsafePickleError, match="refusing"):
        pickles.load_pickle(str(path))


def test_lists_and_string_keyed_dicts_still_load(tmp_path):
    value = {"d_loss": [1.0, 2.0], "g": ({"nested": [np.float32(3.0)]},)}
    for protocol in range(6):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        assert pickles.load_pickle(str(path)) == value


def peak_bytes_of_loading(path):
    import tracemalloc  # numpy reports its buffers to tracemalloc
    tracemalloc.start()
    try:
        try:
            pickles.load_pickle(str(path))
        except (errors.LogFormatError, errors.UnsafePickleError):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def byteswap_bomb(file_bytes):
    """One memoized (_reconstruct, args) pair and state of a file-sized '>f8' buffer, rebuilt
    every 9 bytes into one list: numpy copies the byte-swapped buffer at every BUILD."""
    data = bytes(file_bytes // 2)
    head = (unbuilt_array((0,), "f8") + pickle.POP
            + RECONSTRUCT + pickle.MEMOIZE  # memo 0
            + pickle.MARK + stack_global("numpy", "ndarray") + pickle.MARK + integer(0)
            + pickle.TUPLE + pickle.SHORT_BINBYTES + b"\x01b" + pickle.TUPLE + pickle.MEMOIZE
            + pickle.POP + pickle.POP  # memo 1: the arguments
            + array_state((len(data) // 8,), ">f8", data) + pickle.MEMOIZE + pickle.POP  # memo 2
            + pickle.EMPTY_LIST)
    one = (pickle.BINGET + b"\x00" + pickle.BINGET + b"\x01" + pickle.REDUCE
           + pickle.BINGET + b"\x02" + pickle.BUILD + pickle.APPEND)
    return protocol4(head + one * ((file_bytes - len(head)) // len(one)))


def test_memory_is_bounded_by_the_whole_file_not_per_array(tmp_path):
    path = tmp_path / "bomb.pkl"
    path.write_bytes(byteswap_bomb(128 * 1024))  # before: 483 MiB
    with pytest.raises(errors.UnsafePickleError, match="more than"):
        pickles.load_pickle(str(path))
    assert peak_bytes_of_loading(path) < 16 * 128 * 1024 + (4 << 20)


def test_a_memoized_string_encoded_again_and_again_is_bounded(tmp_path):
    """protocols 0-2 write bytes as _codecs.encode(text, 'latin1'): every call a new copy."""
    path = tmp_path / "bomb.pkl"
    head = text("x" * 50_000) + pickle.MEMOIZE + pickle.POP
    one = call(stack_global("_codecs", "encode"), pickle.BINGET + b"\x00",
               text("latin1")) + pickle.POP
    path.write_bytes(protocol4(head + one * 3000 + pickle.NONE))
    with pytest.raises(errors.UnsafePickleError, match="more than"):
        pickles.load_pickle(str(path))


def load_in_a_subprocess(path, timeout=60):
    """Loads `path` with load_pickle in a fresh process: (exit status, stderr)."""
    code = ("import sys; from gan_tf import logs\n"
            "try:\n    logs.load_losses(sys.argv[1])\n"
            "except Exception as e:\n    print(type(e).__name__, e, file=sys.stderr); sys.exit(1)")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, timeout=timeout, env=dict(os.environ, PYTHONPATH=ROOT))
    return result.returncode, result.stderr


def test_a_shape_of_huge_integers_is_refused_without_multiplying_them(tmp_path):
    """A 256 KiB integer named 32 times in one shape: multiplying them first took minutes
    (30 s for 128 KiB on a 2-core EPYC, growing as size^1.55)."""
    number = int.from_bytes(np.random.default_rng(0).bytes(256 * 1024), "little") | 1
    shape = (pickle.MARK + integer(number) + pickle.MEMOIZE
             + (pickle.BINGET + b"\x00") * 31 + pickle.TUPLE)
    path = tmp_path / "shape.pkl"
    path.write_bytes(protocol4(call(RECONSTRUCT, stack_global("numpy", "ndarray"), shape,
                                    pickle.SHORT_BINBYTES + b"\x01b")))
    status, stderr = load_in_a_subprocess(path, timeout=30)
    assert status == 1 and "shape" in stderr and len(stderr.strip().splitlines()) == 1


def colliding_keys(count, memo=False):
    """Integers that all hash to 0 in CPython (multiples of 2**61 - 1)."""
    keys = [(2 ** 61 - 1) * (i + 1) for i in range(count)]
    if memo:  # protocol 0's PUT takes any decimal index: the memo is a dict of them
        return protocol4(pickle.NONE + b"".join(b"p%d\n" % k for k in keys))
    return protocol4(pickle.EMPTY_SET + pickle.MARK + b"".join(integer(k) for k in keys)
                     + pickle.ADDITEMS)


@pytest.mark.parametrize("memo", [False, True], ids=["set", "memo"])
def test_keys_that_all_hash_alike_are_refused_not_hashed(tmp_path, memo):
    path = tmp_path / "keys.pkl"
    path.write_bytes(colliding_keys(100_000, memo))  # before: about a minute each
    status, stderr = load_in_a_subprocess(path)
    assert status == 1 and "refusing" in stderr and len(stderr.strip().splitlines()) == 1
