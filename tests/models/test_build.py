"""Models: TF1 variable names, shapes, variable reuse, training switches."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import config, config_checks, models
from gan_tf.models import dcgan, mlp

ARCHITECTURES = ["mlp", "dcgan"]


def names(module):
    return sorted(v.name.split(":")[0] for v in module.variables)


def built(architecture, **sizes):
    g = models.architecture(architecture).generator(
        **{k: v for k, v in sizes.items() if k.startswith("g_")})
    d = models.architecture(architecture).discriminator()
    images, _ = g(tf.zeros([2, 100]))
    d(images)
    return g, d


def test_mlp_variable_names_are_tf1_dense_names():
    g, d = built("mlp")
    assert names(g) == ["generator/dense/bias", "generator/dense/kernel",
                        "generator/dense_1/bias", "generator/dense_1/kernel"]
    assert names(d) == ["discriminator/dense/bias", "discriminator/dense/kernel",
                        "discriminator/dense_1/bias", "discriminator/dense_1/kernel"]
    shapes = {v.name.split(":")[0]: tuple(v.shape) for v in g.variables + d.variables}
    assert shapes["generator/dense/kernel"] == (100, 128)
    assert shapes["generator/dense_1/kernel"] == (128, 784)
    assert shapes["discriminator/dense/kernel"] == (784, 128)
    assert shapes["discriminator/dense_1/kernel"] == (128, 1)


def test_mlp_with_batch_norm_names():
    g = mlp.Generator(hidden=(16, 32), batchnorm=True)
    g(tf.zeros([2, 8]), training=True)
    assert names(g) == sorted([
        "generator/dense/kernel", "generator/dense/bias", "generator/dense_1/kernel",
        "generator/dense_1/bias", "generator/dense_2/kernel", "generator/dense_2/bias",
        *[f"generator/batch_normalization{s}/{v}" for s in ("", "_1")
          for v in ("gamma", "beta", "moving_mean", "moving_variance")]])
    assert {v.name.split(":")[0] for v in g.trainable_variables} == {
        n for n in names(g) if "moving" not in n}


def test_dcgan_variable_names():
    g, d = built("dcgan")
    assert all(n.startswith("generator/") for n in names(g))
    assert all(n.startswith("discriminator/") for n in names(d))
    assert "generator/dense/kernel" in names(g)
    assert "generator/conv2d_transpose_2/kernel" in names(g)
    assert "generator/batch_normalization_2/moving_mean" in names(g)
    assert names(d) == sorted(["discriminator/conv2d/kernel", "discriminator/conv2d/bias",
                               "discriminator/conv2d_1/kernel", "discriminator/conv2d_1/bias",
                               "discriminator/dense/kernel", "discriminator/dense/bias"])


def test_dcgan_dense_hidden_layers_in_both_networks():
    g = dcgan.Generator(channels=(8, 4), hidden=(32,))
    d = dcgan.Discriminator(channels=(4, 8), hidden=(16,))
    images, _ = g(tf.zeros([2, 10]), training=True)
    probs, _ = d(images, training=True)
    assert images.shape == (2, 28, 28, 1) and probs.shape == (2, 1)
    shapes = {v.name.split(":")[0]: tuple(v.shape) for v in g.variables + d.variables}
    assert shapes["generator/dense/kernel"] == (10, 32)  # the hidden layer, created first
    assert shapes["generator/dense_1/kernel"] == (32, 7 * 7 * 8)  # then the projection
    assert "generator/batch_normalization/moving_mean" in shapes
    assert shapes["discriminator/dense/kernel"] == (7 * 7 * 8, 16)
    assert shapes["discriminator/dense_1/kernel"] == (16, 1)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_shapes_and_output_functions(architecture):
    g = models.architecture(architecture).generator()
    d = models.architecture(architecture).discriminator()
    z = tf.random.uniform([5, 100], -1, 1)
    images, logits = g(z, training=True)
    assert images.shape == (5, 28, 28, 1) and logits.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(images, np.tanh(logits), atol=1e-6)
    probs, d_logits = d(images)
    assert probs.shape == (5, 1) and d_logits.shape == (5, 1)
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-d_logits.numpy())), atol=1e-6)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_one_discriminator_scores_real_and_fake_with_the_same_variables(architecture):
    g, d = built(architecture)
    before = [v.ref() for v in d.variables]
    fake, _ = g(tf.zeros([3, 100]))
    d(fake)
    d(tf.random.uniform([3, 28, 28, 1], -1, 1))
    assert [v.ref() for v in d.variables] == before


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_tf_function_call_matches_eager(architecture):
    g, d = built(architecture)
    z = tf.random.uniform([4, 100], -1, 1)

    @tf.function
    def both(z):
        images, _ = g(z)
        return images, d(images)[1]

    images, logits = both(z)
    np.testing.assert_allclose(images, g(z)[0], atol=1e-5)
    np.testing.assert_allclose(logits, d(g(z)[0])[1], atol=1e-5)


def test_training_switches_dropout():
    d = dcgan.Discriminator(dropout=0.5)
    x = tf.random.uniform([4, 28, 28, 1], -1, 1)
    np.testing.assert_allclose(d(x)[1], d(x)[1])  # inference: deterministic
    a = d(x, training=True, seed=tf.constant([1, 2], tf.int64))[1]
    b = d(x, training=True, seed=tf.constant([1, 2], tf.int64))[1]
    c = d(x, training=True, seed=tf.constant([3, 4], tf.int64))[1]
    np.testing.assert_allclose(a, b)  # same stateless seed, same mask
    assert not np.allclose(a, c)


def test_training_switches_batch_norm():
    g = dcgan.Generator()
    z = tf.random.uniform([8, 100], -1, 1)
    g(z)  # build
    bn = g.norms[0]
    before = bn.moving_mean.numpy().copy()
    g(z, training=False)
    np.testing.assert_array_equal(bn.moving_mean, before)
    g(z, training=True, update_stats=False)
    np.testing.assert_array_equal(bn.moving_mean, before)
    g(z, training=True)
    assert not np.array_equal(bn.moving_mean, before)
    # Training normalises with batch statistics, inference with the moving ones.
    assert not np.allclose(g(z, training=True)[0], g(z, training=False)[0])


def test_sizes_are_configurable_and_unknown_ones_rejected():
    g = dcgan.Generator(channels=(32, 16, 8), kernel_size=3)
    images, _ = g(tf.zeros([2, 10]))
    assert images.shape == (2, 28, 28, 1)
    assert tuple(g.project.kernel.shape) == (10, 7 * 7 * 32)
    with pytest.raises(TypeError, match="channels"):
        mlp.Generator(channels=(3,))  # a dcgan size given to the mlp
    with pytest.raises(ValueError, match="unknown architecture"):
        models.architecture("resnet")


def test_the_registry_holds_every_model_the_flags_offer():
    # tf1 is the user's own legacy functions (--generator_fn), built by gan_tf.tf1.network
    assert sorted(models.ARCHITECTURES) + ["tf1"] == sorted(config_checks.MODELS)


@pytest.mark.parametrize("conditional", [False, True])
def test_build_generator_builds_only_a_generator(conditional):
    cfg = config.TrainConfig(model="dcgan", z_dim=8, conditional=conditional)
    g = models.build_generator(cfg, "generator_ema")
    assert g.num_classes == (10 if conditional else 0)
    assert all(v.name.startswith("generator_ema/") for v in g.variables)
    g2, d = models.build(cfg, image_shape=(28, 28, 1), dataset_classes=3 if conditional else 10)
    assert g2.num_classes == d.num_classes == (3 if conditional else 0)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_the_old_generator_and_discriminator_names_still_work_with_a_warning(kind):
    """gan_tf.models.Generator(architecture=...) (README and the porting guide showed it)
    moved to models.<architecture>.Generator: the old call keeps working for a version."""
    with pytest.warns(DeprecationWarning, match=f"use gan_tf.models.{kind}.Generator"):
        g = models.Generator(kind)
    with pytest.warns(DeprecationWarning, match=f"use gan_tf.models.{kind}.Discriminator"):
        d = models.Discriminator(architecture=kind)
    assert type(g) is models.architecture(kind).generator
    assert type(d) is models.architecture(kind).discriminator
    images, _ = g(tf.zeros([2, 100]))
    probs, _ = d(images)
    assert images.shape == (2, 28, 28, 1) and probs.shape == (2, 1)
    assert g.trainable_variables[0].name.startswith("generator/")
