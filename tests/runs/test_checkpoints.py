"""gan_tf.runs.checkpoints: a run saves, keeps and finds its checkpoints from the files in its
own checkpoints/ folder; nothing a file there says decides what gets deleted."""
import json
import os
import shutil

import pytest
import tensorflow as tf

from gan_tf import errors
from gan_tf.runs import checkpoints
from gan_tf.training import loop
from tests.helpers import run_config


def plant(folder, names):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        with open(os.path.join(folder, name), "w") as f:
            f.write("not yours to delete\n")


def test_a_crafted_index_deletes_nothing_outside_the_run_on_resume(small_run, tmp_path):
    """The `checkpoint` index lists absolute, ../ and glob paths as old checkpoints, with
    timestamps that preserve none: tf.train.CheckpointManager deleted what they matched."""
    victim = tmp_path / "victim"
    plant(victim / "other_run" / "checkpoints", ["ckpt-5.index", "ckpt-5.data-00000-of-00001"])
    plant(victim, ["notes.index", "notes.data-00000-of-00001"])
    run_dir = tmp_path / "box" / "run"
    shutil.copytree(small_run, run_dir)
    ckpt = run_dir / "checkpoints"
    paths = [f"{victim}/*", "../../../victim/*/*/*", f"{victim}/notes", "ckpt-10"]
    (ckpt / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-10"\n'
        + "".join(f'all_model_checkpoint_paths: "{p}"\n' for p in paths)
        + "".join(f"all_model_checkpoint_timestamps: {2e9 + i}\n" for i in range(len(paths)))
        + "last_preserved_timestamp: 1.0\n")
    before = sorted(str(p) for p in victim.rglob("*"))
    loop.train(run_config(run_dir, max_steps=40))  # three more checkpoints: a sweep
    assert sorted(str(p) for p in victim.rglob("*")) == before
    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-40")


def test_a_run_directory_named_like_a_glob_is_refused_and_deletes_nothing(tmp_path):
    """`exp[1]`'s old checkpoints, as a glob, match `exp1`'s. Training there is refused
    before it starts (TensorFlow could not read the run back), and a saver working in
    such a folder anyway deletes its own old checkpoints by name, never exp1's."""
    sibling = tmp_path / "exp1" / "checkpoints"
    plant(sibling, ["ckpt-3.index", "ckpt-3.data-00000-of-00001"])
    run_dir = tmp_path / "exp[1]"
    with pytest.raises(errors.ConfigError, match="--output_dir: holds"):
        loop.train(run_config(run_dir, max_steps=50))
    assert not run_dir.exists()
    folder = str(run_dir / "checkpoints")
    variable = tf.Variable(1.0)
    saver = checkpoints.CheckpointSaver(tf.train.Checkpoint(v=variable), folder, keep=1)
    for step in (2, 3, 4):
        saver.save(step)
    assert sorted(os.listdir(sibling)) == ["ckpt-3.data-00000-of-00001", "ckpt-3.index"]
    assert sorted(n for n in os.listdir(folder) if n.endswith(".index")) == ["ckpt-4.index"]


def test_the_index_is_rebuilt_from_the_files_and_tf_finds_the_newest(small_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    ckpt = run_dir / "checkpoints"
    (ckpt / "checkpoint").write_text('model_checkpoint_path: "/elsewhere/ckpt-99"\n')
    loop.train(run_config(run_dir, max_steps=30))
    state = tf.train.get_checkpoint_state(str(ckpt))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
        "ckpt-10", "ckpt-20", "ckpt-30"]
    assert all(os.path.dirname(p) == str(ckpt) for p in state.all_model_checkpoint_paths)
    assert state.model_checkpoint_path == str(ckpt / "ckpt-30")


def test_saver_keeps_the_newest_complete_checkpoints_and_files_of_other_names(tmp_path):
    folder = str(tmp_path / "checkpoints")
    plant(folder, ["ckpt-1.index", "notes.txt", "ckpt-7.index.bak"])  # ckpt-1: incomplete
    variable = tf.Variable(1.0)
    saver = checkpoints.CheckpointSaver(tf.train.Checkpoint(v=variable), folder, keep=2)
    for step in (2, 3, 4):
        variable.assign(float(step))
        saver.save(step)
    names = sorted(os.listdir(folder))
    assert names == ["checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index",
                     "ckpt-4.data-00000-of-00001", "ckpt-4.index", "ckpt-7.index.bak",
                     "notes.txt"]
    assert saver.latest == checkpoints.latest_checkpoint(folder) == os.path.join(folder, "ckpt-4")
    restored = tf.Variable(0.0)
    tf.train.Checkpoint(v=restored).restore(saver.latest).assert_existing_objects_matched()
    assert restored.numpy() == 4.0


