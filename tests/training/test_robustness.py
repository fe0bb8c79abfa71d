"""Runs that survive: signals, SIGKILL, determinism, divergence, bad input, untrusted pickles."""
import dataclasses
import errno
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks import crash_resume
from gan_tf import data, errors, fileio
from gan_tf.runs import pickles
from gan_tf.training import loop
from gan_tf.training.steps import METRIC_KEYS
from gan_tf.training.stopping import check_finite
from tests.helpers import MAIN, ROOT, SMALL_FLAGS, main_command, one_error_line, records, run_config


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_checkpoint_and_logs_then_resume_continues(tmp_path, signum):
    run_dir = tmp_path / "run"
    args = [f"--output_dir={run_dir}", "--max_steps=1000000", "--log_every=50",
            "--checkpoint_every=1000000", "--sample_every=1000000"]
    with open(tmp_path / "log.txt", "w") as log:
        proc = subprocess.Popen(main_command(*args), stdout=log, stderr=log)
        deadline = time.time() + 120
        while not records(run_dir) and time.time() < deadline:  # training is under way
            time.sleep(0.2)
        proc.send_signal(signum)
        rc = proc.wait(timeout=120)
    stderr = (tmp_path / "log.txt").read_text()
    assert rc == 128 + signum, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert f"stopped by {signal.Signals(signum).name}" in last
    assert "rerun the same command to resume" in last and "Traceback" not in stderr
    stop_step = records(run_dir)[-1]["step"]
    assert (run_dir / "checkpoints" / f"ckpt-{stop_step}.index").exists()
    # Resume: every interval has exactly one record, none duplicated.
    target = (stop_step // 50 + 2) * 50
    # (in-process: the same configuration as the command line's; a subprocess resume is
    # test_sigkill_stress_short's)
    loop.train(run_config(run_dir, max_steps=target, log_every=50, checkpoint_every=1000000,
                           sample_every=1000000))
    steps = [r["step"] for r in records(run_dir)]
    assert steps == sorted(set(steps)) and steps[-1] == target
    assert [s for s in steps if s % 50] == ([stop_step] if stop_step % 50 else [])
    with open(run_dir / "train_losses.pkl", "rb") as f:
        assert len(pickle.load(f)) == len(steps)


def test_sigkill_stress_short(tmp_path):
    args = crash_resume.parse_args(["--kills=2", "--max_steps=400", "--log_every=10",
                                    "--checkpoint_every=40", "--sample_every=40",
                                    "--min_delay=5", "--max_delay=6", "--deterministic"])
    summary = crash_resume.stress(args)
    assert summary["ok"], summary["problems"]
    assert summary["losses_bitwise_equal"] and summary["weights_bitwise_equal"]


def test_deterministic_runs_write_bitwise_identical_losses(tmp_path):
    runs_ = [subprocess.Popen(main_command(f"--output_dir={tmp_path / name}", "--max_steps=60",
                                           "--log_every=10", "--deterministic", "--seed=7"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]  # side by side
    for run in runs_:
        stderr = run.communicate(timeout=300)[1]
        assert run.returncode == 0, stderr[-2000:]
    outputs = [(tmp_path / name / "train_losses.pkl").read_bytes() for name in ("a", "b")]
    assert outputs[0] == outputs[1]
    assert len(pickle.loads(outputs[0])) == 6


def test_divergence_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    config = run_config(tmp_path, max_steps=20)
    loop.train(config)
    before = records(tmp_path)
    clean = data.load_mnist_5k()
    poisoned = dataclasses.replace(clean, train_images=np.full_like(clean.train_images, np.nan))
    monkeypatch.setattr(data, "load", lambda *a, **k: poisoned)
    with pytest.raises(errors.Diverged, match=r"diverged at step 21: d_loss, d_loss_real"):
        # NaN pixels are other data than the run's: refused unless asked for.
        loop.train(dataclasses.replace(config, max_steps=40, allow_data_change=True))
    assert records(tmp_path) == before  # no record of the bad steps
    assert sorted(os.listdir(tmp_path / "checkpoints"))[-1].startswith("ckpt-20")
    monkeypatch.undo()  # the clean data again: also a change from what was last recorded
    loop.train(dataclasses.replace(config, max_steps=30, allow_data_change=True))
    assert [r["step"] for r in records(tmp_path)] == [5, 10, 15, 20, 25, 30]


def test_nan_weights_are_caught_too():
    with pytest.raises(errors.Diverged, match="by step 7: a weight is NaN or Inf"):
        check_finite(np.zeros((3, len(METRIC_KEYS))), False, 4, None)


def test_full_disk_while_writing_logs_stops_cleanly_and_keeps_old_files(tmp_path, monkeypatch):
    config = run_config(tmp_path, max_steps=10)
    loop.train(config)
    old_losses = (tmp_path / "train_losses.pkl").read_bytes()
    real_write = fileio._atomic_write

    def full_disk(path, data, replace=True):
        if path.endswith("train_losses.pkl"):
            with open(path + ".partial", "wb") as f:  # a write that got cut off
                f.write(data[:3])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(path, data, replace)

    monkeypatch.setattr(fileio, "_atomic_write", full_disk)
    with pytest.raises(errors.LogFileError, match=r"cannot write .*train_losses.pkl: No space left"):
        loop.train(dataclasses.replace(config, max_steps=20))
    assert (tmp_path / "train_losses.pkl").read_bytes() == old_losses
    monkeypatch.undo()
    loop.train(dataclasses.replace(config, max_steps=20))  # and the run goes on afterwards
    assert [r["step"] for r in records(tmp_path)] == [5, 10, 15, 20]


def test_full_disk_on_the_command_line_is_one_line(tmp_path):
    script = (
        "import errno, os, runpy, sys\n"
        f"sys.path.insert(0, {ROOT!r})\n"
        "from gan_tf import fileio\n"
        "def full(path, data, replace=True): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
        "fileio._atomic_write = full\n"
        f"sys.argv = {[MAIN, *SMALL_FLAGS, f'--output_dir={tmp_path}/run', '--max_steps=5']!r}\n"
        f"runpy.run_path({MAIN!r}, run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert "No space left on device" in one_error_line(result)


@pytest.fixture(scope="module")
def pristine_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("pristine") / "run"
    loop.train(run_config(run_dir, max_steps=10))
    return run_dir


@pytest.fixture
def finished_run(pristine_run, tmp_path):
    """A copy of a finished 10-step run (what main_command would resume)."""
    run_dir = tmp_path / "run"
    shutil.copytree(pristine_run, run_dir)
    return run_dir


def snapshot(run_dir):
    return {p: (run_dir / p).read_bytes() for p in ("metrics.jsonl", "train_losses.pkl",
                                                    "train_samples.pkl", "config.json")}


def test_corrupt_checkpoint_is_refused_and_nothing_is_damaged(finished_run):
    data_file = next((finished_run / "checkpoints").glob("ckpt-10.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:100])
    before = snapshot(finished_run)
    with pytest.raises(errors.RunError, match=r"cannot restore .*ckpt-10"):
        loop.train(run_config(finished_run, max_steps=20))
    assert snapshot(finished_run) == before


def test_mismatched_checkpoint_is_refused(finished_run, tmp_path):
    other = tmp_path / "other"
    loop.train(dataclasses.replace(run_config(other, max_steps=10), g_hidden=(48,)))
    # Someone copies the other run's checkpoints over this one's.
    for path in (other / "checkpoints").iterdir():
        (finished_run / "checkpoints" / path.name).write_bytes(path.read_bytes())
    before = snapshot(finished_run)
    with pytest.raises(errors.RunError, match="cannot restore"):
        loop.train(run_config(finished_run, max_steps=20))
    assert snapshot(finished_run) == before


def test_unreadable_samples_pickle_on_resume_is_one_line(finished_run):
    (finished_run / "train_samples.pkl").write_bytes(b"garbage")
    with pytest.raises(errors.LogFileError, match="train_samples.pkl") as error:
        loop.train(run_config(finished_run, max_steps=20))
    assert "\n" not in str(error.value)
    assert (finished_run / "train_samples.pkl").read_bytes() == b"garbage"


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08\x00garbage", b"not gzip at all"])
def test_empty_or_wrong_format_data_files(tmp_path, content):
    from tests.idx_files import write_idx_set
    write_idx_set(str(tmp_path))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(content)
    with pytest.raises(errors.DataError, match="train-labels-idx1-ubyte.gz") as error:
        data.load("mnist", data_dir=str(tmp_path))
    assert "\n" not in str(error.value)


def test_data_dir_without_data_is_an_error_not_a_silent_fallback(tmp_path):
    with pytest.raises(errors.DataError, match="holds neither mnist.npz nor the four MNIST IDX"):
        data.load("mnist", data_dir=str(tmp_path))
    with pytest.raises(errors.DataError, match="Fashion-MNIST"):
        data.load("fashion_mnist", data_dir=str(tmp_path))


def test_empty_npz_is_an_error(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"")
    with pytest.raises(errors.DataError, match="mnist.npz"):
        data.load("mnist", data_dir=str(tmp_path))


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    exploit = Exploit()
    exploit.marker = str(tmp_path / "pwned")
    path = tmp_path / "train_losses.pkl"
    path.write_bytes(pickle.dumps([exploit]))
    with pytest.raises(errors.UnsafePickleError, match="posix.system|os.system"):
        pickles.load_pickle(str(path))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_legacy_and_numpy_pickles_still_load(tmp_path, protocol):
    legacy = [(np.float32(1.5), np.float32(0.25)), (np.float32(1.0), np.float32(2.0))]
    samples = [np.linspace(-1, 1, 16 * 784, dtype=np.float32).reshape(16, 784)]
    for name, value in (("losses.pkl", legacy), ("samples.pkl", samples),
                        ("plain.pkl", {"a": [1, 2.5, "x", None, (True,)]})):
        (tmp_path / name).write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = pickles.load_pickle(str(tmp_path / name))
        if name == "samples.pkl":
            np.testing.assert_array_equal(loaded[0], samples[0])
        else:
            assert loaded == value
    assert type(pickles.load_pickle(str(tmp_path / "losses.pkl"))[0][0]) is np.float32


def test_ctrl_c_during_a_long_evaluation_stops_it_and_saves_at_once(tmp_path, monkeypatch):
    """Issue 25: an evaluation of 30,000 samples ignored SIGINT for over 40 s."""
    from gan_tf import evaluation
    progress = {"slices": 0}

    def long_evaluation(self, step, generator, discriminator=None):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the evaluation starts
        for _ in range(600):  # a minute of work, in slices as numpy's blocks are
            time.sleep(0.1)
            progress["slices"] += 1
        return {"classifier_score": 1.0}

    monkeypatch.setattr(evaluation.RunEvaluation, "__call__", long_evaluation)
    monkeypatch.setattr(evaluation.classifier_lib, "check_available", lambda *a: None)
    config = run_config(tmp_path, max_steps=30, eval_every=10, eval_samples=100)
    with pytest.raises(errors.Interrupted, match="SIGINT at step 10"):
        loop.train(config)
    assert progress["slices"] < 5  # dropped, not awaited
    assert (tmp_path / "checkpoints" / "ckpt-10.index").exists()
    assert [r["step"] for r in records(tmp_path)] == [5, 10]
    assert all("classifier_score" not in r for r in records(tmp_path))


def test_an_evaluation_larger_than_memory_is_refused_before_training(tmp_path):
    with pytest.raises(errors.RunError, match="--eval_samples=100000000 would need"):
        loop.train(run_config(tmp_path / "run", max_steps=10, eval_samples=10 ** 8))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("sizes", [dict(model="mlp", g_hidden=(200_000, 200_000)),
                                   dict(model="dcgan", g_channels=(50_000, 50_000)),
                                   dict(eval_samples=0, z_dim=10 ** 10),
                                   dict(num_samples=10 ** 9)],
                         ids=["mlp_widths", "dcgan_channels", "z_dim", "num_samples"])
def test_networks_or_samples_larger_than_memory_are_refused_before_training(tmp_path, sizes,
                                                                          monkeypatch):
    """Only restore and sample checked the networks' sizes: training built 160 GB of
    layers (or the fixed samples' z) and died for memory instead of saying so. (On a
    machine of 16 GB, whatever this one has.)"""
    from gan_tf import inference
    monkeypatch.setattr(inference, "machine_bytes", lambda: 16 * 2 ** 30)
    with pytest.raises(errors.RunError, match="would need about .* of memory; this machine"):
        loop.train(run_config(tmp_path / "run", max_steps=10, **sizes))
    assert not (tmp_path / "run").exists()


def test_the_checkpoint_and_records_of_a_step_are_saved_before_its_evaluation(tmp_path,
                                                                              monkeypatch):
    """Issue 25 (7): the evaluation ran before the step's checkpoint, so an evaluation
    killed for memory cost the steps since the last one, on every rerun."""
    from gan_tf import evaluation
    from gan_tf.runs import checkpoints
    seen = []

    def evaluate(self, step, generator, discriminator=None):
        latest = checkpoints.latest_checkpoint(str(tmp_path / "checkpoints"), quiet=True)
        seen.append((step, os.path.basename(latest or ""), [r["step"] for r in records(tmp_path)]))
        return {"classifier_score": float(step)}

    monkeypatch.setattr(evaluation.RunEvaluation, "__call__", evaluate)
    monkeypatch.setattr(evaluation.classifier_lib, "check_available", lambda *a: None)
    monkeypatch.setattr(evaluation.RunEvaluation, "write", lambda self, records: None)
    loop.train(run_config(tmp_path, max_steps=20, eval_every=10, eval_samples=100))
    assert seen == [(10, "ckpt-10", [5, 10]), (20, "ckpt-20", [5, 10, 15, 20])]
    # The evaluation still lands in the record of its step, as before.
    assert [(r["step"], r.get("classifier_score")) for r in records(tmp_path)] == [
        (5, None), (10, 10.0), (15, None), (20, 20.0)]
