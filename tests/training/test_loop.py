"""Training: scope-filtered updates, the in-graph step, outputs, resume and refusals."""
import dataclasses
import glob
import json
import os
import pickle

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from gan_tf import data, errors, models, randomness  # noqa: E402
from gan_tf.config import TrainConfig  # noqa: E402
from gan_tf.runs.restore import restore_models  # noqa: E402
from gan_tf.training import loop
from gan_tf.training.steps import (METRIC_KEYS, GANTrainer, resolve_option,  # noqa: E402
                                   scope_variables)
from tests.helpers import SMALL, changed  # noqa: E402
from tests.helpers import records as read_records  # noqa: E402
from tests.helpers import small_config, snapshot


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_updates_touch_only_their_own_network(kind):
    config = small_config(kind)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    assert trainer.g_vars and all(v.name.startswith("generator/") for v in trainer.g_vars)
    assert trainer.d_vars and all(v.name.startswith("discriminator/") for v in trainer.d_vars)
    real = tf.random.uniform([16, 28, 28, 1], -1, 1)

    g_before, d_before = snapshot(g), snapshot(d)
    tf.function(trainer.discriminator_step)(real)
    assert changed(g_before, g) == set()  # every generator variable, batch-norm stats included
    assert changed(d_before, d) == {v.name for v in trainer.d_vars}

    g_before, d_before = snapshot(g), snapshot(d)
    tf.function(trainer.generator_step)()
    assert changed(d_before, d) == set()
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)


def test_scope_variables_filters_by_prefix_not_substring():
    with tf.name_scope("generator"):
        a = tf.Variable(1.0, name="w")
    with tf.name_scope("generator_old"):
        b = tf.Variable(1.0, name="w")
    assert scope_variables([a, b], "generator") == [a]


@pytest.mark.parametrize("kind,optimizer,d_steps", [
    ("mlp", "adam", 1), ("mlp_bn", "rmsprop", 2), ("dcgan", "adam", 1), ("dcgan", "rmsprop", 1)])
def test_train_steps_runs_in_graph_and_counts_steps(kind, optimizer, d_steps):
    from gan_tf import data
    config = small_config(kind, optimizer=optimizer, d_steps_per_g_step=d_steps)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    iterator = iter(data.make_dataset(images, config.batch_size, seed=0))
    history, finite = trainer.train_steps(iterator, tf.constant(3, tf.int64))
    assert history.shape == (3, len(METRIC_KEYS)) and bool(finite)
    metrics = dict(zip(METRIC_KEYS, history.numpy().T))
    assert np.isfinite(history.numpy()).all()
    assert int(trainer.step) == 3
    np.testing.assert_allclose(metrics["d_loss"], metrics["d_loss_real"] + metrics["d_loss_fake"],
                               rtol=1e-5)
    assert ((0 < metrics["d_real"]) & (metrics["d_real"] < 1)).all()
    trainer.train_steps(iterator, tf.constant(2, tf.int64))  # another count: no new graph
    assert int(trainer.step) == 5
    assert trainer.train_steps.experimental_get_tracing_count() == 1


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run"))
    config = small_config(output_dir=run_dir, max_steps=20, log_every=5, sample_every=10,
                          checkpoint_every=10, num_samples=9, eval_every=10, eval_samples=200)
    last = loop.train(config)
    return run_dir, last


def test_run_writes_every_output(finished_run):
    run_dir, last = finished_run
    assert last["step"] == 20
    records = read_records(run_dir)
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    for key in ("epoch", "d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake",
                "steps_per_sec"):
        assert all(np.isfinite(r[key]) for r in records), key
    with open(os.path.join(run_dir, "train_losses.pkl"), "rb") as f:
        losses = pickle.load(f)
    assert len(losses) == 4 and all(type(x) is np.float32 for pair in losses for x in pair)
    assert losses[-1] == (np.float32(records[-1]["d_loss"]), np.float32(records[-1]["g_loss"]))
    with open(os.path.join(run_dir, "train_samples.pkl"), "rb") as f:
        samples = pickle.load(f)
    assert len(samples) == 2 and samples[0].shape == (9, 28, 28)
    assert -1 <= samples[1].min() and samples[1].max() <= 1 and samples[1].std() > 0
    assert sorted(os.listdir(os.path.join(run_dir, "samples"))) == [
        "step_0000010.png", "step_0000020.png"]
    assert plt.imread(os.path.join(run_dir, "losses.png")).ndim == 3
    assert glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*"))
    ckpt = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    assert ckpt.endswith("ckpt-20")
    names = {n for n, _ in tf.train.list_variables(ckpt)}
    for part in ("g_optimizer/", "d_optimizer/", "step/"):
        assert any(n.startswith(part) for n in names), part
    # The generator restored from the last checkpoint reproduces the last sample grid.
    config = small_config(num_samples=9)
    g, _ = models.build(config)
    tf.train.Checkpoint(generator=g).restore(ckpt).expect_partial()
    images, _ = g(randomness.fixed_z(config))
    np.testing.assert_allclose(images.numpy()[..., 0], samples[-1], atol=1e-6)
    with open(os.path.join(run_dir, "config.json")) as f:
        assert json.load(f)["batch_size"] == 16


