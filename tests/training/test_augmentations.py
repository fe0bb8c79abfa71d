"""The tricks on D's inputs and labels: what each does to a batch, under tf.function too."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf.training import augmentations


def rng(seed=0):
    """A stateless seed, as the train step hands each trick."""
    return tf.constant([seed, 7], tf.int64)


@pytest.mark.parametrize("compiled", [False, True])
def test_translation_shifts_each_image_within_the_limit(compiled):
    x = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
    fn = tf.function(augmentations.translate) if compiled else augmentations.translate
    shifted = fn(tf.constant(x), rng(), 2).numpy()
    offsets = set()
    for i in range(32):
        match = [(a, b) for a in range(5) for b in range(5)
                 if np.array_equal(padded[i, a:a + 28, b:b + 28], shifted[i])]
        assert len(match) == 1, i  # exactly one shift of at most 2 pixels each way
        offsets.add(match[0])
    assert len(offsets) > 5  # each image its own shift


def test_translation_is_differentiable_and_off_at_zero():
    x = tf.constant(np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augmentations.translate(x, rng(), 3) * 2.0)
    grad = tape.gradient(total, x).numpy()
    assert set(np.unique(grad)) <= {0.0, 2.0} and grad.sum() > 0  # pixels kept get gradient 2
    assert augmentations.translate(x, rng(), 0) is x


def test_instance_noise_decays_linearly_to_zero():
    x = tf.zeros([64, 28, 28, 1])
    for step, sigma in [(0, 0.4), (50, 0.2), (100, 0.0), (500, 0.0)]:
        noise = augmentations.instance_noise(x, rng(step), tf.constant(step, tf.int64), 0.4, 100).numpy()
        assert noise.std() == pytest.approx(sigma, rel=0.05, abs=1e-9), step
    assert augmentations.instance_noise(x, rng(), 0, 0.0, 100) is x


def test_label_flips_have_the_asked_probability():
    flips = augmentations.label_flips(rng(), 20000, 0.1).numpy()
    assert flips.shape == (20000, 1) and set(np.unique(flips)) == {0.0, 1.0}
    assert flips.mean() == pytest.approx(0.1, abs=0.01)
    assert augmentations.label_flips(rng(), 10, 0.0) is None
