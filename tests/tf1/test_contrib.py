"""gan_tf.tf1.contrib (tf.contrib.layers, framework.arg_scope, slim) against the real TF1
implementation: each layer and arg_scope combination is built once with `tf_slim` in a
TF1 graph and once with gan_tf.tf1 eagerly in a VariableStore, from the same inputs and
weights: the same variable names and shapes, outputs in training and inference mode,
moving statistics after one update, regularization terms, and initializer statistics."""
import types

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import tf1
from gan_tf.errors import TF1PortError
from tests.tf1_graph import real_slim, reference_run, store_run

v1 = tf.compat.v1
OURS = tf1.contrib.slim


def reference(build, x, training):
    return reference_run(real_slim(), build, x, training)


def ours(build, x, training, values):
    return store_run(OURS, build, x, training, values)


def _x(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


BUILDS = {
    "fully_connected": (lambda L, x, t: L.fully_connected(L.flatten(x), 5), (4, 3, 3, 2)),
    "fully_connected_rank3": (lambda L, x, t: L.fully_connected(x, 3, activation_fn=tf.tanh,
                                                                 biases_initializer=None),
                              (4, 5, 6)),
    "linear_and_names": (lambda L, x, t: L.linear(L.fully_connected(x, 4), 2, scope="out"),
                         (3, 6)),
    "conv2d": (lambda L, x, t: L.conv2d(x, 4, 3, stride=2), (2, 9, 9, 3)),
    "conv2d_valid_dilated": (lambda L, x, t: L.conv2d(x, 2, [3, 2], rate=2, padding="VALID",
                                                      activation_fn=None), (2, 8, 8, 3)),
    "conv2d_transpose": (lambda L, x, t: L.conv2d_transpose(x, 3, [4, 4], stride=2),
                         (2, 5, 5, 2)),
    "conv2d_transpose_valid": (lambda L, x, t: L.conv2d_transpose(x, 2, 3, stride=2,
                                                                  padding="VALID"), (2, 4, 4, 3)),
    "batch_norm_defaults": (lambda L, x, t: L.batch_norm(x, is_training=t), (6, 4, 4, 3)),
    "batch_norm_scale_decay": (lambda L, x, t: L.batch_norm(x, decay=0.9, scale=True,
                                                            is_training=t), (8, 5)),
    "batch_norm_no_center": (lambda L, x, t: L.batch_norm(x, center=False, scale=True,
                                                          epsilon=0.01, is_training=t), (5, 3)),
    "layer_norm": (lambda L, x, t: L.layer_norm(x), (3, 4, 4, 2)),
    "layer_norm_axes": (lambda L, x, t: L.layer_norm(x, begin_norm_axis=-1,
                                                     begin_params_axis=-1), (3, 5)),
    "pools": (lambda L, x, t: L.max_pool2d(x, 2) + L.avg_pool2d(x, 3, stride=1,
                                                                  padding="SAME")[:, ::2, ::2],
              (2, 6, 6, 3)),
    "dropout_inference": (lambda L, x, t: L.dropout(x, 0.5, is_training=False), (3, 4)),
    "normalizer_fn": (lambda L, x, t: L.fully_connected(
        x, 4, normalizer_fn=L.batch_norm, normalizer_params={"is_training": t, "scale": True}),
        (6, 3)),
    "regularizers": (lambda L, x, t: L.conv2d(
        x, 3, 3, weights_regularizer=L.l2_regularizer(0.3),
        biases_regularizer=L.l1_regularizer(0.2), biases_initializer=tf.constant_initializer(0.5)),
        (2, 5, 5, 2)),
}


def _scoped(L, x, t):
    """Nested arg_scopes: the inner keyword wins, a call's own keyword wins over both, and
    a normalizer's own arg_scope reaches it through normalizer_fn."""
    with L.arg_scope([L.conv2d, L.fully_connected], activation_fn=tf.nn.leaky_relu,
                     normalizer_fn=L.batch_norm, weights_regularizer=L.l2_regularizer(0.1)):
        with L.arg_scope([L.batch_norm], is_training=t, scale=True):
            with L.arg_scope([L.conv2d], padding="VALID", stride=2):
                net = L.conv2d(x, 4, 3)
                net = L.conv2d(net, 3, 2, padding="SAME", normalizer_fn=None)
            net = L.fully_connected(L.flatten(net), 5, activation_fn=None)
    return net


def _reentered(L, x, t):
    """A scope an arg_scope yielded, re-entered later, as TF1 code passed them around."""
    with L.arg_scope([L.fully_connected], activation_fn=tf.tanh) as saved:
        pass
    with L.arg_scope(saved):
        return L.fully_connected(x, 3)


BUILDS["arg_scope_nested"] = (_scoped, (4, 7, 7, 2))
BUILDS["arg_scope_reentered"] = (_reentered, (3, 4))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", sorted(BUILDS))
def test_layer_matches_tf_slim(name, training):
    build, shape = BUILDS[name]
    x = _x(shape)
    values, expected, expected_reg, expected_after = reference(build, x, training)
    output, reg, after = ours(build, x, training, values)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reg, expected_reg, rtol=1e-5, atol=1e-7)
    for variable, value in expected_after.items():  # moving statistics: one update each
        np.testing.assert_allclose(after[variable], value, rtol=1e-5, atol=1e-6,
                                   err_msg=variable)


