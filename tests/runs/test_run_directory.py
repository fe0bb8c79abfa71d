"""The run directory as hostile ground (issue 19): other processes, other people's files,
damaged checkpoint folders, failed starts. Nothing a user had is lost or overwritten."""
import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
import time

import pytest

from gan_tf import errors, runs
from gan_tf.commands import sample as sample_command
from gan_tf.config import TrainConfig
from gan_tf.runs import logs
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop
from tests.helpers import ROOT, main_command, nocap, records, run_config

TINY = dict(model="mlp", dataset="mnist_5k", batch_size=32, z_dim=8, g_hidden=(16,),
            d_hidden=(16,), eval_samples=0, log_every=10, sample_every=50, checkpoint_every=50)


def tiny(run_dir, **overrides):
    return TrainConfig(output_dir=str(run_dir), **{**TINY, **overrides})


def tree(path):
    """{relative path: bytes} of every file under `path`."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if os.path.islink(full):
                out[os.path.relpath(full, path)] = ("link", os.readlink(full))
                continue
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = f.read()
    return out


# --- 2: one run per directory ---------------------------------------------------

def test_a_second_run_on_a_locked_directory_is_refused_naming_the_first(tmp_path):
    run_dir = tmp_path / "run"
    with runs.RunDirectory(tiny(run_dir)):
        with pytest.raises(errors.RunError, match=f"in use by process {os.getpid()}"):
            with runs.RunDirectory(tiny(run_dir)):
                pass
    with runs.RunDirectory(tiny(run_dir)):  # released on exit
        pass


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from gan_tf import runs; from tests.runs.test_run_directory import tiny\n"
        f"runs.RunDirectory(tiny({str(run_dir)!r})).__enter__()\n"
        "print('locked', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(errors.RunError, match=f"process {holder.pid}"):
        runs.RunDirectory(tiny(run_dir)).__enter__()
    holder.kill()
    holder.wait()
    with runs.RunDirectory(tiny(run_dir)):  # the dead process's lock is free
        pass


def test_a_run_while_another_process_trains_there_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    args = [f"--output_dir={run_dir}", "--eval_samples=0", "--max_steps=100000",
            "--log_every=10", "--checkpoint_every=100000", "--sample_every=100000"]
    with open(tmp_path / "first.txt", "w") as out:
        first = subprocess.Popen(main_command(*args), stdout=out, stderr=out)
        try:
            deadline = time.time() + 120
            while not records(run_dir) and time.time() < deadline:
                time.sleep(0.2)
            same = run_config(run_dir, max_steps=100000, log_every=10, checkpoint_every=100000,
                              sample_every=100000, max_seconds=5)  # the same run, in this process
            with pytest.raises(errors.RunError, match=f"in use by process {first.pid}"):
                loop.train(same)
            steps = [r["step"] for r in records(run_dir)]
        finally:
            first.terminate()
            first.wait(timeout=120)
    assert steps == sorted(set(steps))  # no record written twice


# --- 3: a directory that is not a gan_tf run --------------------------------------

@pytest.mark.parametrize("user_files", [
    {"train_losses.pkl": b"a legacy notebook's losses"},
    {"config.json": b'{"app": 1}'},
    {"config.json": b"[1, 2]", "notes.txt": b"mine"},
])
def test_a_directory_of_other_files_is_refused_and_left_alone(tmp_path, user_files):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name, content in user_files.items():
        (run_dir / name).write_bytes(content)
    with pytest.raises(errors.RunError, match="not a gan_tf run") as e:
        loop.train(tiny(run_dir, max_steps=20))
    assert sorted(user_files)[0] in str(e.value) and "--overwrite" in str(e.value)
    assert tree(run_dir) == user_files


def test_a_user_config_json_is_not_taken_for_a_run(tmp_path):
    (tmp_path / "config.json").write_text('{"app": 1, "model": "mlp"}')
    with pytest.raises(errors.RunError, match="not a gan_tf run configuration"):
        runs.read_config(str(tmp_path))


@pytest.mark.parametrize("content", [b"[1, 2]", b"\xff\xfe\x00bytes", b'"text"', b"null"])
def test_config_json_that_is_not_an_object_is_one_line_for_resume_and_sample(tmp_path, content):
    (tmp_path / "config.json").write_bytes(content)
    with pytest.raises(errors.RunError, match="config.json"):
        runs.read_config(str(tmp_path))
    with pytest.raises(errors.RunError, match="config.json") as error:  # resume
        loop.train(tiny(tmp_path))
    assert "\n" not in str(error.value)
    assert isinstance(error.value, sample_command.USER_ERRORS)  # one line from gan_tf.sample


def test_a_config_written_by_this_gan_tf_is_marked_and_read_back(tmp_path):
    config = tiny(tmp_path)
    runs.write_config(config)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["gan_tf_run"] == 1  # a run without newer options: readable by 0.3.3 too
    assert runs.read_config(str(tmp_path)) == config
    for old_value in ("off", "on", "bfloat16", "float16"):  # values every reader knows
        assert runs.run_format(dataclasses.replace(config, mixed_precision=old_value)) == 1


@pytest.mark.parametrize("overrides,version", [
    (dict(rotation_weight=1.0), 2), (dict(rotation_weight=0.5, g_rotation_weight=0.2), 2),
    (dict(mode_seeking_weight=0.2), 3), (dict(mode_seeking_weight=0.2, rotation_weight=1.0), 3),
    (dict(mode_seeking_weight=0.2, mode_seeking_cap=0.3), 4), (dict(latent_continuous=2), 4),
    (dict(mixed_precision="native"), 5), (dict(mixed_precision="native", rotation_weight=1.0), 5),
    (dict(latent_categories=3, code_prior="learned"), 6), (dict(coverage_weight=1.0), 7),
    (dict(coverage_weight=1.0, coverage_pool=64), 8)])
def test_a_run_an_older_reader_would_misread_is_marked_so_that_it_refuses(tmp_path, monkeypatch,
                                                                          overrides, version):
    """Older readers skip config keys they do not know: 0.3.3 would resume a rotation run
    as a plain GAN, 0.3.4-0.3.9 a mode-seeking one, 0.3.10 a capped mode-seeking one as
    uncapped and one with continuous codes without their head; 0.3.12 and older would call
    --mixed_precision=native damaged, and 0.3.18 would evaluate a --code_prior=learned run
    with uniform codes, 0.3.20 would resume a --coverage_weight run without its
    term, and 0.3.21 one with --coverage_pool as choosing among the fake batch. Such a
    run is written in the format (2-8) that those readers refuse."""
    config = tiny(tmp_path, **overrides)
    runs.write_config(config)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["gan_tf_run"] == version
    assert runs.read_config(str(tmp_path)) == config
    monkeypatch.setattr(runs, "RUN_FORMAT", version - 1)  # as the older gan_tf reads it
    with pytest.raises(errors.RunError, match="newer gan_tf"):
        runs.read_config(str(tmp_path))


def test_a_config_from_a_later_format_is_refused(tmp_path):
    runs.write_config(tiny(tmp_path))
    stored = json.loads((tmp_path / "config.json").read_text())
    stored["gan_tf_run"] = runs.RUN_FORMAT + 1
    (tmp_path / "config.json").write_text(json.dumps(stored))
    with pytest.raises(errors.RunError, match="newer gan_tf"):
        runs.read_config(str(tmp_path))


def test_overwrite_replaces_a_legacy_losses_file_but_keeps_other_files(tmp_path):
    (tmp_path / "train_losses.pkl").write_bytes(b"old")
    (tmp_path / "notes.txt").write_bytes(b"mine")
    loop.train(tiny(tmp_path, max_steps=10, overwrite=True))
    assert (tmp_path / "notes.txt").read_bytes() == b"mine"
    assert len(logs.load_losses(str(tmp_path / "train_losses.pkl"))) == 1


# --- 4: checkpoints without their index -----------------------------------------------

@pytest.fixture(scope="module")
def run_at_100(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run100")
    loop.train(tiny(run_dir, max_steps=100))
    return run_dir


def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("damage", ["index_file", "newest_index", "both"])
def test_resume_without_a_checkpoint_index_uses_the_newest_complete_checkpoint(
        run_at_100, tmp_path, damage):
    run_dir = copy_run(run_at_100, tmp_path / "run")
    ckpt = run_dir / "checkpoints"
    if damage in ("index_file", "both"):
        os.remove(ckpt / "checkpoint")
    if damage in ("newest_index", "both"):
        os.remove(ckpt / "ckpt-100.index")
    expect = 50 if damage != "index_file" else 100
    assert runs.latest_checkpoint(str(ckpt)).endswith(f"ckpt-{expect}")
    kept = (ckpt / "ckpt-50.data-00000-of-00001").read_bytes()
    loop.train(tiny(run_dir, max_steps=150))
    steps = [r["step"] for r in records(run_dir)]
    assert steps == list(range(10, 151, 10))  # resumed at `expect`, nothing started over
    assert (ckpt / "ckpt-50.data-00000-of-00001").read_bytes() == kept
    import tensorflow as tf
    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-150")


def test_checkpoint_files_with_no_complete_checkpoint_are_refused(run_at_100, tmp_path):
    run_dir = copy_run(run_at_100, tmp_path / "run")
    for name in os.listdir(run_dir / "checkpoints"):
        if name.endswith(".index"):
            os.remove(run_dir / "checkpoints" / name)
    before = tree(run_dir)
    with pytest.raises(errors.RunError, match="no complete checkpoint"):
        loop.train(tiny(run_dir, max_steps=150))
    assert tree(run_dir) == before


# --- 5: --overwrite removes only what a run writes ------------------------------------

def test_overwrite_keeps_user_files_inside_the_run_folders(run_at_100, tmp_path):
    run_dir = copy_run(run_at_100, tmp_path / "run")
    mine = {os.path.join(d, "mine.txt"): d.encode() for d in ("samples", "checkpoints",
                                                              "tensorboard")}
    mine["samples/best.png"] = b"a picture I kept"
    for name, content in mine.items():
        (run_dir / name).write_bytes(content)
    loop.train(tiny(run_dir, max_steps=20, z_dim=9, overwrite=True))
    after = tree(run_dir)
    assert all(after[name] == content for name, content in mine.items())
    assert [r["step"] for r in records(run_dir)] == [10, 20]
    assert not (run_dir / "checkpoints" / "ckpt-100.index").exists()


# --- 15: a refused or failed start leaves the directory as it was ---------------------

def test_a_failed_start_leaves_no_trace(tmp_path):
    run_dir = tmp_path / "new"
    with pytest.raises(errors.RunError):
        loop.train(tiny(run_dir, batch_size=5000))  # more than the training split
    assert not run_dir.exists()
    run_dir.mkdir()
    with pytest.raises(errors.RunError):
        loop.train(tiny(run_dir, batch_size=5000))
    assert os.listdir(run_dir) == []


def test_divergence_at_the_first_step_leaves_no_trace(tmp_path):
    run_dir = tmp_path / "new"
    with pytest.raises(errors.Diverged):
        loop.train(tiny(run_dir, max_steps=20, d_learning_rate=1e30, g_learning_rate=1e30))
    assert not run_dir.exists()


def test_a_run_that_trained_then_failed_before_its_first_checkpoint_keeps_its_logs(
        tmp_path, monkeypatch, caplog):
    """The logs of the steps before a divergence are what shows why it diverged: they
    stay, and the same command run again starts over from step 0 in the same folder."""
    import numpy as np
    real = loop.check_finite

    def nan_from_step_20(history, finite, start, *rest):
        return real(np.full_like(history, np.nan) if start >= 20 else history, finite, start,
                    *rest)
    monkeypatch.setattr(loop, "check_finite", nan_from_step_20)
    run_dir = tmp_path / "new"
    config = tiny(run_dir, max_steps=40, log_every=5, sample_every=10, checkpoint_every=1000)
    with pytest.raises(errors.Diverged, match="at step 21"):
        loop.train(config)
    assert "the logs of its steps are kept in" in caplog.text
    assert [r["step"] for r in records(run_dir)] == [5, 10, 15, 20]
    assert (run_dir / "config.json").exists() and (run_dir / "train_losses.pkl").exists()
    assert not (run_dir / "checkpoints").exists() or not os.listdir(run_dir / "checkpoints")
    monkeypatch.undo()
    assert "--overwrite, which replaces these logs" in caplog.text
    with pytest.raises(errors.RunError, match="different configuration.*--overwrite"):
        loop.train(dataclasses.replace(config, d_learning_rate=1e-5))  # the kept logs' run
    loop.train(config)  # the same command again: from step 0, the logs rewritten
    assert [r["step"] for r in records(run_dir)] == [5, 10, 15, 20, 25, 30, 35, 40]


def test_a_finished_run_rerun_writes_its_missing_end_outputs(run_at_100, tmp_path):
    run_dir = copy_run(run_at_100, tmp_path / "run")
    os.remove(run_dir / "progress.gif")
    os.remove(run_dir / "losses.png")
    loop.train(tiny(run_dir, max_steps=100))
    assert (run_dir / "progress.gif").stat().st_size > 0
    assert (run_dir / "losses.png").stat().st_size > 0


# --- 10: evaluation that cannot happen is found before training -----------------------

@pytest.mark.parametrize("where", ["missing_dir", "cache_is_a_file"])
def test_an_unusable_classifier_location_is_refused_before_training(tmp_path, monkeypatch, where):
    run_dir = tmp_path / "run"
    overrides = {"eval_samples": 100, "max_steps": 20}
    if where == "missing_dir":
        overrides["classifier_dir"] = str(tmp_path / "nonexistent")
    else:
        (tmp_path / "cache").write_text("a file")
        monkeypatch.setenv("GAN_TF_CACHE", str(tmp_path / "cache"))
        overrides["dataset"] = "fashion_mnist"  # no cached classifier: it would be trained
        overrides["data_dir"] = str(tmp_path / "fashion")
        overrides["batch_size"] = 8
        from tests.idx_files import write_idx_set
        (tmp_path / "fashion").mkdir()
        write_idx_set(str(tmp_path / "fashion"))
    with pytest.raises(errors.RunError, match="classifier"):
        loop.train(tiny(run_dir, **overrides))
    assert not run_dir.exists()  # refused before training, nothing left


def test_an_evaluation_that_fails_mid_run_loses_no_steps(tmp_path, monkeypatch):
    from gan_tf import evaluation

    def fail(*args, **kwargs):
        raise errors.ClassifierError("the classifier went away")
    monkeypatch.setattr(evaluation, "GeneratorEvaluator", fail)
    with pytest.raises(errors.RunError, match="step 30 and is saved.*went away"):
        loop.train(tiny(tmp_path, max_steps=30, eval_samples=100, checkpoint_every=1000))
    assert runs.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-30")
    assert [r["step"] for r in records(tmp_path)] == [10, 20, 30]


def test_tools_say_when_config_json_chose_the_data_directory(tmp_path, caplog):
    """gan_tf.anomaly and gan_tf.augment read a run's data from the directory its
    config.json records (a file may name any directory): said in a line, and --data_dir wins."""
    import logging
    config = TrainConfig(dataset="mnist", data_dir="/recorded/mnist")
    with caplog.at_level(logging.INFO, logger="gan_tf"):
        assert runs.data_dir_of(str(tmp_path), config, None) == "/recorded/mnist"
    assert "--data_dir=/recorded/mnist" in caplog.text and "config.json" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gan_tf"):
        assert runs.data_dir_of(str(tmp_path), config, "/mine") == "/mine"
        assert runs.data_dir_of(str(tmp_path), TrainConfig(dataset="mnist_5k"), None) is None
    assert caplog.text == ""


# --- issue 25: links, --overwrite before its checks, damaged configurations -------------

def copied(small_run, path):
    import shutil
    shutil.copytree(small_run, path, symlinks=True)
    return path


@pytest.mark.parametrize("kind", ["symlink", "dangling", "hardlink"])
def test_a_planted_lock_file_is_refused_and_its_target_left_alone(small_run, tmp_path, kind):
    run_dir = copied(small_run, tmp_path / "L")
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n")
    lock = run_dir / runs.LOCK_FILE
    if kind == "symlink":
        lock.symlink_to(notes)
    elif kind == "dangling":
        lock.symlink_to(tmp_path / "created_outside")
    else:
        os.link(notes, lock)
    before = tree(run_dir)
    with pytest.raises(errors.RunError, match="lock") as error:
        loop.train(run_config(run_dir, max_steps=20))
    assert "\n" not in str(error.value)
    assert notes.read_text() == "notes\n" and not (tmp_path / "created_outside").exists()
    assert tree(run_dir) == before


@pytest.mark.parametrize("bad", [dict(batch_size=5000), dict(dataset="mnist", data_dir="/typo"),
                                 dict(max_steps=20, eval_samples=10 ** 7)],
                         ids=["batch_size", "data_dir", "eval_samples"])
def test_overwrite_removes_nothing_when_the_run_is_refused(small_run, tmp_path, bad):
    run_dir = copied(small_run, tmp_path / "O")
    before = tree(run_dir)
    with pytest.raises((errors.RunError, errors.DataError, errors.ConfigError)):
        loop.train(run_config(run_dir, overwrite=True, **bad))
    assert tree(run_dir) == before


def test_a_damaged_config_is_called_damaged_and_overwrite_is_not_advised(small_run, tmp_path):
    run_dir = copied(small_run, tmp_path / "P")
    path = run_dir / "config.json"
    path.write_text(path.read_text().replace('"z_dim": 100,', '"z_dim": 100,,'))
    before = tree(run_dir)
    for attempt in (lambda: loop.train(run_config(run_dir, max_steps=20)),
                    lambda: runs.read_config(str(run_dir))):
        with pytest.raises(errors.RunError) as error:
            attempt()
        message = str(error.value)
        assert "damaged" in message and str(path) in message and "--overwrite" not in message
        assert "\n" not in message
    assert tree(run_dir) == before


def test_an_unreadable_config_is_called_unreadable_and_overwrite_is_not_advised(small_run,
                                                                               tmp_path):
    run_dir = copied(small_run, tmp_path / "P")
    os.chmod(run_dir / "config.json", 0)
    command = nocap(main_command(f"--output_dir={run_dir}", "--log_every=5",
                                 "--checkpoint_every=10", "--max_steps=20"))
    if command is None:
        pytest.skip("root without setpriv: permissions cannot bind here")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    os.chmod(run_dir / "config.json", 0o644)
    assert result.returncode == 1, result.stderr[-1500:]
    line = result.stderr.strip().splitlines()[-1]
    assert "cannot read" in line and "config.json" in line and "--overwrite" not in line
    assert [r["step"] for r in records(run_dir)] == [5, 10]


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("name,planted", [
    ("samples", "step_0000010.png"), ("checkpoints", "ckpt-10.index"),
    ("tensorboard", "events.out.tfevents.1.host"), ("metrics.jsonl", None),
    ("train_losses.pkl", None)])
def test_a_run_folder_or_file_that_is_a_link_is_refused(small_run, tmp_path, name, planted,
                                                        overwrite):
    """--overwrite deleted files through a linked folder; a resume wrote through links."""
    run_dir = copied(small_run, tmp_path / "S")
    outside = tmp_path / "gallery"
    if planted:
        outside.mkdir()
        (outside / planted).write_text("keep\n")
        import shutil
        shutil.rmtree(run_dir / name)
    else:
        outside.write_text("keep\n")
        os.remove(run_dir / name)
    os.symlink(outside, run_dir / name)
    before = tree(outside) if planted else outside.read_text()
    with pytest.raises(errors.RunError, match="link") as error:
        loop.train(run_config(run_dir, max_steps=20, overwrite=overwrite))
    assert name in str(error.value) and "\n" not in str(error.value)
    assert (tree(outside) if planted else outside.read_text()) == before


def write_mnist_npz(directory, seed, n=200):
    """A small mnist.npz of random digits (`seed` decides them)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    np.savez(os.path.join(directory, "mnist.npz"),
             x_train=rng.integers(0, 256, (n, 28, 28), np.uint8), y_train=rng.integers(0, 10, n),
             x_test=rng.integers(0, 256, (50, 28, 28), np.uint8), y_test=rng.integers(0, 10, 50))