def test_a_link_planted_at_a_checkpoint_s_name_is_replaced_not_written_through(small_run,
                                                                              tmp_path):
    """TensorFlow opens NAME.index through a link of that name: a link at the next
    checkpoint's index (left there before a resume, or made during the run) had the
    checkpoint's index written into the file it points to, outside the run."""
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    ckpt = run_dir / "checkpoints"
    os.symlink(victim, ckpt / "ckpt-20.index")  # incomplete alone: resumed from ckpt-10
    os.symlink(victim, ckpt / "ckpt-30.data-00000-of-00001")
    loop.train(run_config(run_dir, max_steps=30))
    assert victim.read_text() == "the user's file\n"
    assert not os.path.islink(ckpt / "ckpt-20.index")
    assert not os.path.islink(ckpt / "ckpt-30.data-00000-of-00001")
    assert checkpoints.latest_checkpoint(str(ckpt)) == str(ckpt / "ckpt-30")
    assert not [n for n in os.listdir(ckpt) if n.startswith(".")]  # no staging left


def test_keep_best_replaces_a_link_at_the_best_s_name(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    os.symlink(victim, folder / "best-4.index")
    prefix = checkpoints.keep_best(tf.train.Checkpoint(v=tf.Variable(2.0)), str(folder), 4)
    assert prefix == str(folder / "best-4")
    assert victim.read_text() == "the user's file\n"
    assert checkpoints.best_checkpoint(str(folder)) == prefix
    restored = tf.Variable(0.0)
    tf.train.Checkpoint(v=restored).read(prefix).assert_existing_objects_matched()
    assert restored.numpy() == 2.0


@pytest.mark.parametrize("keep", [0, -1, 1.5])
def test_saver_refuses_to_keep_no_checkpoint(tmp_path, keep):
    with pytest.raises(ValueError, match="keep"):
        checkpoints.CheckpointSaver(tf.train.Checkpoint(), str(tmp_path), keep=keep)


def test_restore_matches_every_object_or_says_why_in_one_line(tmp_path):
    folder = str(tmp_path / "checkpoints")
    a, b = tf.Variable(1.0), tf.Variable([2.0, 3.0])
    saver = checkpoints.CheckpointSaver(tf.train.Checkpoint(a=a, b=b), folder)
    path = saver.save(5)
    only_a = tf.Variable(0.0)
    checkpoints.restore(tf.train.Checkpoint(a=only_a), path)  # a reader takes a part
    assert only_a.numpy() == 1.0
    with pytest.raises(errors.RunError, match="cannot restore .*ckpt-5 \\(hint\\): ") as error:
        checkpoints.restore(tf.train.Checkpoint(a=tf.Variable([0.0, 0.0, 0.0])), path, " (hint)")
    assert "\n" not in str(error.value)
    data = next(p for p in os.listdir(folder) if ".data-" in p)
    with open(os.path.join(folder, data), "r+b") as f:
        f.truncate(10)
    with pytest.raises(errors.RunError, match="cannot restore"):
        checkpoints.restore(tf.train.Checkpoint(a=tf.Variable(0.0), b=tf.Variable([0.0, 0.0])),
                            path)


# --- the best checkpoint (issue 28) ----------------------------------------------------

class _Writes:
    """A checkpoint stand-in whose write() makes a complete one-shard checkpoint's files."""

    save_counter = tf.Variable(0, dtype=tf.int64)

    def write(self, prefix):
        for suffix in (".index", ".data-00000-of-00001"):
            with open(prefix + suffix, "w") as f:
                f.write("x")
        return prefix


def test_keep_best_writes_one_best_and_removes_only_other_best_files(tmp_path):
    plant(tmp_path, ["ckpt-4.index", "ckpt-4.data-00000-of-00001", "best.txt", "best-x.index"])
    assert checkpoints.best_checkpoint(str(tmp_path)) is None
    checkpoints.keep_best(_Writes(), str(tmp_path), 4)
    checkpoints.keep_best(_Writes(), str(tmp_path), 8)
    assert sorted(os.listdir(tmp_path)) == ["best-8.data-00000-of-00001", "best-8.index",
                                            "best-x.index", "best.txt", "ckpt-4.data-00000-of-00001",
                                            "ckpt-4.index"]
    assert checkpoints.best_checkpoint(str(tmp_path)) == str(tmp_path / "best-8")
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "ckpt-4")  # not the best
    (tmp_path / "best-9.index").write_text("x")  # incomplete: no data shard
    assert checkpoints.best_checkpoint(str(tmp_path)) == str(tmp_path / "best-8")


def test_the_best_record_is_the_highest_score_and_the_first_of_equals():
    records = [{"step": 1}, {"step": 2, "classifier_score": 3.0},
               {"step": 3, "classifier_score": 5.0}, {"step": 4, "classifier_score": 5.0}]
    assert checkpoints.best_record(records)["step"] == 3
    assert checkpoints.best_record([{"step": 1}]) is None


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    """A run evaluated every 2 steps of 6, checkpointed every 2 (all three kept)."""
    run_dir = tmp_path_factory.mktemp("evaluated") / "run"
    loop.train(run_config(run_dir, max_steps=6, log_every=2, checkpoint_every=2, eval_every=2,
                          eval_samples=40))
    return run_dir