def test_the_traced_layers_give_the_eager_outputs():
    build, shape = BUILDS["arg_scope_nested"]
    x = tf.constant(_x(shape))
    store = tf1.VariableStore()

    def call():
        with store.scope():
            return build(OURS, x, False)
    eager = call().numpy()
    np.testing.assert_allclose(tf.function(call)().numpy(), eager, rtol=1e-6)


@pytest.mark.parametrize("uniform", [True, False])
def test_initializer_statistics_match_tf_slim(uniform):
    """xavier_initializer (the layers' default) and variance_scaling_initializer draw with
    TF1's spread: the standard deviations of a 300x400 kernel agree within 3 %."""
    def build(L, x, t):
        L.fully_connected(x, 400, weights_initializer=L.xavier_initializer(uniform=uniform))
        return L.fully_connected(x, 300, weights_initializer=L.variance_scaling_initializer(
            factor=2.0, mode="FAN_AVG", uniform=uniform), scope="vs")
    x = _x((2, 300))
    values = reference(build, x, False)[0]
    store = tf1.VariableStore()
    with store.scope():
        build(OURS, tf.constant(x), False)
    mine = {v.name.split(":")[0]: v.numpy() for v in store.variables()}
    for name in ("fully_connected/weights", "vs/weights"):
        assert np.std(mine[name]) == pytest.approx(np.std(values[name]), rel=0.03), name
        assert np.abs(mine[name]).max() <= np.abs(values[name]).max() * 1.02


def test_dropout_keeps_keep_prob_of_the_units_scaled():
    x = tf.ones([200, 100])
    with tf1.VariableStore().scope():
        y = OURS.dropout(x, keep_prob=0.8, is_training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 1.25} and abs((y > 0).mean() - 0.8) < 0.02


def test_an_arg_scope_over_an_undecorated_function_is_refused_in_one_line():
    def my_layer(x, activation_fn=None):
        return x
    with pytest.raises(ValueError) as caught:
        with OURS.arg_scope([my_layer], activation_fn=tf.nn.relu):
            pass
    assert "my_layer is not decorated with @add_arg_scope" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="not decorated"):  # linear is a partial, as in TF1
        with OURS.arg_scope([OURS.linear], scope="x"):
            pass
    decorated = tf1.contrib.framework.add_arg_scope(my_layer)
    with tf1.contrib.framework.arg_scope([decorated], activation_fn="relu"):
        assert tf1.contrib.framework.current_arg_scope()[my_layer] == {"activation_fn": "relu"}


def test_contrib_names_beyond_layers_framework_and_slim_are_refused():
    for get, call in ((lambda: tf1.contrib.learn, "tf.contrib.learn"),
                      (lambda: tf1.contrib.slim.learning, "tf.contrib.slim.learning"),
                      (lambda: tf1.contrib.framework.get_variables,
                       "tf.contrib.framework.get_variables")):
        with pytest.raises(TF1PortError, match=f"^{call}: not provided by gan_tf.tf1"):
            get()


def test_slim_and_contrib_layers_are_the_same_functions():
    assert tf1.contrib.slim.conv2d is tf1.contrib.layers.conv2d is tf1.contrib.layers.convolution2d
    assert tf1.contrib.slim.arg_scope is tf1.contrib.framework.arg_scope
    assert isinstance(tf1.contrib.layers, types.ModuleType)
