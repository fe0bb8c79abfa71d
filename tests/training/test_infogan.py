"""InfoGAN's categorical code (--latent_categories): G takes the code, D's Q head reads
it back, both losses carry its cross-entropy (logged as info_loss), and evaluations,
samples and exports of such a run draw codes from the prior rather than classes."""
import dataclasses
import glob
import json
import math
import os
import pickle
import shutil

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, models, randomness, runs
from gan_tf.applications import anomaly, export, sampling
from gan_tf.evaluation import GeneratorEvaluator
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop, steps
from gan_tf.training.steps import METRIC_KEYS, GANTrainer
from tests.helpers import assert_config_refuses, changed, cli_errors, records, small_config, snapshot

K = 10
IMAGES = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)


def build(config):
    tf.random.set_seed(config.seed)
    return models.build(config)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_generator_takes_the_code_and_d_has_a_q_head(kind):
    plain_g, plain_d = build(small_config(kind))
    g, d = build(small_config(kind, latent_categories=K))
    # G's variables keep their TF1 names; the kernel reading z has K more rows.
    assert [v.name for v in g.variables] == [v.name for v in plain_g.variables]
    first = g.hidden[0].kernel if kind == "mlp" else g.project.kernel
    assert first.shape[0] == 8 + K and g.num_codes == K and g.num_classes == 0
    # D: the unconditional one's variables, and the Q head on its last features.
    assert [v.name for v in d.variables if "/info/" not in v.name] == \
        [v.name for v in plain_d.variables]
    features = int(d.features(tf.zeros([1, 28, 28, 1])).shape[-1])
    assert {v.name: tuple(v.shape) for v in d.variables if "/info/" in v.name} == {
        "discriminator/info/kernel:0": (features, K), "discriminator/info/bias:0": (K,)}
    z = tf.random.stateless_uniform([K, 8], [1, 2], -1.0, 1.0)
    a, _ = g(z, labels=tf.range(K))
    assert not np.allclose(a.numpy(), g(z, labels=(tf.range(K) + 1) % K)[0].numpy(), atol=1e-4)
    with pytest.raises(ValueError, match="takes InfoGAN's categorical code: pass labels="):
        g(z)
    d(a)  # D is unconditional
    with pytest.raises(ValueError, match="not class-conditional"):
        d(a, labels=tf.range(K))