def test_run_evaluates_sample_quality_into_logs_and_eval_json(finished_run):
    run_dir, last = finished_run
    records = read_records(run_dir)
    evaluated = [r for r in records if "classifier_score" in r]
    assert [r["step"] for r in evaluated] == [10, 20]  # --eval_every=10, and the end
    with open(os.path.join(run_dir, "eval.json")) as f:
        doc = json.load(f)
    assert [e["step"] for e in doc["evaluations"]] == [10, 20]
    assert doc["final"] == doc["evaluations"][-1] == {k: records[-1][k] for k in doc["final"]}
    assert doc["classifier"]["dataset"] == "mnist_5k" and doc["eval_samples"] == 200
    final = doc["final"]
    assert 1.0 <= final["classifier_score"] <= 10.0 and final["frechet_distance"] > 0
    assert 0 <= final["modes"] <= 10 and 0 <= final["precision"] <= 1 and 0 <= final["recall"] <= 1
    # The same numbers from the restored generator and the metrics module directly.
    from gan_tf import data, evaluation
    from gan_tf.evaluation import classifier
    config = small_config(eval_samples=200)
    g, _ = models.build(config)
    tf.train.Checkpoint(generator=g).restore(
        tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))).expect_partial()
    clf, _ = classifier.load(classifier.default_classifier_dir("mnist_5k"))
    images, _ = g(randomness.fixed_z(config, 200, randomness.EVAL_STREAM))
    real = data.load_mnist_5k().test_images[:200]
    direct = evaluation.ImageEvaluator(clf, real)(images.numpy())
    for key, value in direct.items():
        assert final[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


def test_run_writes_a_gif_of_the_fixed_z_grids(finished_run):
    from PIL import Image
    run_dir, _ = finished_run
    with Image.open(os.path.join(run_dir, "progress.gif")) as gif:
        assert gif.n_frames == 2  # one per sample grid: steps 10 and 20
        gif.seek(1)
        frame = np.asarray(gif.convert("L"), np.float32) / 255
    with open(os.path.join(run_dir, "train_samples.pkl"), "rb") as f:
        last_grid = pickle.load(f)[-1]
    from gan_tf.runs import plots
    expected = np.kron(plots.image_grid(last_grid), np.ones((3, 3)))
    assert frame.shape == expected.shape
    np.testing.assert_allclose(frame, expected, atol=1.5 / 255)


def test_evaluation_between_log_records_gets_its_own_record(tmp_path):
    config = small_config(output_dir=str(tmp_path), max_steps=10, log_every=5, eval_every=4,
                          eval_samples=50)
    loop.train(config)
    records = read_records(str(tmp_path))
    assert [(r["step"], "d_loss" in r, "classifier_score" in r) for r in records] == [
        (4, False, True), (5, True, False), (8, False, True), (10, True, True)]
    with open(tmp_path / "train_losses.pkl", "rb") as f:
        assert len(pickle.load(f)) == 2  # the legacy loss log holds only loss records


def test_max_seconds_stops_saves_evaluates_and_a_rerun_continues(tmp_path):
    config = small_config(output_dir=str(tmp_path), max_steps=10, log_every=5, eval_samples=50,
                          max_seconds=1e-3)
    last = loop.train(config)
    assert last["step"] == 1 and "classifier_score" in last  # first call is one step
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-1")
    last = loop.train(dataclasses.replace(config, max_seconds=None))
    assert last["step"] == 10
    assert [r["step"] for r in read_records(str(tmp_path))] == [1, 5, 10]


@pytest.mark.parametrize("kind,trick", [
    ("dcgan", dict(init="normal_0.02")), ("mlp", dict(init="he")),
    ("mlp", dict(instance_noise=0.5)), ("dcgan", dict(label_flip=0.2)),
    ("dcgan", dict(instance_noise=0.3, label_flip=0.1, d_steps_per_g_step=2)),
    ("dcgan", dict(d_translate=2, g_ema=0.99)), ("mlp", dict(d_translate=1)),
    ("dcgan", dict(diffaugment="color,translation,cutout")),
    ("mlp", dict(diffaugment="color,translation,cutout", d_steps_per_g_step=2))])
def test_tricks_train_in_graph(kind, trick):
    from gan_tf import data
    config = small_config(kind, **trick)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    g_before, d_before = snapshot(g), snapshot(d)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    history, finite = trainer.train_steps(iter(data.make_dataset(images, 16, seed=0)),
                                          tf.constant(2, tf.int64))
    assert bool(finite) and np.isfinite(history.numpy()).all()
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)
    assert {v.name for v in trainer.d_vars} <= changed(d_before, d)


