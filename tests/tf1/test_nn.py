"""gan_tf.tf1.nn and the seeding of legacy dropout (gan_tf.tf1.seeds): tf.compat.v1.nn
but for dropout, drawn from the step's stateless seed when gan_tf's trainer gives the
network one, and conv2d_transpose, whose batch size is its input's."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import tf1
from gan_tf.randomness import StepRandom
from gan_tf.tf1 import network, seeds

UNITS = 64


def masks_network():
    """(a legacy D whose tf.layers.dropout and tf.nn.dropout of ones are kept, their
    [(layers mask, nn mask)] per call)."""
    masks = []

    def discriminator(x, training):
        with tf1.variable_scope("discriminator"):
            w = tf1.get_variable("w", [784, 1])
            ones = tf.ones([tf.shape(x)[0], UNITS])
            a = tf1.layers.dropout(ones, 0.5, training=training)
            b = tf1.nn.dropout(ones, keep_prob=0.5 if training else 1.0)
            masks.append((a, b))
            return tf.matmul(tf.reshape(x, [-1, 784]), w)
    return network.Network(discriminator, "discriminator"), masks


def step_seed(step):
    """The seed gan_tf's trainer gives D at `step` (its first draw of the step)."""
    return StepRandom(seed=0, step=step, replicas=1).local_seed()


def test_dropout_masks_come_from_the_step_seed_differ_per_layer_and_per_call():
    net, masks = masks_network()
    x = tf.zeros([4, 28, 28, 1])

    def drawn(seed, training=True):
        net(x, training=training, seed=seed)
        return [m.numpy() for m in masks[-1]]
    first, second = drawn(step_seed(1)), drawn(step_seed(2))
    for mask in first + second:
        assert set(np.unique(mask)) == {0.0, 2.0}  # dropped, or kept and scaled by 1 / 0.5
    assert not np.array_equal(*first)  # the two dropouts of one call
    assert not np.array_equal(first[0], second[0]) and not np.array_equal(first[1], second[1])
    np.testing.assert_array_equal(drawn(step_seed(1)), first)  # the step again: its masks
    traced = tf.function(lambda x, seed: (net(x, training=True, seed=seed), masks[-1])[1])
    np.testing.assert_array_equal(traced(x, step_seed(1)), first)
    seed = step_seed(1)  # given to two calls in a row (D's real, then fake batch)
    assert np.array_equal(drawn(seed), first) and not np.array_equal(drawn(seed)[0], first[0])
    assert np.all(drawn(step_seed(1), training=False)[0] == 1)
    unseeded = drawn(None), drawn(None)  # as TF1 drew it, from the stateful generator
    assert not np.array_equal(unseeded[0][0], unseeded[1][0])


def test_nn_dropout_takes_tf1s_keep_prob_or_rate_and_noise_shape():
    x = tf.ones([3, 5, 7])
    with seeds.scope(tf.constant([1, 2], tf.int64)):
        assert tf1.nn.dropout(x, keep_prob=1.0) is x
        shared = tf1.nn.dropout(x, rate=0.5, noise_shape=[3, 1, 7]).numpy()
        assert np.all(shared == shared[:, :1])  # one mask across the noise_shape's 1 axis
        with pytest.raises(ValueError):
            tf1.nn.dropout(x, keep_prob=0.5, rate=0.5)  # tf.compat.v1's error


@pytest.mark.parametrize("padding, out", [("SAME", 8), ("VALID", 9)])
def test_conv2d_transpose_takes_the_batch_size_from_its_input(padding, out):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    w = rng.normal(size=(3, 3, 5, 2)).astype(np.float32)
    expected = tf.compat.v1.nn.conv2d_transpose(x, w, [3, out, out, 5], [1, 2, 2, 1], padding)
    fixed = [64, out, out, 5]  # DCGAN-tensorflow's [self.batch_size, h, w, c]
    for output_shape in (fixed, tf.constant(fixed)):
        got = tf1.nn.conv2d_transpose(x, w, output_shape, [1, 2, 2, 1], padding)
        np.testing.assert_allclose(got, expected, atol=1e-5)
    got = tf1.nn.conv2d_transpose(input=x, filters=w, output_shape=fixed, strides=[1, 2, 2, 1],
                                  padding=padding)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    traced = tf.function(lambda x: tf1.nn.conv2d_transpose(x, w, fixed, [1, 2, 2, 1], padding))
    concrete = traced.get_concrete_function(tf.TensorSpec([None, 4, 4, 2]))
    assert concrete.output_shapes.as_list() == [None, out, out, 5]
    np.testing.assert_allclose(concrete(tf.constant(x[:2])), expected[:2], atol=1e-5)


def test_nn_forwards_the_rest_of_compat_v1_nn():
    assert tf1.nn.relu is tf.compat.v1.nn.relu and tf.nn is not tf1.nn
    assert tf1.nn.sigmoid_cross_entropy_with_logits is \
        tf.compat.v1.nn.sigmoid_cross_entropy_with_logits
    with pytest.raises(AttributeError, match="no_such_op"):
        tf1.nn.no_such_op  # noqa: B018 - the attribute access is the test
