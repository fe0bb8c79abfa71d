"""dcgan's architecture options: --g_upsample=resize (nearest-neighbour x2 + convolution in
G) and --minibatch_stddev (ProGAN's feature map in D), against numpy references: names,
shapes, the real/fake grouping, tf.function, training, checkpoints and the refusals."""
import pickle

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, models, randomness
from gan_tf.applications import anomaly
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError
from gan_tf.models import dcgan
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop
from gan_tf.training.steps import GANTrainer
from tests.helpers import changed, small_config, snapshot

RNG = np.random.default_rng(0)


def _names_and_shapes(module):
    return {v.name[:-2]: tuple(v.shape) for v in module.variables}


def test_resize_generator_names_read_like_tf1_and_keep_the_output_shape():
    g = dcgan.Generator(channels=(16, 8, 4), kernel_size=3, upsample="resize")
    images, _ = g(tf.zeros([3, 10]), training=True)
    assert images.shape == (3, 28, 28, 1)
    shapes = _names_and_shapes(g)
    convs = {n: s for n, s in shapes.items() if "conv" in n}
    assert convs == {  # the stride-1 layer stays a transposed convolution
        "generator/conv2d_transpose/kernel": (3, 3, 8, 16),  # 7x7, 16 -> 8
        "generator/conv2d/kernel": (3, 3, 8, 4),  # 7 -> 14, 8 -> 4, no bias (batch norm)
        "generator/conv2d_1/kernel": (3, 3, 4, 1), "generator/conv2d_1/bias": (1,)}  # -> 28
    assert "generator/batch_normalization_2/moving_mean" in shapes


def test_minibatch_stddev_discriminator_reads_one_more_feature_map():
    d = dcgan.Discriminator(channels=(4, 8), kernel_size=3, minibatch_stddev=4)
    probs, _ = d(tf.zeros([6, 28, 28, 1]))
    assert probs.shape == (6, 1)
    assert _names_and_shapes(d)["discriminator/dense/kernel"] == (7 * 7 * (8 + 1), 1)
    assert d.features(tf.zeros([6, 28, 28, 1])).shape == (6, 7 * 7 * 9)


def numpy_minibatch_stddev(x, group):
    """ProGAN's layer over consecutive groups, in numpy (float64)."""
    b, h, w, _ = x.shape
    y = x.astype(np.float64).reshape(b // group, group, *x.shape[1:])
    stddev = np.sqrt(y.var(axis=1) + 1e-8).mean(axis=(1, 2, 3))  # (b / group,)
    feature = np.broadcast_to(np.repeat(stddev, group)[:, None, None, None], (b, h, w, 1))
    return np.concatenate([x, feature], -1)


@pytest.mark.parametrize("batch,group,used", [(8, 4, 4), (6, 4, 3), (5, 4, 1), (2, 4, 2),
                                              (1, 4, 1), (12, 2, 2)])
def test_minibatch_stddev_matches_numpy_eager_and_in_tf_function(batch, group, used):
    x = RNG.normal(size=(batch, 3, 3, 5)).astype(np.float32)
    expected = numpy_minibatch_stddev(x, used)
    eager = dcgan.minibatch_stddev(tf.constant(x), group)
    np.testing.assert_allclose(eager.numpy(), expected, rtol=1e-5, atol=1e-6)
    # An unknown batch size (as gan_tf.anomaly's batches): the group is found in the graph.
    dynamic = tf.function(lambda x: dcgan.minibatch_stddev(x, group), input_signature=[
        tf.TensorSpec([None, 3, 3, 5], tf.float32)])
    np.testing.assert_allclose(dynamic(x).numpy(), eager.numpy(), rtol=1e-6, atol=1e-7)
    if batch == 1:  # one image: no spread, the feature is sqrt(epsilon)
        np.testing.assert_allclose(eager.numpy()[..., -1], 1e-4, rtol=1e-5)


def test_minibatch_stddev_gradient_is_finite_for_equal_images():
    x = tf.ones([4, 3, 3, 2])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(dcgan.minibatch_stddev(x, 4))
    assert np.isfinite(tape.gradient(y, x).numpy()).all()


@pytest.mark.parametrize("half,group", [(16, 4), (6, 3), (2, 2), (5, 1)])
def test_trainer_batch_groups_never_mix_reals_and_fakes(half, group):
    """D on concat([real, fake]) computes what D on each half does, as the trainer needs:
    the group divides the batch_size. (Per replica under mirrored: tests/training/test_distribute.py.)"""
    config = small_config("dcgan", minibatch_stddev=True, batch_size=half)
    assert dcgan.stddev_group(config) == group
    _, d = models.build(config)
    real, fake = (tf.constant(RNG.normal(size=(half, 28, 28, 1)), tf.float32) for _ in "rf")
    together = d.features(tf.concat([real, fake], 0))
    apart = tf.concat([d.features(real), d.features(fake)], 0)
    np.testing.assert_allclose(together.numpy(), apart.numpy(), rtol=1e-5, atol=1e-6)


def numpy_conv_same(x, kernel):
    """Stride-1 SAME convolution of an odd kernel, in numpy."""
    k = kernel.shape[0]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[-1],))
    for i in range(k):
        for j in range(k):
            out += np.einsum("bhwc,co->bhwo", xp[:, i:i + h, j:j + w], kernel[i, j])
    return out


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_resize_convolution_is_nearest_neighbour_upsampling_then_convolution(kernel_size):
    layer = dcgan.ResizeConv2D(4, kernel_size, 2)
    x = RNG.normal(size=(2, 7, 7, 3)).astype(np.float32)
    y = layer(tf.constant(x))
    up = x.repeat(2, axis=1).repeat(2, axis=2)
    expected = numpy_conv_same(up, layer.kernel.numpy()) + layer.bias.numpy()
    assert y.shape == (2, 14, 14, 4)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tf.function(layer)(tf.constant(x)).numpy(), y.numpy(),
                               rtol=1e-6, atol=1e-6)


