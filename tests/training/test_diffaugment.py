"""gan_tf.training.augmentations: each op against a numpy formula, its gradient, its seeds."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf.training import augmentations


def rng(seed=0):
    """A stateless seed, as the train step hands each op."""
    return tf.constant([seed, 7], tf.int64)


def images(n=32, channels=1, low=0.1, seed=0):
    """Images with no zero pixel, so zeroed ones show where cutout or padding went."""
    return np.random.default_rng(seed).uniform(low, 1, (n, 28, 28, channels)).astype(np.float32)


def cutout_mask(centre_row, centre_col, size=28, square=14):
    """The paper's cutout mask (numpy): 0 on the square at this centre, clipped to the image."""
    mask = np.ones((size, size), np.float32)
    top, left = centre_row - square // 2, centre_col - square // 2
    mask[max(top, 0):max(top + square, 0), max(left, 0):max(left + square, 0)] = 0
    return mask


@pytest.mark.parametrize("compiled", [False, True])
def test_cutout_zeroes_a_clipped_half_size_square_per_image(compiled):
    x = images(200)
    fn = tf.function(augmentations.cutout) if compiled else augmentations.cutout
    out = fn(tf.constant(x), rng()).numpy()
    centres, areas = set(), []
    for i in range(len(x)):
        match = [(a, b) for a in range(29) for b in range(29)
                 if np.array_equal(out[i], x[i] * cutout_mask(a, b)[..., None])]
        assert len(match) == 1, i  # exactly one centre in 0..28 each way
        centres.add(match[0])
        areas.append((out[i] == 0).sum())
    assert len(centres) > 150  # each image its own square
    assert max(areas) == 14 * 14 and min(areas) < 14 * 14  # whole inside, clipped at edges
    rows = {a for a, _ in centres}
    assert min(rows) <= 2 and max(rows) >= 26  # centres reach the border


def test_translation_is_an_eighth_of_the_size_with_zero_padding():
    x = images()
    padded = np.pad(x, ((0, 0), (4, 4), (4, 4), (0, 0)))
    out = augmentations.translation(tf.constant(x), rng()).numpy()
    offsets = set()
    for i in range(len(x)):
        match = [(a, b) for a in range(9) for b in range(9)
                 if np.array_equal(padded[i, a:a + 28, b:b + 28], out[i])]
        assert len(match) == 1, i
        offsets.add(match[0])
    assert len(offsets) > 15


def per_image_factor(out, x):
    """The one number f per image with out = f * x (least squares), checking that it fits."""
    factor = (out * x).sum(axis=(1, 2, 3), keepdims=True) / (x * x).sum(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, factor * x, atol=1e-5)
    return factor.ravel()


def test_colour_ops_follow_the_papers_formulas():
    x = images(500, low=-1)
    shift = augmentations.brightness(tf.constant(x), rng()).numpy() - x
    b = shift[:, 0, 0, 0]
    np.testing.assert_allclose(shift, np.broadcast_to(b[:, None, None, None], x.shape), atol=1e-6)
    assert b.min() >= -0.5 and b.max() < 0.5 and b.std() > 0.25  # uniform in [-0.5, 0.5)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    out = augmentations.contrast(tf.constant(x), rng()).numpy()
    c = per_image_factor(out - mean, x - mean)
    assert c.min() >= 0.5 and c.max() < 1.5 and c.std() > 0.25
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), mean.ravel(), atol=1e-5)
    # Saturation: the identity on grayscale; on colour, (x - channel mean) * s + mean, s in [0, 2).
    grey = augmentations.saturation(tf.constant(x), rng()).numpy()
    np.testing.assert_array_equal(grey, (x - x) * 1.7 + x)  # the formula, exactly, on one channel
    rgb = images(100, channels=3, low=-1)
    grey = rgb.mean(axis=3, keepdims=True)
    s = per_image_factor(augmentations.saturation(tf.constant(rgb), rng()).numpy() - grey, rgb - grey)
    assert s.min() >= 0 and s.max() < 2 and s.std() > 0.4


@pytest.mark.parametrize("op", [augmentations.brightness, augmentations.saturation,
                                augmentations.contrast, augmentations.translation, augmentations.cutout])
def test_gradient_flows_to_the_images_through_every_op(op):
    x = tf.constant(images(8, channels=3, low=-1))  # colour: saturation is not skipped
    weights = tf.constant(images(8, channels=3, seed=1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = op(x, rng())
        total = tf.reduce_sum(out * weights)
    grad = tape.gradient(total, x).numpy()
    assert np.isfinite(grad).all() and (np.abs(grad).sum(axis=(1, 2, 3)) > 1).all()
    if op is augmentations.cutout:  # a 0/1 mask: the weights where kept, 0 in the square
        np.testing.assert_array_equal(grad, weights.numpy() * (out.numpy() != 0))


def test_the_policy_is_deterministic_per_seed_and_the_same_in_graph():
    x = tf.constant(images(16, low=-1))
    policy = "color,translation,cutout"
    eager = augmentations.augment(x, policy, rng(3)).numpy()
    compiled = tf.function(augmentations.augment, reduce_retracing=True)
    np.testing.assert_allclose(compiled(x, policy, rng(3)).numpy(), eager, atol=1e-6)
    np.testing.assert_array_equal(augmentations.augment(x, policy, rng(3)).numpy(), eager)
    assert not np.allclose(augmentations.augment(x, policy, rng(4)).numpy(), eager)
    assert augmentations.augment(x, "", rng()) is x
    # Each image draws its own: two copies of one image in a batch come out different.
    twice = augmentations.augment(tf.concat([x[:1], x[:1]], 0), policy, rng()).numpy()
    assert not np.allclose(twice[0], twice[1])


@pytest.mark.parametrize("compiled", [False, True])
def test_a_probability_applies_each_op_to_that_share_of_the_images(compiled):
    """ADA's p (issue 28): 0 leaves every image as it was, 1 changes every one, and 0.3
    about 30 % of them, each image drawing its own."""
    x = tf.ones([400, 28, 28, 1])
    fn = tf.function(augmentations.augment) if compiled else augmentations.augment
    for p, low, high in ((0.0, 0, 0), (1.0, 400, 400), (0.3, 90, 150)):
        out = fn(x, "cutout", tf.constant([3, 4], tf.int64), tf.constant(p))
        changed_images = int(tf.reduce_sum(tf.cast(tf.reduce_any(out != x, axis=[1, 2, 3]),
                                                   tf.int32)))
        assert low <= changed_images <= high, (p, changed_images)
