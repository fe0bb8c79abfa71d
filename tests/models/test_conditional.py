"""Class-conditional models (--conditional): the label reaches G and D, training,
sampling a chosen class, and the SavedModel taking labels."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, models, randomness
from gan_tf.applications import export, sampling
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop
from gan_tf.training.steps import GANTrainer
from tests.helpers import changed, cli_errors, small_config, snapshot

Z = tf.random.stateless_uniform([10, 8], [1, 2], -1.0, 1.0)
LABELS = tf.range(10)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_generator_draws_the_class_it_is_given(kind):
    g, d = models.build(small_config(kind, conditional=True))
    first = g.hidden[0].kernel if kind == "mlp" else g.project.kernel
    assert first.shape[0] == 8 + data.NUM_CLASSES  # z and the one-hot label
    a, _ = g(Z, labels=LABELS)
    b, _ = g(Z, labels=(LABELS + 1) % 10)
    assert not np.allclose(a.numpy(), b.numpy(), atol=1e-4)
    c, _ = tf.function(lambda z, y: g(z, labels=y))(Z, LABELS)
    np.testing.assert_allclose(c.numpy(), a.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="class-conditional: pass labels="):
        g(Z)
    unconditional, _ = models.build(small_config(kind))
    with pytest.raises(ValueError, match="not class-conditional"):
        unconditional(Z, labels=LABELS)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_projection_discriminator_adds_embedding_dot_features(kind):
    _, d = models.build(small_config(kind, conditional=True, dropout=0.0))
    assert d.embedding.embeddings.name == "discriminator/embedding/embeddings:0"
    x = tf.random.stateless_uniform([10, 28, 28, 1], [3, 4], -1.0, 1.0)
    with_labels = d(x, labels=LABELS)[1].numpy()
    saved = d.embedding.embeddings.numpy()
    d.embedding.embeddings.assign(tf.zeros_like(saved))
    base = d(x, labels=LABELS)[1].numpy()
    np.testing.assert_allclose(d(x, labels=(LABELS + 3) % 10)[1].numpy(), base, atol=1e-6)
    d.embedding.embeddings.assign(saved)
    # numpy reference: logit(x, y) - logit_0(x) = <embedding[y], h(x)>, h the features.
    other = d(x, labels=(LABELS + 3) % 10)[1].numpy()
    diff = (with_labels - base)[:, 0], (other - base)[:, 0]
    assert not np.allclose(diff[0], diff[1], atol=1e-4)
    # Projections on two labels differ by <e[y1] - e[y2], h>, linear in the embedding.
    d.embedding.embeddings.assign(saved * 2.0)
    doubled = d(x, labels=LABELS)[1].numpy()
    np.testing.assert_allclose((doubled - base)[:, 0], 2.0 * diff[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_conditional_steps_train_both_networks_and_the_embedding(kind):
    config = small_config(kind, conditional=True)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    labels = np.arange(64) % 10
    g_before, d_before = snapshot(g), snapshot(d)
    history, finite = trainer.train_steps(
        iter(data.make_dataset(images, 16, 0, labels=labels)), tf.constant(2, tf.int64))
    assert bool(finite) and np.isfinite(history.numpy()).all()
    assert "discriminator/embedding/embeddings:0" in changed(d_before, d)
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)


def test_dataset_pairs_each_image_with_its_label():
    images = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1) * np.ones((1, 28, 28, 1),
                                                                            np.float32)
    labels = np.arange(40) % 10
    x, y = next(iter(data.make_dataset(images, 8, seed=3, labels=labels)))
    assert y.dtype == tf.int32
    np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0].astype(int) % 10, y.numpy())


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("conditional")
    loop.train(small_config(conditional=True, output_dir=str(run_dir), max_steps=10,
                             log_every=5, eval_samples=20, num_samples=10))
    return run_dir


def test_conditional_run_samples_and_evaluates_every_class(conditional_run):
    with open(conditional_run / "eval.json") as f:
        final = json.load(f)["final"]
    assert final["step"] == 10 and 0.0 <= final["label_accuracy"] <= 1.0
    config, g, _, _ = restore_models(str(conditional_run))
    assert config.conditional and g.num_classes == 10
    sevens = sampling.draw(g, 6, config.z_dim, label=7)
    expected = g(sample_z(6, config), training=False, labels=tf.fill([6], 7))[0]
    np.testing.assert_allclose(sevens, expected.numpy()[..., 0], atol=1e-6)
    assert not np.allclose(sampling.draw(g, 6, config.z_dim, label=2), sevens, atol=1e-4)
    np.testing.assert_array_equal(sampling.class_labels(g, 12), np.arange(12) % 10)


def sample_z(n, config):
    return randomness.latent_codes(n, config.z_dim, "uniform", seed=0)  # sampling.draw's default


def test_sample_command_takes_a_label_only_from_conditional_runs(conditional_run, tmp_path):
    out = tmp_path / "threes.npy"
    done, refused = cli_errors(
        "gan_tf.sample", [f"--run_dir={conditional_run}", "--label=3", "--num_samples=5", f"--out={out}"],
        [f"--run_dir={conditional_run}", "--label=10", f"--out={tmp_path / 'x.npy'}"])
    assert done[0] == 0, done[1][-2000:]
    assert np.load(out).shape == (5, 28, 28) and os.path.exists(tmp_path / "threes.png")
    assert refused[0] == 2 and "classes 0 to 9" in refused[1].splitlines()[-1]


def test_saved_model_of_a_conditional_run_takes_labels(conditional_run, tmp_path):
    config, g, _, _ = restore_models(str(conditional_run))
    export.export_saved_model(g, config.z_dim, str(tmp_path / "export"))
    serve = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    z = sample_z(4, config)
    labels = tf.constant([1, 5, 5, 9], tf.int32)
    images = serve(z=z, labels=labels)["images"]
    np.testing.assert_allclose(images.numpy(), g(z, labels=labels)[0].numpy(), atol=1e-5)
    with open(tmp_path / "export" / export.EXPORT_INFO) as f:
        assert json.load(f)["signature"] == "serving_default: z, labels -> images"
    # Issue 25 (12): out-of-range labels drew from an all-zero one-hot.
    for bad in ([1, 5, 5, 10], [-1, 0, 0, 0], [1000, 0, 0, 0], [1, 2]):
        with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be 0 to 9|one of"):
            serve(z=z, labels=tf.constant(bad, tf.int32))
