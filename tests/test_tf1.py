"""gan_tf.tf1: legacy TF1 model code under TF2 (the variable store, the drop-in `tf`
module, tf.layers and tf.contrib.layers), checked against TF1's formulas in numpy."""
import numpy as np
import tensorflow as tf

from gan_tf.tf1.store import VariableStore

v1 = tf.compat.v1


def _legacy_dense(x, units):
    """A dense layer as tf.layers wrote it: a default_name scope and get_variable."""
    with v1.variable_scope(None, default_name="dense"):
        kernel = v1.get_variable("kernel", [x.shape[-1], units])
        bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
        return tf.matmul(x, kernel) + bias


def _legacy_generator(z, reuse=False):
    with v1.variable_scope("generator", reuse=reuse):
        return _legacy_dense(tf.nn.relu(_legacy_dense(z, 5)), 3)


def test_store_creates_tf1_names_once_and_reuses_them_eagerly_and_in_tf_function():
    store = VariableStore()
    z = tf.constant(np.random.RandomState(0).randn(4, 2), tf.float32)
    with store.scope():
        first = _legacy_generator(z)
    names = [v.name for v in store.variables()]
    assert names == ["generator/dense/kernel:0", "generator/dense/bias:0",
                     "generator/dense_1/kernel:0", "generator/dense_1/bias:0"]
    assert store.trainable_variables() == store.variables()
    for reuse in (False, True):
        with store.scope():
            np.testing.assert_array_equal(_legacy_generator(z, reuse=reuse), first)

    @tf.function
    def traced(z):
        with store.scope():
            return _legacy_generator(z)

    np.testing.assert_allclose(traced(z), first, rtol=1e-6)
    np.testing.assert_allclose(traced(z * 2), _legacy_generator_eager(store, z * 2), rtol=1e-6)
    assert [v.name for v in store.variables()] == names
    store.variables()[0].assign_add(tf.ones([2, 5]))  # the traced function reads the store's
    np.testing.assert_allclose(traced(z), _legacy_generator_eager(store, z), rtol=1e-6)


def _legacy_generator_eager(store, z):
    with store.scope():
        return _legacy_generator(z)


def test_store_variables_of_a_first_call_inside_tf_function():
    store = VariableStore()

    @tf.function
    def traced(z):
        with store.scope():
            return _legacy_dense(_legacy_dense(z, 3), 1)  # top-level default names restart too

    z = tf.ones([2, 4])
    out = traced(z)
    assert [v.name for v in store.variables()] == [
        "dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0"]
    with store.scope():
        np.testing.assert_allclose(_legacy_dense(_legacy_dense(z, 3), 1), out, rtol=1e-6)
    assert len(store.variables()) == 4
    with store.scope(), v1.variable_scope("outer"):
        v1.get_variable("w", [1], trainable=False)
    assert [v.name for v in store.trainable_variables()][-1] == "dense_1/bias:0"
    assert store.variables()[-1].name == "outer/w:0"
