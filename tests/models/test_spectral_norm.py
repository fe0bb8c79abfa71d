"""Spectral normalisation of D's kernels (--spectral_norm): the power iteration against
numpy's SVD, when u moves, TF1 names, TF1 checkpoints, training and the refusals."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import models
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError
from gan_tf.models import layers
from gan_tf.tf1 import checkpoints as tf1_checkpoints
from gan_tf.training.steps import GANTrainer
from tests.helpers import changed, small_config, snapshot


def _largest_singular_value(kernel):
    matrix = kernel.reshape(-1, kernel.shape[-1])  # (fan_in, fan_out)
    return np.linalg.svd(matrix, compute_uv=False)[0]


@pytest.mark.parametrize("make,x_shape", [
    (lambda: layers.Dense(12, spectral_norm=True), (2, 20)),
    (lambda: layers.Conv2D(6, 3, 2, spectral_norm=True), (2, 8, 8, 4))])
def test_power_iteration_converges_to_the_largest_singular_value(make, x_shape):
    tf.random.set_seed(3)
    layer = make()
    x = tf.random.normal(x_shape)
    layer(x)
    kernel = layer.kernel.numpy()
    sigma = _largest_singular_value(kernel)
    for _ in range(50):
        estimate = layers.spectral_norm_estimate(layer.kernel, layer.sn_u, True)
    assert float(estimate) == pytest.approx(sigma, rel=1e-4)
    # The normalised kernel, which the forward pass uses, has spectral norm ~1.
    assert _largest_singular_value(kernel / float(estimate)) == pytest.approx(1.0, rel=1e-4)
    expected = layer.apply(x, tf.constant(kernel / float(estimate))) + layer.bias
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-4, atol=1e-6)


def test_one_power_iteration_per_training_call_and_none_at_inference():
    tf.random.set_seed(0)
    layer = layers.Dense(5, spectral_norm=True)
    x = tf.random.normal([3, 7])
    layer(x)
    u0 = layer.sn_u.numpy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.sn_u.numpy(), u0)
    w = layer.kernel.numpy()
    v = w @ u0 / np.linalg.norm(w @ u0)  # Miyato et al.'s step, in numpy
    u1 = w.T @ v / np.linalg.norm(w.T @ v)
    y = layer(x, training=True)
    np.testing.assert_allclose(layer.sn_u.numpy(), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), x.numpy() @ (w / (v @ w @ u1)), rtol=1e-4, atol=1e-6)
    assert [v.name for v in layer.trainable_variables] == ["dense/bias:0", "dense/kernel:0"]
    assert layer.sn_u.name == "dense/sn_u:0" and not layer.sn_u.trainable


def test_eager_and_tf_function_agree_and_gradients_flow_through_sigma():
    tf.random.set_seed(1)
    eager, graph = (layers.Conv2D(4, 3, spectral_norm=True) for _ in range(2))
    x = tf.random.normal([2, 6, 6, 3])
    eager(x)
    graph(x)
    for a, b in zip(eager.variables, graph.variables):
        b.assign(a)
    step = tf.function(lambda x: graph(x, training=True))
    for _ in range(3):
        np.testing.assert_allclose(step(x).numpy(), eager(x, training=True).numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(graph.sn_u.numpy(), eager.sn_u.numpy(), rtol=1e-5, atol=1e-7)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(eager(x, training=True))
    grad_kernel, = tape.gradient(loss, [eager.kernel])
    assert grad_kernel is not None and np.isfinite(grad_kernel.numpy()).all()


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_discriminator_names_its_vectors_and_checkpoints_round_trip(kind, tmp_path):
    config = small_config(kind, spectral_norm=True)
    g, d = models.build(config)
    names = sorted(v.name[:-2] for v in d.variables if not v.trainable)
    first = "conv2d" if kind == "dcgan" else "dense"
    assert f"discriminator/{first}/sn_u" in names
    assert len(names) == len(d.trainable_variables) // 2  # one u per kernel (each has a bias)
    d(tf.zeros([1, 28, 28, 1]), training=True)  # a u that the initial draw does not explain
    prefix = tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / "ckpt" / "model.ckpt"), [g, d])
    _, fresh = models.build(config)
    loaded = tf1_checkpoints.load_tf1_checkpoint(prefix, discriminator=fresh)
    assert set(names) <= set(loaded)
    for a, b in zip(d.variables, fresh.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    _, plain = models.build(small_config(kind))  # the vectors are model variables, not skipped
    with pytest.raises(tf1_checkpoints.PortingError, match="extra: .*sn_u"):
        tf1_checkpoints.load_tf1_checkpoint(prefix, discriminator=plain)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_a_spectrally_normalised_discriminator_trains(kind):
    from gan_tf import data
    config = small_config(kind, spectral_norm=True)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    before = snapshot(d)
    images = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    history, finite = trainer.train_steps(iter(data.make_dataset(images, 16, seed=0)),
                                          tf.constant(1, tf.int64))
    assert bool(finite) and np.isfinite(history.numpy()).all()
    # Kernels, biases and every u (the output layer's, of one value, is always +-1).
    assert {v.name for v in d.variables if v.shape != [1]} <= changed(before, d)
    assert all(v.trainable for v in trainer.d_vars)


def test_config_and_command_line_refuse_it_with_legacy_models():
    with pytest.raises(ConfigError, match="spectral_norm"):
        TrainConfig(model="tf1", generator_fn="a:g", discriminator_fn="a:d",
                    spectral_norm=True).validate()
    with pytest.raises(ConfigError, match="spectral_norm: must be true or false"):
        TrainConfig(spectral_norm=1).validate()
    # The command line's one-line error: tests/commands/test_common.py TRAIN_FLAG_ERRORS.


def test_bfloat16_compute_keeps_a_float32_vector():
    layer = layers.Dense(4, spectral_norm=True)
    y = layer(tf.ones([2, 3], tf.bfloat16), training=True)
    assert y.dtype == tf.bfloat16 and layer.sn_u.dtype == layer.kernel.dtype == tf.float32
