"""SS-GAN's self-supervised discriminator (--rotation_weight, --g_rotation_weight): the
quarter turns, the head on D's features, its loss in D's (and G's) objective, and
gan_tf.anomaly's rotation score of such a run."""
import csv
import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, errors, losses, models
from gan_tf.applications import anomaly
from gan_tf.runs.restore import restore_models
from gan_tf.training import augmentations, loop
from gan_tf.training.progress import Progress
from gan_tf.training.steps import METRIC_KEYS, GANTrainer
from tests.helpers import assert_config_refuses, changed, cli_errors, records, run_module, small_config, snapshot

IMAGES = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
HEAD = {"discriminator/rotation/kernel:0", "discriminator/rotation/bias:0"}


@pytest.mark.parametrize("compiled", [False, True])
def test_quarter_turns_are_numpy_rot90_per_image(compiled):
    x = np.random.default_rng(1).normal(size=(6, 5, 5, 2)).astype(np.float32)
    turns = np.array([0, 1, 2, 3, 1, 3])
    fn = tf.function(augmentations.quarter_turns) if compiled else augmentations.quarter_turns
    expected = np.stack([np.rot90(image, k, axes=(0, 1)) for image, k in zip(x, turns)])
    np.testing.assert_array_equal(fn(x, turns).numpy(), expected)
    for k in range(-1, 5):
        np.testing.assert_array_equal(augmentations.rot90(tf.constant(x), k).numpy(),
                                      np.rot90(x, k, axes=(1, 2)))
    turned, labels = augmentations.rotation_batch(tf.constant(x))
    np.testing.assert_array_equal(labels.numpy(), np.arange(6) % 4)
    np.testing.assert_array_equal(turned.numpy(), np.stack(
        [np.rot90(image, i % 4, axes=(0, 1)) for i, image in enumerate(x)]))


