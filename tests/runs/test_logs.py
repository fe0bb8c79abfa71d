"""The log files of a run as untrusted input: loss pickles of the wrong shape, damaged
metrics lines, and resumes from damaged logs that must refuse in one line and leave
every file as it was (the pickle loader itself: tests/runs/test_pickles.py)."""
import dataclasses
import json
import os
import pickle

import numpy as np
import pytest

from gan_tf import errors
from gan_tf.runs import logs, pickles
from gan_tf.training import loop
from tests.helpers import run_config


def test_losses_of_the_wrong_shape_are_refused_without_building_them(tmp_path):
    """[[pair] * n] * n is small as a pickle, n * n * 2 as an array."""
    row = [1.0] * 10
    for value in ([row], [(1.0, 2.0), "x"], [[[1.0, 2.0]] * 10 ** 3] * 10 ** 3, "ab"):
        (tmp_path / "l.pkl").write_bytes(pickle.dumps(value))
        with pytest.raises(errors.LogFormatError, match="l.pkl: expected a list of"):
            logs.load_losses(str(tmp_path / "l.pkl"))


# metrics.jsonl
def write_metrics(path, lines, end=b"\n"):
    path.write_bytes(b"\n".join(lines) + end)


def record(step):
    return json.dumps({"step": step, "d_loss": 1.0, "g_loss": 2.0}).encode()


BAD_RECORDS = {  # JSON objects with a step that training could not have written
    "text_loss": b'{"step": 30, "d_loss": "oops", "g_loss": 2.0}',
    "d_loss_alone": b'{"step": 30, "d_loss": 1.0}',
    "huge_int_loss": b'{"step": 30, "d_loss": 1' + b"0" * 400 + b', "g_loss": 2.0}',
    "text_score": b'{"step": 30, "classifier_score": "9.5"}',
    "bool_step": b'{"step": true, "d_loss": 1.0, "g_loss": 2.0}',
    "negative_step": b'{"step": -3, "d_loss": 1.0, "g_loss": 2.0}',
}


@pytest.mark.parametrize("bad", [b"garbage", b'{"step": 30, "d_lo', b'{"step": 3\xff\xfe0}',
                                 b"[1, 2]", b'{"step": "30"}', *BAD_RECORDS.values()],
                         ids=["garbage", "torn", "not_utf8", "not_object", "no_step",
                              *BAD_RECORDS])
def test_a_bad_line_before_the_last_is_an_error_naming_it(tmp_path, bad):
    path = tmp_path / "metrics.jsonl"
    write_metrics(path, [record(10), record(20), b"", bad, record(40), record(50)])
    with pytest.raises(errors.LogFormatError, match=r"metrics.jsonl: line 4 "):
        logs.read_metrics(str(path))
    with pytest.raises(errors.LogFormatError, match=r"metrics.jsonl: line 4 "):
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
    with pytest.raises(errors.LogFileError, match="metrics.jsonl"):
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
    with pytest.raises(errors.LogFormatError, match=match) as error:
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
    assert len(pickles.load_pickle(str(run_dir / logs.SAMPLES))) == 1


@pytest.mark.parametrize("bad", [b"garbage", b'{"step": 3\xff0}', *BAD_RECORDS.values()],
                         ids=["garbage", "not_utf8", *BAD_RECORDS])
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
    # os.system("touch MARKER") as the oldest pickle protocol writes it
    (run_dir / logs.SAMPLES).write_bytes(f"cos\nsystem\n(Vtouch {marker}\ntR.".encode())
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
    loop.train(config)
    grids = pickles.load_pickle(str(tmp_path / logs.SAMPLES))
    (tmp_path / logs.SAMPLES).write_bytes(pickle.dumps([grids[0], "x"]))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(errors.LogFormatError, match="train_samples.pkl: entry 1 is a str"):
        loop.train(dataclasses.replace(config, max_steps=20))
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