@pytest.mark.parametrize("init,expected_std", [
    ("normal_0.02", lambda fan_in, fan_out: 0.02),
    ("he", lambda fan_in, fan_out: np.sqrt(2.0 / fan_in)),
    ("glorot", lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out)))])
def test_init_sets_the_kernel_distribution(init, expected_std):
    g, _ = models.build(small_config("mlp", init=init, g_hidden=(256,), z_dim=100))
    kernel = g.hidden[0].kernel.numpy()  # (100, 256)
    assert kernel.std() == pytest.approx(expected_std(100, 256), rel=0.05)
    assert abs(kernel.mean()) < 0.01 * max(1.0, expected_std(100, 256) * 10)


def test_legacy_notebook_code_plots_train_losses(finished_run):
    run_dir, _ = finished_run
    # The legacy notebook's cell, unchanged.
    with open(os.path.join(run_dir, "train_losses.pkl"), "rb") as f:
        losses = np.array(pickle.load(f))
    fig, ax = plt.subplots()
    plt.plot(losses.T[0], label="Discriminator")
    plt.plot(losses.T[1], label="Generator")
    plt.title("Training Losses")
    plt.legend()
    assert losses.shape == (4, 2)
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    for line, key in zip(ax.lines, ("d_loss", "g_loss")):  # the curves are the logged means
        np.testing.assert_allclose(line.get_ydata(), [r[key] for r in records], rtol=1e-6)
    plt.close(fig)


def test_resume_appends_without_duplicates_and_matches_an_uninterrupted_run(tmp_path):
    split = small_config(output_dir=str(tmp_path / "split"), log_every=10, checkpoint_every=20)
    loop.train(dataclasses.replace(split, max_steps=40))
    assert [r["step"] for r in read_records(split.output_dir)] == [10, 20, 30, 40]
    loop.train(dataclasses.replace(split, max_steps=80))
    records = read_records(split.output_dir)
    assert [r["step"] for r in records] == [10, 20, 30, 40, 50, 60, 70, 80]
    with open(os.path.join(split.output_dir, "train_losses.pkl"), "rb") as f:
        assert len(pickle.load(f)) == 8

    whole = dataclasses.replace(split, output_dir=str(tmp_path / "whole"), max_steps=80)
    loop.train(whole)
    np.testing.assert_allclose([r["g_loss"] for r in records],
                               [r["g_loss"] for r in read_records(whole.output_dir)], rtol=1e-4)


def test_resume_cuts_logs_back_to_the_checkpoint(tmp_path):
    config = small_config(output_dir=str(tmp_path), max_steps=40, log_every=10,
                          checkpoint_every=20, sample_every=10, eval_every=20, eval_samples=50)
    loop.train(config)
    # As if killed after logging step 40 but before its checkpoint was written.
    for path in glob.glob(str(tmp_path / "checkpoints" / "ckpt-40*")):
        os.remove(path)
    ckpt_state = tmp_path / "checkpoints" / "checkpoint"
    ckpt_state.write_text(ckpt_state.read_text().replace("ckpt-40", "ckpt-20"))
    with open(tmp_path / "eval.json") as f:
        classifier_info = json.load(f)["classifier"]
    config = dataclasses.replace(config, max_steps=30)  # stop after the cut-back, at step 30
    loop.train(config)
    assert [r["step"] for r in read_records(str(tmp_path))] == [10, 20, 30]
    with open(tmp_path / "train_samples_steps.json") as f:
        assert json.load(f) == [10, 20, 30]
    with open(tmp_path / "eval.json") as f:
        doc = json.load(f)
    assert [e["step"] for e in doc["evaluations"]] == [20, 30]  # step 40's evaluation is gone
    assert doc["classifier"] == classifier_info