def test_a_resume_on_other_data_is_refused_unless_asked(tmp_path):
    """Offline, --dataset=mnist trained on the 5k fallback; once full MNIST appeared the
    run resumed on it without a word."""
    data_dir = tmp_path / "data"
    write_mnist_npz(data_dir, seed=0)
    run_dir = tmp_path / "run"
    config = run_config(run_dir, dataset="mnist", data_dir=str(data_dir), max_steps=10,
                        batch_size=16)
    loop.train(config)
    recorded = runs.read_data_record(str(run_dir))
    assert recorded["train_images"] == 200 and recorded["dataset"] == "mnist"
    write_mnist_npz(data_dir, seed=1, n=300)  # the same path, other digits
    before = tree(run_dir)
    import dataclasses
    with pytest.raises(errors.RunError, match="other data.*train_images 200 -> 300.*"
                                              "--allow_data_change") as error:
        loop.train(dataclasses.replace(config, max_steps=20))
    assert "\n" not in str(error.value) and tree(run_dir) == before
    loop.train(dataclasses.replace(config, max_steps=20, allow_data_change=True))
    assert [r["step"] for r in records(run_dir)] == [5, 10, 15, 20]
    assert runs.read_data_record(str(run_dir))["train_images"] == 300
    assert json.loads((run_dir / "config.json").read_text())["allow_data_change"] is False