@pytest.mark.parametrize("compiled", [False, True])
def test_rotation_loss_is_numpy_softmax_cross_entropy(compiled):
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, (9, 4)).astype(np.float32)
    turns = rng.integers(0, 4, 9)
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(9), turns].mean()
    fn = tf.function(losses.rotation_loss) if compiled else losses.rotation_loss
    np.testing.assert_allclose(fn(logits, turns).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_d_has_a_rotation_head_only_with_the_weight(kind):
    tf.random.set_seed(0)
    _, plain = models.build(small_config(kind))
    _, d = models.build(small_config(kind, rotation_weight=1.0))
    assert not plain.rotations and d.rotations
    assert [v.name for v in d.variables if "/rotation/" not in v.name] == \
        [v.name for v in plain.variables]
    features = int(d.features(tf.zeros([1, 28, 28, 1])).shape[-1])
    assert {v.name: tuple(v.shape) for v in d.variables if "/rotation/" in v.name} == {
        "discriminator/rotation/kernel:0": (features, 4), "discriminator/rotation/bias:0": (4,)}
    assert d.rotation_logits(d.features(tf.constant(IMAGES[:3]))).shape == (3, 4)


def one_step(config, compiled=True):
    """(the step's metric row, trainer) of one step from the seed's weights on IMAGES."""
    tf.random.set_seed(config.seed)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    real = [tf.constant(IMAGES[:config.batch_size])] * config.d_steps_per_g_step
    step = trainer._compiled_step if compiled else trainer.train_step
    return dict(zip(trainer.metric_keys, step(real).numpy())), trainer


@pytest.mark.parametrize("kind,joint", [("mlp", False), ("dcgan", True), ("dcgan", False)])
def test_rotation_losses_train_the_head_and_reach_d_and_g(kind, joint):
    config = small_config(kind, rotation_weight=1.0, joint_updates=joint, dropout=0.0,
                          jit_compile=False)
    tf.random.set_seed(config.seed)
    g, d = models.build(config)
    before = {**snapshot(g), **snapshot(d)}
    d_only, trainer = one_step(config)
    assert HEAD <= changed(before, trainer.discriminator)  # D's optimizer trains the head
    assert "g_rotation_loss" not in d_only
    # At the start the head reads nothing: about chance, log 4.
    assert 0.5 * math.log(4) < d_only["rotation_loss"] < 2 * math.log(4)
    # Without the weight D's layers under the features get another update, its output
    # layer the same one. G's loss does not hold D's term: the joint step (G's gradient
    # through D before D's update) gives G the same update; the alternating one, after
    # D's update, another. With G's weight too, G's update changes and logs its loss.
    _, plain = one_step(dataclasses.replace(config, rotation_weight=0.0))
    out = {v.name for v in trainer.discriminator.out.variables}
    assert changed(snapshot(trainer.discriminator), plain.discriminator) == \
        {v.name for v in plain.d_vars} - out
    g_vars = {v.name for v in trainer.g_vars}
    assert changed(snapshot(plain.generator), trainer.generator) == (set() if joint else g_vars)
    both, with_g = one_step(dataclasses.replace(config, g_rotation_weight=0.5))
    assert 0.5 * math.log(4) < both["g_rotation_loss"] < 2 * math.log(4)
    assert changed(snapshot(trainer.generator), with_g.generator) == g_vars


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_graph_and_eager_steps_give_the_same_losses(kind):
    config = small_config(kind, rotation_weight=1.0, g_rotation_weight=0.2, jit_compile=False,
                          dropout=0.0)
    graph, _ = one_step(config)
    eager, _ = one_step(config, compiled=False)
    assert list(graph) == list(METRIC_KEYS) + ["rotation_loss", "g_rotation_loss"]
    for name in graph:
        np.testing.assert_allclose(eager[name], graph[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("overrides,field,message", [
    (dict(rotation_weight=-1.0), "rotation_weight", ">= 0"),
    (dict(rotation_weight=float("inf")), "rotation_weight", ">= 0"),
    (dict(rotation_weight=1.0, g_rotation_weight=float("nan")), "g_rotation_weight", ">= 0"),
    (dict(g_rotation_weight=0.2), "g_rotation_weight", "set --rotation_weight too"),
    (dict(model="tf1", generator_fn="a:g", discriminator_fn="a:d", rotation_weight=1.0),
     "rotation_weight", "legacy model function has no rotation head"),
])
def test_config_refuses_what_makes_no_sense(overrides, field, message):
    assert_config_refuses(overrides, field, message)


def test_progress_line_shows_the_rotation_loss():
    lines = []

    class Stream:
        write = lines.append

        def flush(self):
            pass
    keys = METRIC_KEYS + ("rotation_loss",)
    with Progress(10, keys, stream=Stream(), interval=0.0) as progress:
        progress.update(10, [[1, 0.5, 0.5, 2, 0.6, 0.4, 0.25]], final=True)
    assert " rotation_loss 0.2500 |" in "".join(lines)


@pytest.fixture(scope="module")
def rotation_run(tmp_path_factory):
    """A finished run with the rotation head: the small MLP, 200 steps."""
    run_dir = tmp_path_factory.mktemp("rotations") / "run"
    loop.train(small_config(rotation_weight=1.0, output_dir=str(run_dir), max_steps=200,
                            log_every=50, checkpoint_every=100, batch_size=32))
    return run_dir


def test_run_logs_the_rotation_loss_which_falls_as_the_head_learns(rotation_run):
    logged = [r for r in records(rotation_run) if "d_loss" in r]
    assert [r["step"] for r in logged] == [50, 100, 150, 200]
    assert logged[-1]["rotation_loss"] < 0.5 * math.log(4)  # chance is log 4
    # The restored head tells the turns of held-out digits far better than chance.
    _, _, d, _ = restore_models(str(rotation_run))
    x = data.load_mnist_5k().test_images[:200]
    turned, turns = augmentations.rotation_batch(tf.constant(x))
    read = np.argmax(d.rotation_logits(d.features(turned)).numpy(), axis=1)
    assert np.mean(read == turns.numpy()) > 0.6


def test_rotation_score_is_the_mean_cross_entropy_over_the_four_turns(rotation_run):
    config, g, d, _ = restore_models(str(rotation_run))
    x = data.load_mnist_5k().test_images[:7]
    expected = np.zeros(7)
    for i, image in enumerate(x):  # one image and one turn at a time, in numpy
        for k in range(4):
            logits = d.rotation_logits(d.features(np.rot90(image, k)[None].copy())).numpy()[0]
            logits = logits.astype(np.float64) - logits.max()
            expected[i] -= (logits[k] - np.log(np.exp(logits).sum())) / 4
    np.testing.assert_allclose(anomaly.rotation_scores(d, x, batch_size=3), expected, rtol=1e-4)
    reference = data.load_mnist_5k().train_images[:50]
    scores = anomaly.score(g, d, x, reference, config.z_dim, neighbours=3,
                           options=anomaly.InversionOptions(steps=2))
    assert list(scores) == list(anomaly.SCORES)  # by default every score the run has
    np.testing.assert_allclose(scores["rotation"], expected, rtol=1e-4)
    # combined: each of features and rotation in units of its spread over the reference
    # images (their feature scores leave their own match out), summed.
    features = lambda images: anomaly.discriminator_outputs(d, images)[1]
    normal_features = anomaly.feature_scores_from_features(
        features(reference), features(reference), 3, in_reference=np.ones(50, bool))
    normal_rotation = anomaly.rotation_scores(d, reference)
    z = lambda v, normal: (v - normal.mean()) / normal.std()
    np.testing.assert_allclose(scores["combined"], z(scores["features"], normal_features)
                               + z(expected, normal_rotation), rtol=1e-4, atol=1e-6)
    only = anomaly.score(g, d, x, reference, config.z_dim, scores=("combined",), neighbours=3)
    assert list(only) == ["combined"]
    np.testing.assert_allclose(only["combined"], scores["combined"], rtol=1e-6)


def test_the_normal_sample_is_every_image_up_to_its_size_then_evenly_spaced():
    np.testing.assert_array_equal(anomaly.normal_sample(5, size=5), np.arange(5))
    np.testing.assert_array_equal(anomaly.normal_sample(9, size=5), [0, 2, 4, 6, 8])
    sample = anomaly.normal_sample(60000)
    assert len(sample) == len(set(sample)) == anomaly.NORMAL_SAMPLE
    assert sample[0] == 0 and sample[-1] == 59999 and set(np.diff(sample)) == {10, 11}


def test_standardized_is_in_units_of_the_normal_spread():
    normal = np.array([1.0, 2.0, 3.0, 6.0])
    np.testing.assert_allclose(anomaly.standardized([4.0, 3.0], normal),
                               (np.array([4.0, 3.0]) - 3.0) / np.std(normal))
    np.testing.assert_allclose(anomaly.standardized([1.0, 2.0], [5.0, 5.0]), [-4e12, -3e12])


def test_anomaly_command_writes_the_rotation_score_of_such_a_run(rotation_run, tmp_path):
    out = tmp_path / "a.csv"
    result = run_module("gan_tf.anomaly", f"--run_dir={rotation_run}", f"--out={out}",
                        "--num_images=20", "--inversion_steps=2")
    assert result.returncode == 0, result.stderr[-2000:]
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and set(anomaly.SCORES) <= set(rows[0])
    features = [float(r["features"]) for r in rows]  # the default order, as without the head
    assert features == sorted(features, reverse=True)


def test_anomaly_command_refuses_the_rotation_score_of_a_run_without_the_head(tmp_path):
    run_dir = tmp_path / "plain"
    loop.train(small_config(output_dir=str(run_dir), max_steps=2))
    cases = [[f"--run_dir={run_dir}", f"--out={tmp_path}/a.csv", "--scores=features,rotation"],
             [f"--run_dir={run_dir}", f"--out={tmp_path}/b.csv", "--scores=combined"],
             [f"--run_dir={run_dir}", f"--out={tmp_path}/c.csv", "--rank_by=rotation"]]
    for (code, stderr), flag in zip(cli_errors("gan_tf.anomaly", *cases),
                                    ["--scores=rotation", "--scores=combined",
                                     "--rank_by=rotation"]):
        assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr
        assert flag in stderr and "--rotation_weight" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
    config, g, d, _ = restore_models(str(run_dir))
    images = data.load_mnist_5k().test_images[:8]
    with pytest.raises(ValueError, match="rotation and combined scores need a run trained "
                                         "with --rotation_weight"):
        anomaly.score(g, d, images, images, config.z_dim, scores=("rotation", "combined"))
    with pytest.raises(ValueError, match="needs a discriminator with a rotation head"):
        anomaly.rotation_scores(d, images)
    assert list(anomaly.score(g, d, images, images, config.z_dim, neighbours=3,
                              options=anomaly.InversionOptions(steps=2))) == \
        list(anomaly.BASE_SCORES)


def test_combined_score_checks_features_k_like_the_feature_score(rotation_run, tmp_path):
    [(code, stderr)] = cli_errors("gan_tf.anomaly", [
        f"--run_dir={rotation_run}", f"--out={tmp_path}/a.csv", "--scores=rotation,combined",
        "--features_k=4000"])
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "--features_k=4000: must be below the run's 4000 training images" in stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("before,after", [(0.0, 1.0), (1.0, 0.0)])
def test_resume_refuses_to_add_or_drop_the_head(tmp_path, before, after):
    """The head changes D's variables and objective: a run keeps what it started with."""
    loop.train(small_config(output_dir=str(tmp_path), max_steps=2, rotation_weight=before))
    config_json = (tmp_path / "config.json").read_bytes()
    with pytest.raises(errors.RunError, match="rotation_weight") as e:
        loop.train(small_config(output_dir=str(tmp_path), max_steps=4, rotation_weight=after))
    assert "\n" not in str(e.value)
    assert (tmp_path / "config.json").read_bytes() == config_json


@pytest.mark.parametrize("joint", [False, True])
def test_the_head_trains_under_bfloat16_with_float32_losses(joint):
    config = small_config("dcgan", rotation_weight=1.0, g_rotation_weight=0.2, dropout=0.0,
                          joint_updates=joint, mixed_precision="bfloat16")
    tf.random.set_seed(0)
    g, d = models.build(config, compute_dtype="bfloat16")
    assert d.rotation.kernel.dtype == tf.float32
    h = d.features(tf.constant(IMAGES[:4]))
    assert h.dtype == tf.bfloat16 and d.rotation_logits(h).dtype == tf.float32
    trainer = GANTrainer(config, g, d)
    row = dict(zip(trainer.metric_keys, trainer._compiled_step(
        [tf.constant(IMAGES[:config.batch_size])]).numpy()))
    for name in ("rotation_loss", "g_rotation_loss"):
        assert 0.5 * math.log(4) < row[name] < 2 * math.log(4), name