@pytest.mark.parametrize("batch,k", [(1, 2), (7, 10), (32, 3)])
def test_code_loss_is_numpy_softmax_cross_entropy(batch, k):
    rng = np.random.default_rng(batch)
    logits = rng.normal(0, 3, (batch, k)).astype(np.float32)
    codes = rng.integers(0, k, batch)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(batch), codes].mean()
    np.testing.assert_allclose(steps.code_loss(logits, codes).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(tf.function(steps.code_loss)(logits, codes).numpy(), expected,
                               rtol=1e-5)


def one_step(config, compiled=True):
    """(the step's metric row, trainer) of one step from the seed's weights on IMAGES."""
    g, d = build(config)
    trainer = GANTrainer(config, g, d)
    real = [tf.constant(IMAGES[:config.batch_size])] * config.d_steps_per_g_step
    step = trainer._compiled_step if compiled else trainer.train_step
    return dict(zip(trainer.metric_keys, step(real).numpy())), trainer


@pytest.mark.parametrize("kind,joint", [("mlp", False), ("dcgan", True), ("dcgan", False)])
def test_the_code_loss_trains_q_and_reaches_g_and_d(kind, joint):
    config = small_config(kind, latent_categories=K, joint_updates=joint, dropout=0.0,
                          jit_compile=False)
    g, d = build(config)
    before = {**snapshot(g), **snapshot(d)}
    with_code, trainer = one_step(config)
    q = {"discriminator/info/kernel:0", "discriminator/info/bias:0"}
    assert q <= changed(before, trainer.discriminator)  # D's optimizer trains Q
    assert {v.name for v in trainer.g_vars} <= changed(before, trainer.generator)
    # The same step without the code's weight: Q's gradient is 0 (Adam leaves it); G's
    # update differs, and D's in the layers under the features (not in its output layer).
    without, plain = one_step(dataclasses.replace(config, info_weight=0.0))
    assert not q & changed(before, plain.discriminator)
    g_vars = {v.name for v in trainer.g_vars}
    assert changed(snapshot(plain.generator), trainer.generator) >= g_vars
    out = {v.name for v in trainer.discriminator.out.variables}
    assert changed(snapshot(plain.discriminator), trainer.discriminator) == \
        {v.name for v in trainer.d_vars} - out
    # At the start Q reads nothing: about chance, log K (the joint step's forward pass is
    # the same either way; the alternating G step's comes after D's other update).
    assert 0.5 * math.log(K) < with_code["info_loss"] < 2 * math.log(K)
    if joint:
        np.testing.assert_allclose(without["info_loss"], with_code["info_loss"], rtol=1e-6)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_graph_and_eager_steps_give_the_same_losses(kind):
    config = small_config(kind, latent_categories=4, jit_compile=False, dropout=0.0)
    graph, _ = one_step(config)
    eager, _ = one_step(config, compiled=False)
    assert list(graph) == list(METRIC_KEYS) + ["info_loss"]
    for name in graph:
        np.testing.assert_allclose(eager[name], graph[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("overrides,field,message", [
    (dict(latent_categories=1), "latent_categories", "0 (off) or 2 to 1000"),
    (dict(latent_categories=-3), "latent_categories", "0 (off) or 2 to 1000"),
    (dict(latent_categories=True), "latent_categories", "0 (off) or 2 to 1000"),
    (dict(latent_categories=10, info_weight=-1.0), "info_weight", ">= 0"),
    (dict(latent_categories=10, info_weight=float("nan")), "info_weight", ">= 0"),
    (dict(latent_categories=10, conditional=True), "latent_categories", "choose one"),
    (dict(info_weight=2.0), "info_weight", "is off"),
    (dict(model="tf1", generator_fn="a:g", discriminator_fn="a:d", latent_categories=10),
     "latent_categories", "legacy model function takes no code"),
])
def test_config_refuses_what_makes_no_sense(overrides, field, message):
    assert_config_refuses(overrides, field, message)


def test_evaluation_codes_are_random_fixed_and_not_cycled():
    config = small_config(latent_categories=K, eval_samples=1000)
    codes = randomness.fixed_codes(config, 1000, randomness.EVAL_STREAM)
    assert codes.dtype == np.int32 and codes.shape == (1000,)
    assert not np.array_equal(codes[:K], np.arange(K))  # drawn, not 0, 1, ..., K-1
    counts = np.bincount(codes, minlength=K)
    assert counts.min() > 60 and counts.max() < 140  # uniform: 100 each, give or take
    np.testing.assert_array_equal(randomness.fixed_codes(config, 1000, randomness.EVAL_STREAM),
                                  codes)  # reproducible
    np.testing.assert_array_equal(randomness.fixed_codes(config, 30, randomness.EVAL_STREAM),
                                  codes[:30])  # a prefix of a longer draw
    assert not np.array_equal(randomness.fixed_codes(config, 1000), codes)  # another stream
    other_seed = dataclasses.replace(config, seed=1)
    assert not np.array_equal(randomness.fixed_codes(other_seed, 1000, randomness.EVAL_STREAM),
                              codes)
    assert randomness.fixed_codes(small_config(), 10) is None


@pytest.fixture(scope="module")
def info_run(tmp_path_factory):
    """A finished InfoGAN run: the small MLP with K codes, 200 steps, evaluated."""
    run_dir = tmp_path_factory.mktemp("info") / "run"
    config = small_config(latent_categories=K, output_dir=str(run_dir), max_steps=200,
                          log_every=50, checkpoint_every=100, eval_samples=50, num_samples=12)
    loop.train(config)
    return run_dir


def test_run_logs_info_loss_which_falls_as_q_learns_the_code(info_run):
    logged = [r for r in records(info_run) if "d_loss" in r]
    assert [r["step"] for r in logged] == [50, 100, 150, 200]
    assert all(set(METRIC_KEYS) | {"info_loss"} <= r.keys() for r in logged)
    assert logged[-1]["info_loss"] < 0.5 * math.log(K)  # chance is log K
    with open(info_run / "train_losses.pkl", "rb") as f:  # the legacy pairs, unchanged
        assert all(len(pair) == 2 for pair in pickle.load(f))
    with open(info_run / "eval.json") as f:
        final = json.load(f)["final"]
    assert final["step"] == 200 and "label_accuracy" not in final  # a code is not a class
    # Q reads G's code back from fresh samples far better than chance (1/K).
    config, g, d, _ = restore_models(str(info_run))
    codes = randomness.random_codes(500, K, seed=5, stream=9)
    images, _ = g(randomness.latent_codes(500, 8, "uniform", 5, 9), labels=codes)
    read = np.argmax(d.code_logits(d.features(images)).numpy(), axis=1)
    assert np.mean(read == codes) > 0.5


def test_evaluation_draws_the_run_codes_not_classes(info_run, quick_classifier):
    config, g, _, _ = restore_models(str(info_run))
    evaluator = GeneratorEvaluator(dataclasses.replace(config, eval_samples=40),
                                   data.load_mnist_5k())
    assert evaluator.labels is None  # no label_accuracy
    codes = randomness.fixed_codes(config, 40, randomness.EVAL_STREAM)
    np.testing.assert_array_equal(evaluator.codes, codes)
    expected = evaluator.images(g(evaluator.z, labels=codes)[0].numpy())
    assert evaluator(g) == pytest.approx(expected)


def test_samples_draw_random_codes_or_the_one_asked_for(info_run):
    config, g, _, _ = restore_models(str(info_run))
    z = randomness.latent_codes(12, config.z_dim, "uniform", 0)
    codes = sampling.class_labels(g, 12)
    np.testing.assert_array_equal(codes, randomness.random_codes(12, K, 0))
    drawn = sampling.draw(g, 12, config.z_dim)
    np.testing.assert_allclose(drawn, g(z, labels=codes)[0].numpy()[..., 0], atol=1e-6)
    # With the run's seed, the first samples are its last fixed-z grid, codes included.
    with open(info_run / "train_samples.pkl", "rb") as f:
        np.testing.assert_allclose(drawn, pickle.load(f)[-1], atol=1e-5)
    threes = sampling.draw(g, 6, config.z_dim, label=3)
    np.testing.assert_allclose(threes, g(z[:6], labels=tf.fill([6], 3))[0].numpy()[..., 0],
                               atol=1e-6)
    rows = sampling.interpolate(g, 3, 4, config.z_dim)
    assert rows.shape == (12, 28, 28) and np.isfinite(rows).all()


def test_sample_command_takes_a_code_below_k(info_run, tmp_path):
    out = tmp_path / "code3.npy"
    done, refused = cli_errors(
        "gan_tf.sample", [f"--run_dir={info_run}", "--label=3", "--num_samples=5", f"--out={out}"],
        [f"--run_dir={info_run}", f"--label={K}", f"--out={tmp_path / 'x.npy'}"])
    assert done[0] == 0, done[1][-2000:]
    assert np.load(out).shape == (5, 28, 28)
    lines = refused[1].strip().splitlines()
    assert refused[0] == 2 and f"codes 0 to {K - 1}" in lines[-1] and "Traceback" not in refused[1]


def test_saved_model_takes_z_and_codes(info_run, tmp_path):
    config, g, _, _ = restore_models(str(info_run))
    export.export_saved_model(g, config.z_dim, str(tmp_path / "export"))
    serve = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    z = randomness.latent_codes(4, config.z_dim, "uniform", 2)
    codes = tf.constant([0, 3, 3, 9], tf.int32)
    np.testing.assert_allclose(serve(z=z, codes=codes)["images"].numpy(),
                               g(z, labels=codes)[0].numpy(), atol=1e-5)
    with open(tmp_path / "export" / export.EXPORT_INFO) as f:
        exported = json.load(f)
    assert exported["signature"] == "serving_default: z, codes -> images"
    assert exported["num_codes"] == K and exported["num_classes"] == 0


def test_anomaly_scores_an_infogan_run(info_run):
    config, g, d, _ = restore_models(str(info_run))
    images = data.load_mnist_5k().test_images[:6]
    scores = anomaly.score(g, d, images, images, config.z_dim, scores=("discriminator",
                                                                         "inversion"),
                           options=anomaly.InversionOptions(steps=3))
    assert all(np.isfinite(s).all() and s.shape == (6,) for s in scores.values())


def test_resume_continues_as_the_uninterrupted_run(info_run, tmp_path):
    """The run again from its step-100 checkpoint, as if killed before the last one."""
    run_dir = tmp_path / "run"
    shutil.copytree(info_run, run_dir)
    for path in glob.glob(str(run_dir / "checkpoints" / "ckpt-200*")):
        os.remove(path)
    state = run_dir / "checkpoints" / "checkpoint"
    state.write_text(state.read_text().replace("ckpt-200", "ckpt-100"))
    config = runs.read_config(str(run_dir))
    loop.train(dataclasses.replace(config, output_dir=str(run_dir), eval_samples=0))
    resumed, straight = records(run_dir), records(info_run)
    assert [r["step"] for r in resumed] == [50, 100, 150, 200]
    for name in ("info_loss", "g_loss", "d_loss"):
        np.testing.assert_allclose([r[name] for r in resumed], [r[name] for r in straight],
                                   rtol=1e-4, err_msg=name)