def test_a_run_keeps_its_best_evaluation_s_networks_and_says_so_in_eval_json(evaluated_run):
    import json

    import numpy as np

    from gan_tf.runs.restore import restore_models
    with open(evaluated_run / "eval.json") as f:
        doc = json.load(f)
    scores = {e["step"]: e["classifier_score"] for e in doc["evaluations"]}
    best = max(scores, key=scores.get)
    assert sorted(scores) == [2, 4, 6] and doc["best"]["step"] == best
    assert doc["best"]["checkpoint"] == f"checkpoints/best-{best}" and doc["best_by"] == "classifier_score"
    names = os.listdir(evaluated_run / "checkpoints")
    assert {n.split(".")[0] for n in names if n.startswith("best")} == {f"best-{best}"}
    z = tf.random.uniform([3, 100], -1, 1, seed=1)
    _, by_default, _, source = restore_models(str(evaluated_run))
    assert source.endswith(f"best-{best}")
    _, same_step, _, _ = restore_models(str(evaluated_run), checkpoint=best)  # ckpt-<best>
    np.testing.assert_array_equal(by_default(z)[0].numpy(), same_step(z)[0].numpy())
    assert restore_models(str(evaluated_run), checkpoint="latest")[3].endswith("ckpt-6")
    with pytest.raises(errors.RunError, match=r"no checkpoint of step 5 \(it keeps steps 2, 4, 6 "
                                              r"and the best"):
        restore_models(str(evaluated_run), checkpoint=5)


def test_the_best_survives_a_resume_and_overwrite_removes_it(evaluated_run, tmp_path):
    import json
    run_dir = tmp_path / "run"
    shutil.copytree(evaluated_run, run_dir)
    with open(run_dir / "eval.json") as f:
        best = json.load(f)["best"]["step"]
    loop.train(run_config(run_dir, max_steps=8, log_every=2, checkpoint_every=2, eval_every=2,
                          eval_samples=40))  # resumed: one more evaluation, at step 8
    with open(run_dir / "eval.json") as f:
        doc = json.load(f)
    assert [e["step"] for e in doc["evaluations"]] == [2, 4, 6, 8]
    kept = {n.split(".")[0] for n in os.listdir(run_dir / "checkpoints") if n.startswith("best")}
    assert kept == {f"best-{doc['best']['step']}"} and doc["best"]["step"] in (best, 8)
    loop.train(run_config(run_dir, max_steps=2, log_every=2, checkpoint_every=2, overwrite=True,
                          batch_size=16))  # another run replaces it: no best of the old one
    assert not [n for n in os.listdir(run_dir / "checkpoints") if n.startswith("best")]


def test_a_run_without_evaluations_has_no_best_and_the_default_is_the_latest(small_run):
    from gan_tf.runs.restore import checkpoint_of
    assert checkpoint_of(str(small_run)).endswith("ckpt-10")
    with pytest.raises(errors.RunError, match="has no best checkpoint .*--checkpoint=latest"):
        checkpoint_of(str(small_run), "best")


def test_the_tools_take_checkpoint_best_latest_or_a_step(evaluated_run, tmp_path):
    from tests.helpers import cli_errors
    out = tmp_path / "s.npy"
    results = cli_errors("gan_tf.sample", *[[f"--run_dir={evaluated_run}", f"--out={out}",
                                             "--overwrite", "--num_samples=2",
                                             "--interpolation_rows=0", f"--checkpoint={c}"]
                                            for c in ("latest", "4", "7")])
    assert [code for code, _ in results] == [0, 0, 1]
    assert "no checkpoint of step 7" in results[2][1].strip().splitlines()[-1]



def test_a_run_moved_into_a_folder_with_pattern_characters_is_refused_in_one_line(small_run,
                                                                                tmp_path):
    """TensorFlow's checkpoint reader matches a checkpoint's path as a glob pattern, so
    it found no files under run[1]/ and said only that."""
    from gan_tf.runs.restore import restore_models
    run_dir = tmp_path / "run[1]"
    shutil.copytree(small_run, run_dir)
    with pytest.raises(errors.RunError, match=r"run\[1\].*holds \[, \*, \? or a backslash.*move or rename"):
        restore_models(str(run_dir))


def test_a_run_recorded_under_pattern_characters_and_moved_out_still_restores(small_run,
                                                                            tmp_path):
    """config.json records the folder the run was trained in; moved out of run[1], as the
    refusal advises, the run is read as any other (the check is for new paths only)."""
    from gan_tf.runs.restore import restore_models
    run_dir = tmp_path / "run1"
    shutil.copytree(small_run, run_dir)
    stored = json.loads((run_dir / "config.json").read_text())
    stored["output_dir"] = str(tmp_path / "run[1]")
    (run_dir / "config.json").write_text(json.dumps(stored))
    config, *_ = restore_models(str(run_dir))
    assert config.output_dir == str(tmp_path / "run[1]")