def test_a_run_folder_that_is_a_file_is_one_line(small_run, tmp_path):
    run_dir = copied(small_run, tmp_path / "T")
    import shutil
    shutil.rmtree(run_dir / "tensorboard")
    (run_dir / "tensorboard").write_text("mine\n")
    before = tree(run_dir)
    with pytest.raises(errors.RunError, match="tensorboard is a file"):
        loop.train(run_config(run_dir, max_steps=20))
    assert tree(run_dir) == before


@pytest.mark.parametrize("folder,mode", [("checkpoints", 0), ("tensorboard", 0o555),
                                         ("samples", 0o555)])
def test_an_unreadable_or_read_only_run_folder_is_one_line(small_run, tmp_path, folder, mode):
    """Issue 25 (19): tracebacks from os.listdir and TensorFlow's event writer."""
    run_dir = copied(small_run, tmp_path / "U")
    command = nocap(main_command(f"--output_dir={run_dir}", "--log_every=5",
                                 "--checkpoint_every=10", "--max_steps=20"))
    if command is None:
        pytest.skip("root without setpriv: permissions cannot bind here")
    os.chmod(run_dir / folder, mode)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        os.chmod(run_dir / folder, 0o755)
    assert result.returncode == 1, result.stderr[-1500:]
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and f"{folder} (Permission denied)" in lines[-1]
    assert [r["step"] for r in records(run_dir)] == [5, 10]


