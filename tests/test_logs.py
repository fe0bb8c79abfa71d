"""The log files of a run as untrusted input: pickles that try to run code or exhaust
memory, legacy pickles that must still load, and resumes from damaged logs that must
refuse in one line and leave every file as it was."""
import dataclasses
import json
import os
import pickle
import pickletools
import struct
import subprocess
import sys

import numpy as np
import pytest

from gan_tf import logs, train
from tests.helpers import ROOT, one_error_line, run_config


# Pickles written opcode by opcode, the way an attacker would.
def text(s):
    b = s.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(b)) + b


def integer(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "little", signed=True)
    return pickle.LONG1 + bytes([len(b)]) + b


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
    with pytest.raises(logs.UnsafePickleError, match="numpy.dtypes.__builtins__.get"):
        logs.load_pickle(str(path))
    assert not marker.exists()
    with pytest.raises(logs.LogFormatError, match="evil.pkl"):
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
    with pytest.raises(logs.UnsafePickleError, match="refusing to load"):
        logs.load_pickle(str(path))
    with pytest.raises(logs.LogFormatError) as error:
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
        logs.load_pickle(str(path))
    with pytest.raises(logs.LogFormatError, match="bomb.pkl"):
        logs.load_losses(str(path))


def test_a_pickle_that_runs_out_of_memory_anyway_is_one_line(tmp_path, monkeypatch):
    def no_memory(self):
        raise MemoryError
    monkeypatch.setattr(logs._SafeUnpickler, "load", no_memory)
    path = tmp_path / "losses.pkl"
    path.write_bytes(pickle.dumps([(1.0, 2.0)]))
    with pytest.raises(logs.LogFormatError, match="losses.pkl.*memory"):
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
        assert_same(logs.load_pickle(str(tmp_path / name)), value)
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
    value, arr = logs.load_pickle(str(path))
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
        with pytest.raises(logs.UnsafePickleError, match="refusing"):
            logs.load_pickle(str(path))


def test_a_dtype_state_that_would_corrupt_memory_is_refused(tmp_path):
    """numpy.dtype.__setstate__ takes any flags and fields: flags saying 'holds objects' on a
    float32 would make numpy free float bits as pointers."""
    data = pickle.dumps(np.dtype("f4"), protocol=2)
    state = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00"
    assert data.count(state) == 1
    path = tmp_path / "x.pkl"
    path.write_bytes(data.replace(state, state[:-1] + b"\x3f"))
    with pytest.raises(logs.UnsafePickleError, match="state"):
        logs.load_pickle(str(path))


def test_losses_of_the_wrong_shape_are_refused_without_building_them(tmp_path):
    """[[pair] * n] * n is small as a pickle, n * n * 2 as an array."""
    row = [1.0] * 10
    for value in ([row], [(1.0, 2.0), "x"], [[[1.0, 2.0]] * 10 ** 3] * 10 ** 3, "ab"):
        (tmp_path / "l.pkl").write_bytes(pickle.dumps(value))
        with pytest.raises(logs.LogFormatError, match="l.pkl: expected a list of"):
            logs.load_losses(str(tmp_path / "l.pkl"))


# metrics.jsonl
def write_metrics(path, lines, end=b"\n"):
    path.write_bytes(b"\n".join(lines) + end)


def record(step):
    return json.dumps({"step": step, "d_loss": 1.0, "g_loss": 2.0}).encode()


@pytest.mark.parametrize("bad", [b"garbage", b'{"step": 30, "d_lo', b'{"step": 3\xff\xfe0}',
                                 b"[1, 2]", b'{"step": "30"}'],
                         ids=["garbage", "torn", "not_utf8", "not_object", "no_step"])
def test_a_bad_line_before_the_last_is_an_error_naming_it(tmp_path, bad):
    path = tmp_path / "metrics.jsonl"
    write_metrics(path, [record(10), record(20), b"", bad, record(40), record(50)])
    with pytest.raises(logs.LogFormatError, match=r"metrics.jsonl: line 4 "):
        logs.read_metrics(str(path))
    with pytest.raises(logs.LogFormatError, match=r"metrics.jsonl: line 4 "):
        logs.read_metrics(str(path), up_to_step=20)


@pytest.mark.parametrize("torn", [b'{"step": 30, "d_lo', b'{"step": 30, "d_\xc3', b"\xff\xfe"])
@pytest.mark.parametrize("end", [b"", b"\n", b"\n\n"])
def test_a_torn_last_line_is_dropped(tmp_path, torn, end):
    path = tmp_path / "metrics.jsonl"
    write_metrics(path, [record(10), record(20), torn], end)
    assert [r["step"] for r in logs.read_metrics(str(path))] == [10, 20]
    assert [r["step"] for r in logs.read_metrics(str(path), up_to_step=10)] == [10]


def test_unreadable_metrics_file_is_one_line(tmp_path):
    (tmp_path / "metrics.jsonl").mkdir()
    with pytest.raises(logs.LogFileError, match="metrics.jsonl"):
        logs.read_metrics(str(tmp_path / "metrics.jsonl"))


# RunLogs.resume
def samples(n=2):
    return np.linspace(-1, 1, n * 784, dtype=np.float32).reshape(n, 28, 28)


@pytest.fixture
def run_dir(tmp_path):
    """A run's logs as training leaves them: steps 10..50, samples at 20 and 40."""
    run_logs = logs.RunLogs(str(tmp_path))
    for step in range(10, 60, 10):
        run_logs.append({"step": step, "d_loss": 1.0 / step, "g_loss": 2.0})
        if step % 20 == 0:
            run_logs.append_samples(step, samples()[..., None])
    return tmp_path


def snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def refused_resume(run_dir, match, step=40):
    before = snapshot(run_dir)
    with pytest.raises(logs.LogFormatError, match=match) as error:
        logs.RunLogs(str(run_dir)).resume(step)
    assert "\n" not in str(error.value)
    assert snapshot(run_dir) == before
    return str(error.value)


def test_resume_cuts_every_log_back(run_dir):
    run_logs = logs.RunLogs(str(run_dir))
    run_logs.resume(30)
    assert [r["step"] for r in run_logs.records] == [10, 20, 30]
    assert run_logs.sample_steps == [20] and len(run_logs.samples) == 1
    assert len(logs.load_losses(str(run_dir / logs.LOSSES))) == 3
    assert json.loads((run_dir / logs.SAMPLE_STEPS).read_text()) == [20]
    assert len(logs.load_pickle(str(run_dir / logs.SAMPLES))) == 1


@pytest.mark.parametrize("bad", [b"garbage", b'{"step": 3\xff0}'], ids=["garbage", "not_utf8"])
def test_resume_refuses_a_bad_metrics_line_and_touches_nothing(run_dir, bad):
    path = run_dir / logs.METRICS
    lines = path.read_bytes().splitlines()
    lines[2] = bad
    write_metrics(path, lines)
    refused_resume(run_dir, "metrics.jsonl: line 3 ")


def test_resume_drops_a_torn_last_metrics_line(run_dir):
    with open(run_dir / logs.METRICS, "ab") as f:
        f.write(b'{"step": 60, "d_lo')
    run_logs = logs.RunLogs(str(run_dir))
    run_logs.resume(60)
    assert [r["step"] for r in run_logs.records] == [10, 20, 30, 40, 50]
    assert (run_dir / logs.METRICS).read_bytes().endswith(b"}\n")


def test_resume_refuses_samples_without_their_steps(run_dir):
    os.unlink(run_dir / logs.SAMPLE_STEPS)
    message = refused_resume(run_dir, "train_samples_steps.json")
    assert "move train_samples.pkl away" in message


def test_resume_refuses_steps_without_their_samples(run_dir):
    os.unlink(run_dir / logs.SAMPLES)
    message = refused_resume(run_dir, "train_samples.pkl")
    assert "train_samples_steps.json" in message


@pytest.mark.parametrize("entries", [
    [samples(), "x"], [samples(), 3], [samples(), samples().reshape(2, 784)],
    [samples(), samples().astype(np.int64)], [samples(), samples(3)], [np.float32(1), samples()],
    "not a list",
], ids=["str", "int", "flat", "int64", "other_count", "scalar", "not_a_list"])
def test_resume_refuses_samples_that_are_not_image_grids(run_dir, entries):
    (run_dir / logs.SAMPLES).write_bytes(pickle.dumps(entries))
    if isinstance(entries, list):
        (run_dir / logs.SAMPLE_STEPS).write_text(json.dumps([20, 40][:len(entries)]))
    message = refused_resume(run_dir, "train_samples.pkl")
    assert "move train_samples.pkl" in message


@pytest.mark.parametrize("steps", [b"[20, \"40\"]", b"{}", b"\xff", b"[20, 40, 60, 80]"])
def test_resume_refuses_bad_sample_steps(run_dir, steps):
    (run_dir / logs.SAMPLE_STEPS).write_bytes(steps)
    refused_resume(run_dir, "train_samples_steps.json")


def test_resume_refuses_an_unsafe_samples_pickle(run_dir, tmp_path):
    marker = tmp_path / "pwned"
    (run_dir / logs.SAMPLES).write_bytes(exploit(marker))
    refused_resume(run_dir, "train_samples.pkl.*refusing to load")
    assert not marker.exists()


@pytest.mark.parametrize("drop", ["samples", "steps"])
def test_resume_accepts_a_crash_between_the_two_sample_files(run_dir, drop):
    """A sample's two files are replaced one after the other: a crash in between leaves
    one of them a sample ahead; that sample came after the last checkpoint."""
    run_logs = logs.RunLogs(str(run_dir))
    run_logs.resume(50)
    if drop == "samples":
        (run_dir / logs.SAMPLE_STEPS).write_text("[20, 40, 60]")
    else:
        (run_dir / logs.SAMPLES).write_bytes(pickle.dumps(run_logs.samples + [samples()]))
    resumed = logs.RunLogs(str(run_dir))
    resumed.resume(50)
    assert resumed.sample_steps == [20, 40] and len(resumed.samples) == 2


def test_resume_accepts_a_crash_before_the_first_sample_was_complete(tmp_path):
    (tmp_path / logs.SAMPLE_STEPS).write_text("[20]")
    run_logs = logs.RunLogs(str(tmp_path))
    run_logs.resume(10)
    assert run_logs.samples == [] and run_logs.sample_steps == []


def test_training_refuses_to_resume_from_bad_samples_before_any_step(tmp_path):
    """Found at the end of a run, a str among the samples was an IndexError in the GIF."""
    config = run_config(tmp_path, max_steps=10, sample_every=5)
    train.train(config)
    grids = logs.load_pickle(str(tmp_path / logs.SAMPLES))
    (tmp_path / logs.SAMPLES).write_bytes(pickle.dumps([grids[0], "x"]))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(logs.LogFormatError, match="train_samples.pkl: entry 1 is a str"):
        train.train(dataclasses.replace(config, max_steps=20))
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
