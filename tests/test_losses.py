"""Losses against an independent numpy computation, eagerly and under tf.function."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import losses


def np_sigmoid_xent(labels, logits):
    # Written from the definition: -[y log s(x) + (1 - y) log(1 - s(x))].
    s = 1.0 / (1.0 + np.exp(-logits))
    return np.mean(-(labels * np.log(s) + (1 - labels) * np.log(1 - s)))


@pytest.fixture
def logits():
    rng = np.random.default_rng(0)
    return (rng.normal(0, 2, (64, 1)).astype(np.float32),
            rng.normal(-1, 2, (64, 1)).astype(np.float32))


@pytest.mark.parametrize("smoothing", [0.9, 1.0, 0.7])
@pytest.mark.parametrize("compiled", [False, True])
def test_discriminator_loss_matches_numpy(logits, smoothing, compiled):
    real, fake = logits
    fn = tf.function(losses.discriminator_loss) if compiled else losses.discriminator_loss
    d_loss, d_real, d_fake = [float(v) for v in fn(real, fake, smoothing)]
    expected_real = np_sigmoid_xent(np.full_like(real, smoothing, dtype=np.float64), real.astype(np.float64))
    expected_fake = np_sigmoid_xent(np.zeros_like(fake, dtype=np.float64), fake.astype(np.float64))
    assert d_real == pytest.approx(expected_real, rel=1e-5)
    assert d_fake == pytest.approx(expected_fake, rel=1e-5)
    assert d_loss == pytest.approx(expected_real + expected_fake, rel=1e-5)


def test_default_label_smoothing_is_point_nine(logits):
    real, fake = logits
    assert float(losses.discriminator_loss(real, fake)[1]) == pytest.approx(
        float(losses.discriminator_loss(real, fake, 0.9)[1]))
    assert float(losses.discriminator_loss(real, fake)[1]) != pytest.approx(
        float(losses.discriminator_loss(real, fake, 1.0)[1]))


@pytest.mark.parametrize("compiled", [False, True])
def test_generator_loss_is_non_saturating_xent_against_ones(logits, compiled):
    _, fake = logits
    fn = tf.function(losses.generator_loss) if compiled else losses.generator_loss
    expected = np_sigmoid_xent(np.ones_like(fake, dtype=np.float64), fake.astype(np.float64))
    assert float(fn(fake)) == pytest.approx(expected, rel=1e-5)


def test_losses_at_known_points():
    # logits 0 -> sigmoid 0.5: every cross-entropy term is log 2.
    zeros = tf.zeros([4, 1])
    d_loss, d_real, d_fake = losses.discriminator_loss(zeros, zeros, 1.0)
    assert float(d_real) == pytest.approx(np.log(2)) and float(d_loss) == pytest.approx(2 * np.log(2))
    assert float(losses.generator_loss(zeros)) == pytest.approx(np.log(2))


def test_label_flips_swap_an_examples_target(logits):
    real, fake = logits
    flip_all, flip_none = np.ones_like(real), np.zeros_like(real)
    _, d_real, d_fake = losses.discriminator_loss(real, fake, 0.9, flip_all, flip_all)
    assert float(d_real) == pytest.approx(np_sigmoid_xent(np.zeros_like(real, np.float64), real), rel=1e-5)
    assert float(d_fake) == pytest.approx(np_sigmoid_xent(np.full_like(fake, 0.9, np.float64), fake), rel=1e-5)
    unflipped = losses.discriminator_loss(real, fake, 0.9, flip_none, flip_none)
    np.testing.assert_allclose([float(v) for v in unflipped],
                               [float(v) for v in losses.discriminator_loss(real, fake, 0.9)], rtol=1e-6)
    half = (np.arange(64) % 2).reshape(64, 1).astype(np.float32)
    targets = 0.9 * (1 - half)
    assert float(losses.discriminator_loss(real, fake, 0.9, half)[1]) == pytest.approx(
        np_sigmoid_xent(targets.astype(np.float64), real.astype(np.float64)), rel=1e-5)