def test_a_damaged_classifier_is_found_before_training_and_a_rerun_evaluates(tmp_path):
    """Issue 25 (15): only classifier.json was checked, so a damaged cache failed after
    training; after repairing it, the rerun said 'nothing to do' and wrote no eval.json."""
    import shutil

    from gan_tf.evaluation import classifier
    good = classifier.default_classifier_dir("mnist_5k")
    damaged = tmp_path / "classifier"
    shutil.copytree(good, damaged)
    data_file = next(p for p in damaged.iterdir() if ".data-" in p.name)
    data_file.write_bytes(data_file.read_bytes()[:100])
    run_dir = tmp_path / "run"
    config = tiny(run_dir, max_steps=20, eval_samples=50, classifier_dir=str(damaged))
    with pytest.raises(errors.RunError, match="cannot restore the classifier"):
        loop.train(config)
    assert not run_dir.exists()
    import dataclasses
    loop.train(dataclasses.replace(config, classifier_dir=None))
    os.remove(run_dir / "eval.json")  # as if its evaluation had failed
    loop.train(dataclasses.replace(config, classifier_dir=None))  # nothing left to train
    doc = json.loads((run_dir / "eval.json").read_text())
    assert doc["final"]["step"] == 20
    # Merged into the record of step 20, as an uninterrupted run's evaluation is.
    assert [(r["step"], "d_loss" in r, "classifier_score" in r) for r in records(run_dir)] == [
        (10, True, False), (20, True, True)]