# joint_updates=False: the G step calls D on the fakes alone (the D step on real + fake).
OPTIONS = [dict(g_upsample="resize"), dict(minibatch_stddev=True, joint_updates=False)]


@pytest.mark.parametrize("options", OPTIONS)
def test_networks_agree_eagerly_and_in_tf_function(options):
    g, d = models.build(small_config("dcgan", **options))
    z = tf.constant(RNG.normal(size=(8, 8)), tf.float32)
    images, _ = g(z)
    graph_images, _ = tf.function(lambda z: g(z))(z)
    np.testing.assert_allclose(graph_images.numpy(), images.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.function(lambda x: d(x))(images)[1].numpy(),
                               d(images)[1].numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("options", OPTIONS)
def test_one_training_step_moves_every_weight(options):
    config = small_config("dcgan", **options)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    g_before, d_before = snapshot(g), snapshot(d)
    images = RNG.uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    history, finite = trainer.train_steps(iter(data.make_dataset(images, 16, seed=0)),
                                          tf.constant(1, tf.int64))
    assert bool(finite) and np.isfinite(history.numpy()).all()
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)
    assert {v.name for v in trainer.d_vars} == changed(d_before, d)


def test_both_options_compute_in_bfloat16():
    g, d = models.build(small_config("dcgan", g_upsample="resize", minibatch_stddev=True),
                        compute_dtype="bfloat16")
    images, _ = g(tf.zeros([4, 8]), training=True)
    probs, logits = d(images, training=True)
    assert images.dtype == logits.dtype == tf.float32 and np.isfinite(logits.numpy()).all()
    assert d.features(images).dtype == tf.bfloat16


def test_a_run_restores_with_the_options(tmp_path):
    config = small_config("dcgan", output_dir=str(tmp_path), max_steps=4, log_every=2,
                          sample_every=4, num_samples=4, g_upsample="resize",
                          minibatch_stddev=True)
    loop.train(config)
    restored, g, d, path = restore_models(str(tmp_path))
    assert restored == config
    with open(tmp_path / "train_samples.pkl", "rb") as f:
        last_grid = pickle.load(f)[-1]
    np.testing.assert_allclose(g(randomness.fixed_z(config))[0].numpy()[..., 0], last_grid,
                               atol=1e-6)
    reader = tf.train.load_checkpoint(path)
    stored = [reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
              if k != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    for v in d.trainable_variables:  # D's trained weights (saved on the optimizer's path)
        assert any(np.shape(s) == v.shape and np.array_equal(s, v.numpy()) for s in stored)
    scores, features = anomaly.discriminator_outputs(d, RNG.uniform(-1, 1, (7, 28, 28, 1)),
                                                     batch_size=5)
    assert scores.shape == (7,) and np.isfinite(features).all()


@pytest.mark.parametrize("model,options", [
    ("mlp", dict(g_upsample="resize")), ("mlp", dict(minibatch_stddev=True)),
    ("tf1", dict(minibatch_stddev=True, generator_fn="a:g", discriminator_fn="a:d"))])
def test_options_are_refused_with_other_models(model, options):
    name = next(iter(options))
    with pytest.raises(ConfigError, match=f"^--{name}: is an option of --model=dcgan's "
                                          f"networks, not --model={model}: leave it out$"):
        TrainConfig(model=model, **options).validate()


def test_values_are_checked():
    with pytest.raises(ConfigError, match="g_upsample: must be one of transpose, resize"):
        TrainConfig(model="dcgan", g_upsample="bilinear").validate()
    with pytest.raises(ConfigError, match="minibatch_stddev: must be true or false"):
        TrainConfig(model="dcgan", minibatch_stddev=4).validate()
    # The command line's one-line errors: tests/commands/test_common.py TRAIN_FLAG_ERRORS.


def test_anomaly_scores_with_minibatch_stddev_are_each_images_own():
    """Issue 25 (11): image 0 scored -4.776 among 200 and -5.041 alone."""
    d = dcgan.Discriminator(channels=(4, 8), kernel_size=3, minibatch_stddev=4)
    x = RNG.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    among, features_among = anomaly.discriminator_outputs(d, x, batch_size=8)
    alone, features_alone = anomaly.discriminator_outputs(d, x[:1], batch_size=1)
    np.testing.assert_allclose(among[:1], alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features_among[:1], features_alone, rtol=1e-5, atol=1e-6)
    assert d.sizes["minibatch_stddev"] == 4  # training keeps its groups
