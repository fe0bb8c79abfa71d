"""The levers' schedules (gan_tf.training.schedules) against numpy, eagerly and in graph."""
import math

import numpy as np
import pytest
import tensorflow as tf

from gan_tf.training import schedules


@pytest.mark.parametrize("compiled", [False, True])
def test_linear_decay_falls_from_one_to_zero_at_the_last_step(compiled):
    fn = tf.function(schedules.learning_rate_factor, reduce_retracing=True) if compiled else \
        schedules.learning_rate_factor
    steps = [0, 1, 250, 999, 1000, 1500]
    got = [float(fn(tf.constant(s, tf.int64), 1000, "linear")) for s in steps]
    np.testing.assert_allclose(got, np.clip(1 - np.array(steps) / 1000, 0, 1), atol=1e-6)
    assert float(fn(tf.constant(500, tf.int64), 1000, "none")) == 1.0


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("gamma", [0.99, 0.5])
def test_top_k_count_anneals_by_gamma_per_epoch_to_half_the_batch(gamma, compiled):
    fn = tf.function(schedules.top_k_count) if compiled else schedules.top_k_count
    batch, per_epoch = 32, 125
    for step in (0, 124, 125, 1000, 10_000, 100_000):
        epoch = step // per_epoch
        expected = math.ceil(max(gamma ** epoch, 0.5) * batch - 1e-4)
        assert int(fn(tf.constant(step, tf.int64), batch, per_epoch, gamma)) == expected
    assert int(fn(tf.constant(0, tf.int64), batch, per_epoch, gamma)) == batch
    assert int(fn(tf.constant(10 ** 7, tf.int64), batch, per_epoch, gamma)) == batch // 2


@pytest.mark.parametrize("compiled", [False, True])
def test_ada_probability_moves_by_the_sign_of_r_t_minus_the_target(compiled):
    fn = tf.function(schedules.ada_probability) if compiled else schedules.ada_probability
    confident = tf.constant([[2.0], [1.0], [3.0], [-1.0]])  # r_t = 0.5
    step = 64 / schedules.ADA_IMAGES_TO_FULL
    assert float(fn(0.3, confident, 0.4, 64)) == pytest.approx(0.3 + step)  # overfitting: up
    assert float(fn(0.3, confident, 0.6, 64)) == pytest.approx(0.3 - step)  # down
    assert float(fn(0.0, confident, 0.6, 64)) == 0.0  # clipped to [0, 1]
    assert float(fn(1.0, confident, 0.4, 64)) == 1.0
    # From 0 to 1 in the paper's 500k images when D is always overconfident.
    p = 0.0
    for _ in range(schedules.ADA_IMAGES_TO_FULL // 5000):
        p = float(fn(p, confident, 0.0, 5000))
    assert p == pytest.approx(1.0, abs=1e-4)