def test_a_reader_racing_a_training_run_is_told_so(small_run, tmp_path):
    """Issue 25 (16): gan_tf.sample next to a running training failed with 'Failed to
    find any matching files' and no word of the run."""
    run_dir = copied(small_run, tmp_path / "R")
    os.remove(run_dir / "checkpoints" / "ckpt-10.index")  # what a reader may meet mid-save
    lock = runs.RunLock(str(run_dir))  # held as a training run holds it
    try:
        with pytest.raises(errors.RunError, match=f"a training run, process {os.getpid()}"):
            restore_models(str(run_dir))
    finally:
        lock.release()
    assert runs.lock_holder(str(run_dir)) is None
    with pytest.raises(errors.RunError) as error:
        restore_models(str(run_dir))
    assert "training run" not in str(error.value)


# --- the threads per op a run ran with (read before TensorFlow starts) ---------------

def test_the_threads_a_run_would_resume_with_are_read_before_it_starts(small_run, tmp_path):
    """threads_to_resume: (resumes, recorded count) for a run with a checkpoint, (False,
    None) for a new run, --overwrite, a run without a checkpoint or a directory that will
    be refused; never through a link."""
    run_dir = copy_run(small_run, tmp_path / "run")
    at = TrainConfig(output_dir=str(run_dir))
    before = tree(run_dir)
    assert runs.threads_to_resume(at) == (True, stored_threads(run_dir))
    assert tree(run_dir) == before  # only read: no write probe, no lock file
    assert runs.threads_to_resume(TrainConfig(output_dir=str(tmp_path / "new"))) == (False, None)
    assert runs.threads_to_resume(TrainConfig(output_dir=str(run_dir), overwrite=True)) == (
        False, None)
    set_threads_record(run_dir, 3)
    assert runs.threads_to_resume(at) == (True, 3)

    set_threads_record(run_dir, None)  # a run of gan_tf 0.3.11
    assert runs.threads_to_resume(at) == (True, None)

    linked = copy_run(run_dir, tmp_path / "linked")
    os.rename(linked / "config.json", tmp_path / "elsewhere.json")
    os.symlink(tmp_path / "elsewhere.json", linked / "config.json")
    assert runs.threads_to_resume(TrainConfig(output_dir=str(linked))) == (False, None)
    linked = copy_run(run_dir, tmp_path / "linked_checkpoints")
    os.rename(linked / "checkpoints", tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", linked / "checkpoints")
    assert runs.threads_to_resume(TrainConfig(output_dir=str(linked))) == (False, None)
    no_checkpoint = copy_run(run_dir, tmp_path / "no_checkpoint")
    shutil.rmtree(no_checkpoint / "checkpoints")
    assert runs.threads_to_resume(TrainConfig(output_dir=str(no_checkpoint))) == (False, None)


def tf_threads():
    import tensorflow as tf
    return tf.config.threading.get_intra_op_parallelism_threads()


def stored_threads(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        return json.load(f)["threads_per_op"]


def set_threads_record(run_dir, value):
    path = os.path.join(run_dir, "config.json")
    with open(path) as f:
        stored = json.load(f)
    stored.pop("threads_per_op", None)
    if value is not None:
        stored["threads_per_op"] = value
    with open(path, "w") as f:
        json.dump(stored, f)


DAMAGED_THREADS = (r"config\.json is a damaged gan_tf run configuration \(threads_per_op .* "
                   r"is not a whole number from 0 to 4096\); repair it")


@pytest.mark.parametrize("value", [-1, 4097, 1.0, True, "2", [1]])
def test_a_damaged_threads_record_is_one_line_and_the_run_left_alone(small_run, tmp_path, value):
    run_dir = copy_run(small_run, tmp_path / "run")
    set_threads_record(run_dir, value)
    before = tree(run_dir)
    with pytest.raises(errors.RunError, match=DAMAGED_THREADS):  # read before TensorFlow
        runs.threads_to_resume(TrainConfig(output_dir=str(run_dir)))
    with pytest.raises(errors.RunError, match=DAMAGED_THREADS):
        loop.train(run_config(run_dir, max_steps=20))
    assert tree(run_dir) == before
    with pytest.raises(errors.RunError, match=DAMAGED_THREADS):  # and by a worker
        runs.RunDirectory(run_config(run_dir, max_steps=20), chief=False).__enter__()


def test_a_worker_reads_the_chiefs_threads_record_without_writing(small_run, tmp_path):
    run_dir = copy_run(small_run, tmp_path / "run")
    set_threads_record(run_dir, 2)
    before = tree(run_dir)
    with runs.RunDirectory(run_config(run_dir, max_steps=20), chief=False) as run:
        assert (run.resumes, run.recorded_threads) == (True, 2) == runs.threads_to_resume(
            run_config(run_dir))
    with runs.RunDirectory(run_config(run_dir, max_steps=20, overwrite=True), chief=False) as run:
        assert (run.resumes, run.recorded_threads) == (False, None)
    assert tree(run_dir) == before


def test_a_run_directory_that_changes_while_the_run_starts_is_refused(tmp_path, monkeypatch):
    """The threads are chosen from config.json read before the lock; if what the locked
    directory holds says otherwise (another process wrote there in between), the run stops
    before it writes anything."""
    monkeypatch.setattr(loop, "threads_to_resume", lambda config: (True, 1))
    # (and leaves this process's threads as they are, whatever the order of the tests)
    monkeypatch.setattr(loop.threads, "configure", lambda config, resumed, recorded: (
        tf_threads(), "as it is"))
    with pytest.raises(errors.RunError, match=r"changed while this run started \(another "
                                              r"process wrote there\); start it again"):
        loop.train(run_config(tmp_path / "run", max_steps=2))
    assert not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_a_config_json_that_is_no_regular_file_or_huge_is_one_line_not_a_hang(tmp_path, kind):
    """A named pipe where config.json belongs blocked training (and the pre-lock read of
    its threads) forever; a link to a device, or a huge file, would be read whole. Each is
    refused in one line, read at most MAX_CONFIG_BYTES, and left where it is."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = run_dir / "config.json"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "device":
        os.symlink("/dev/zero", config)
    else:
        with open(config, "wb") as f:
            f.truncate(runs.MAX_CONFIG_BYTES + 1)  # sparse: no disk used
    # (in a process of its own, under a timeout: the defect was a read that never ends)
    result = subprocess.run(main_command(f"--output_dir={run_dir}", "--max_steps=2"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("train_main.py: error: ")
    assert "Traceback" not in result.stderr
    assert os.path.lexists(config) and sorted(os.listdir(run_dir)) == ["config.json"]
    # and the tools' read of it (a process again: the old read of /dev/zero never ended)
    read = subprocess.run([sys.executable, "-c", "import sys; from gan_tf import runs\n"
                           "try: runs.read_config(sys.argv[1])\n"
                           "except runs.NotARun as e: print(e)", str(run_dir)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert read.stdout.strip() == f"{config} is not a gan_tf run configuration (" + (
        f"{runs.MAX_CONFIG_BYTES + 1:,} bytes; gan_tf writes a few KB)" if kind == "huge"
        else "not a regular file)")
    if kind == "huge":  # beside a run's checkpoints: a damaged configuration, not a new run
        (run_dir / "checkpoints").mkdir()
        (run_dir / "checkpoints" / "ckpt-1.index").write_bytes(b"")
        (run_dir / "checkpoints" / "ckpt-1.data-00000-of-00001").write_bytes(b"")
        with pytest.raises(errors.RunError, match=r"is a damaged gan_tf run configuration \("
                                                  r".* bytes; gan_tf writes a few KB\)"):
            runs.read_config(str(run_dir))


@pytest.mark.parametrize("name", ["metrics.jsonl", "train_losses.pkl", "eval.json"])
def test_a_run_file_that_is_a_named_pipe_is_refused_not_read_or_replaced(small_run, tmp_path,
                                                                          name):
    """A named pipe where a run keeps a log blocked the resume reading it forever, or was
    replaced by the run's own file; it is refused in one line and left where it is."""
    import stat
    run_dir = copy_run(small_run, tmp_path / "run")
    if os.path.exists(run_dir / name):
        os.remove(run_dir / name)
    os.mkfifo(run_dir / name)
    result = subprocess.run(main_command(f"--output_dir={run_dir}", "--max_steps=20",
                                         "--log_every=5", "--checkpoint_every=10"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"train_main.py: error: {run_dir / name} is not a regular file (a named pipe) where the "
        f"run keeps its {name}; move it away, or use another --output_dir")
    assert stat.S_ISFIFO(os.lstat(run_dir / name).st_mode)


def test_removing_a_runs_outputs_never_follows_a_folder_swapped_for_a_link(tmp_path):
    """A run's checkpoints/ (or samples/) replaced by a link after the start-up checks
    (another process): what removes the old run's files leaves the link's target alone."""
    from gan_tf import runs
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ckpt-1.index").write_bytes(b"the user's")
    (outside / "checkpoint").write_bytes(b"the user's")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text("")
    os.symlink(outside, run_dir / runs.CHECKPOINT_DIR)
    runs.remove_run_outputs(str(run_dir))
    assert sorted(os.listdir(outside)) == ["checkpoint", "ckpt-1.index"]
    assert not (run_dir / "metrics.jsonl").exists()


def test_removing_a_runs_outputs_removes_a_killed_saves_staging_folder_only(tmp_path):
    """A run killed while it wrote a checkpoint leaves checkpoints/.staging-XXXXXXXX (the
    checkpoint half written there): --overwrite removes it, and the folder with it, but
    not a folder of another name, nor what a staging-named link points to."""
    from gan_tf import runs
    run_dir = tmp_path / "run"
    ckpt = run_dir / runs.CHECKPOINT_DIR
    (ckpt / ".staging-ab_c1234" / "ckpt-20_temp").mkdir(parents=True)
    (ckpt / ".staging-ab_c1234" / "ckpt-20_temp" / "part-00000-of-00001.index").write_bytes(b"x")
    (ckpt / ".staging-ab_c1234" / "ckpt-20.index").write_bytes(b"x")
    (ckpt / "ckpt-10.index").write_bytes(b"x")
    runs.remove_run_outputs(str(run_dir))
    assert not ckpt.exists()
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (ckpt / ".staging-mine").mkdir(parents=True)
    os.symlink(outside, ckpt / ".staging-zz999999")
    runs.remove_run_outputs(str(run_dir))
    assert sorted(os.listdir(ckpt)) == [".staging-mine", ".staging-zz999999"]
    assert os.listdir(outside) == ["keep"]