def test_a_different_configuration_is_refused_unless_overwrite(tmp_path):
    config = small_config(output_dir=str(tmp_path), max_steps=10, log_every=5)
    loop.train(config)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(errors.RunError, match=r"batch_size: 16 -> 32.*--overwrite"):
        loop.train(dataclasses.replace(config, batch_size=32))
    assert [r["step"] for r in read_records(str(tmp_path))] == [5, 10]  # untouched
    loop.train(dataclasses.replace(config, batch_size=32, max_steps=5, overwrite=True))
    assert [r["step"] for r in read_records(str(tmp_path))] == [5]
    assert (tmp_path / "notes.txt").read_text() == "mine"  # only training's own files go


def test_finished_run_is_not_trained_further(tmp_path):
    config = small_config(output_dir=str(tmp_path), max_steps=10, log_every=5)
    loop.train(config)
    before = read_records(str(tmp_path))
    assert loop.train(config)["step"] == 10
    assert read_records(str(tmp_path)) == before


def test_unwritable_output_dir_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(errors.RunError, match="not a directory"):
        loop.train(small_config(output_dir=str(blocker)))
    with pytest.raises(errors.RunError, match="cannot be written"):
        loop.train(small_config(output_dir=str(blocker / "sub")))


def test_joint_step_updates_both_networks_from_one_pass():
    config = small_config("dcgan", joint_updates=True)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    g_before, d_before = snapshot(g), snapshot(d)
    row = tf.function(trainer.train_step)([tf.random.uniform([16, 28, 28, 1], -1, 1)])
    assert row.shape == (len(METRIC_KEYS),) and np.isfinite(row.numpy()).all()
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)
    assert changed(d_before, d) == {v.name for v in trainer.d_vars}
    assert resolve_option(small_config("mlp"), "joint_updates") is False
    assert resolve_option(small_config("dcgan"), "joint_updates") is True


@pytest.mark.parametrize("model,batch,given,expect", [
    ("mlp", 32, None, False), ("mlp", 100, None, False), ("mlp", 256, None, False),
    ("mlp", 1024, True, True), ("mlp", 64, True, True), ("dcgan", 64, None, False),
    ("dcgan", 64, True, True)])
def test_xla_is_off_unless_asked_for(model, batch, given, expect):
    """Since Adam's fused update the MLP's plain graph is the faster (docs/performance.md);
    an explicit --jit_compile wins."""
    config = TrainConfig(model=model, batch_size=batch, jit_compile=given)
    assert resolve_option(config, "jit_compile") is expect


@pytest.mark.parametrize("kind", ["mlp_bn", "dcgan"])
def test_generator_ema_follows_the_weights(kind):
    config = small_config(kind, g_ema=0.9)
    g, d = models.build(config)
    ema = models.build_generator(config, "generator_ema")
    trainer = GANTrainer(config, g, d, ema)
    before = snapshot(g)
    assert all(np.array_equal(e.numpy(), before[v.name]) for e, v in zip(ema.variables, g.variables))
    images = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    trainer.train_steps(iter(data.make_dataset(images, 16, seed=0)), tf.constant(1, tf.int64))
    for e, v in zip(ema.variables, g.variables):
        expected = 0.9 * before[v.name] + 0.1 * v.numpy() if v.trainable else v.numpy()
        np.testing.assert_allclose(e.numpy(), expected, rtol=1e-5, atol=1e-7, err_msg=v.name)
    assert not any(v.name.startswith("generator_ema") for v in trainer.g_vars)


def test_ema_run_samples_and_restores_the_averaged_generator(tmp_path):
    config = small_config(output_dir=str(tmp_path), max_steps=10, log_every=5, sample_every=10,
                          g_ema=0.5, eval_samples=0, num_samples=4)
    loop.train(config)
    config2, g, _, _ = restore_models(str(tmp_path))
    assert g.name == "generator" and config2.g_ema == 0.5
    with open(tmp_path / "train_samples.pkl", "rb") as f:
        last_grid = pickle.load(f)[-1]
    np.testing.assert_allclose(g(randomness.fixed_z(config))[0].numpy()[..., 0], last_grid,
                               atol=1e-6)
    raw, _ = models.build(config)
    tf.train.Checkpoint(generator=raw).restore(
        tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))).expect_partial()
    assert not np.allclose(raw(randomness.fixed_z(config))[0].numpy()[..., 0], last_grid,
                           atol=1e-6)
