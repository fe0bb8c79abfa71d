"""gan_tf.tf1: legacy TF1 model code under TF2 (the variable store, the drop-in `tf`
module, tf.layers and tf.contrib.layers), checked against TF1's formulas in numpy."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import tf1
from gan_tf.errors import TF1PortError
from gan_tf.tf1 import layers
from gan_tf.tf1.contrib import layers as contrib_layers
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


# --- the drop-in module ----------------------------------------------------------------

def _call(store, fn, *args, **kwargs):
    """fn(*args, **kwargs) inside the store, as gan_tf calls a legacy model function."""
    with store.scope():
        return fn(*args, **kwargs)


def _values(store):
    """{name without ':0': numpy value} of the store's variables."""
    return {v.name[:-2]: v.numpy() for v in store.variables()}


def test_tf1_forwards_compat_v1_names_and_only_those():
    for name in ("get_variable", "variable_scope", "AUTO_REUSE", "GraphKeys", "float32",
                 "get_collection", "truncated_normal_initializer", "nn", "reduce_mean",
                 "control_dependencies"):
        assert getattr(tf1, name) is getattr(v1, name), name
    assert tf1.train.AdamOptimizer is v1.train.AdamOptimizer
    assert tf1.layers.dense is not None and tf1.layers is not getattr(v1, "layers", None)
    assert not hasattr(tf1, "no_such_op") and not hasattr(tf1.train, "no_such_optimizer")
    with pytest.raises(AttributeError, match="gan_tf.tf1.*no_such_op"):
        tf1.no_such_op  # noqa: B018 - the attribute access is the test
    assert tf1.get_collection(tf1.GraphKeys.UPDATE_OPS) == []


# --- tf1.layers against TF1's formulas, in numpy ---------------------------------------

RNG = np.random.RandomState(0)


def _rand(*shape):
    return RNG.randn(*shape).astype(np.float32)


def _same_padding(length, kernel, stride):
    """(output length, padding before) of TF's 'SAME' over `length`."""
    out = -(-length // stride)
    return out, max((out - 1) * stride + kernel - length, 0) // 2


def np_conv2d(x, kernel, stride, padding):
    """Cross-correlation of NHWC x with kernel [kh, kw, in, out], TF's padding rules."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        (oh, ph), (ow, pw) = (_same_padding(x.shape[1], kh, stride),
                              _same_padding(x.shape[2], kw, stride))
        extra = [(oh - 1) * stride + kh - x.shape[1] - ph, (ow - 1) * stride + kw - x.shape[2] - pw]
        x = np.pad(x, [(0, 0), (ph, max(extra[0], 0)), (pw, max(extra[1], 0)), (0, 0)])
    else:
        oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[3]), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


def np_conv2d_transpose(x, kernel, stride, padding):
    """The transpose of np_conv2d: kernel [kh, kw, out, in]; each input pixel scatters
    kernel * value into the (padded) output, which is then cropped to TF1's size."""
    n, h, w, _ = x.shape
    kh, kw, c_out, _ = kernel.shape
    size = [(h * stride, w * stride) if padding == "same" else
            (h * stride + max(kh - stride, 0), w * stride + max(kw - stride, 0))][0]
    before = [0, 0] if padding == "valid" else [
        max((h - 1) * stride + kh - size[0], 0) // 2, max((w - 1) * stride + kw - size[1], 0) // 2]
    full = np.zeros((n, max((h - 1) * stride + kh, before[0] + size[0]),
                     max((w - 1) * stride + kw, before[1] + size[1]), c_out))
    for i in range(h):
        for j in range(w):
            full[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum(
                "nc,abdc->nabd", x[:, i, j], kernel)
    return full[:, before[0]:before[0] + size[0], before[1]:before[1] + size[1]]


def test_dense_is_tf1s_formula_with_tf1s_initializers():
    store, x = VariableStore(), _rand(4, 3)
    out = _call(store, layers.dense, x, 5, tf.nn.relu)
    kernel, bias = _values(store)["dense/kernel"], _values(store)["dense/bias"]
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bias, 0)
    x3 = _rand(2, 4, 3)  # rank 3: over the last axis, the same variables
    np.testing.assert_allclose(_call(store, layers.dense, x3, 5, name="dense"),
                               np.tensordot(x3, kernel, 1) + bias, rtol=1e-5, atol=1e-6)
    assert len(store.variables()) == 2
    _call(store, layers.dense, _rand(2, 300), 500, use_bias=False, name="big")
    big, limit = _values(store)["big/kernel"], np.sqrt(6 / 800)  # glorot uniform
    assert "big/bias" not in _values(store) and np.abs(big).max() <= limit
    assert abs(big.std() / (limit / np.sqrt(3)) - 1) < 0.02 and abs(big.mean()) < 0.01 * limit

    def scoped(x):  # a variable scope's initializer is get_variable's, so the kernel's
        with v1.variable_scope("s", initializer=v1.constant_initializer(0.5)):
            return layers.dense(x, 2, kernel_initializer=None,
                                bias_initializer=v1.constant_initializer(0.25))
    np.testing.assert_allclose(_call(store, scoped, x), np.repeat(x.sum(1, keepdims=True) * 0.5 + 0.25, 2, axis=1),
                               rtol=1e-5)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_against_numpy(padding, stride):
    store, x = VariableStore(), _rand(2, 7, 6, 3)
    out = _call(store, layers.conv2d, x, 4, 3, strides=stride, padding=padding.upper(),
                bias_initializer=v1.random_normal_initializer(), activation=tf.nn.tanh)
    values = _values(store)
    assert values["conv2d/kernel"].shape == (3, 3, 3, 4) and values["conv2d/bias"].shape == (4,)
    expected = np.tanh(np_conv2d(x, values["conv2d/kernel"], stride, padding)
                       + values["conv2d/bias"])
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    first = _call(store, layers.conv2d, x.transpose(0, 3, 1, 2), 4, 3, strides=stride,
                  padding=padding, data_format="channels_first", name="conv2d",
                  activation=tf.nn.tanh)
    np.testing.assert_allclose(first, expected.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding,stride,kernel,size", [
    ("same", 1, 3, 5), ("same", 2, 3, 10), ("same", 2, 4, 10), ("valid", 1, 3, 7),
    ("valid", 2, 3, 11), ("valid", 2, 4, 12), ("valid", 3, 2, 15)])
def test_conv2d_transpose_shapes_and_values_against_numpy(padding, stride, kernel, size):
    store, x = VariableStore(), _rand(2, 5, 5, 3)
    out = _call(store, layers.conv2d_transpose, x, 2, kernel, strides=(stride, stride),
                padding=padding)
    weights = _values(store)["conv2d_transpose/kernel"]
    assert weights.shape == (kernel, kernel, 2, 3) and out.shape == (2, size, size, 2)
    np.testing.assert_allclose(out, np_conv2d_transpose(x, weights, stride, padding),
                               rtol=1e-5, atol=1e-5)


def test_pooling_flatten_against_numpy():
    x = _rand(2, 6, 6, 3)
    np.testing.assert_array_equal(layers.max_pooling2d(x, 2, 2),
                                  x.reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4)))
    np.testing.assert_allclose(layers.average_pooling2d(x, [3, 3], 3),
                               x.reshape(2, 2, 3, 2, 3, 3).mean(axis=(2, 4)), rtol=1e-5)
    small = _rand(1, 5, 5, 2)  # 'same': windows of 3 at 0, 2, 4 cover [0,1], [1..3], [3,4]
    spans = [slice(0, 2), slice(1, 4), slice(3, 5)]
    expected = np.array([[small[0, r, c].mean(axis=(0, 1)) for c in spans] for r in spans])
    np.testing.assert_allclose(layers.average_pooling2d(small, 3, 2, padding="same")[0],
                               expected, rtol=1e-5)
    first = layers.max_pooling2d(x.transpose(0, 3, 1, 2), 2, 2, data_format="channels_first")
    np.testing.assert_array_equal(first, np.transpose(layers.max_pooling2d(x, 2, 2), [0, 3, 1, 2]))
    np.testing.assert_array_equal(layers.flatten(x), x.reshape(2, -1))
    np.testing.assert_array_equal(layers.flatten(x.transpose(0, 3, 1, 2),
                                                 data_format="channels_first"), x.reshape(2, -1))


def test_dropout_only_when_training():
    x = np.ones((100, 100), np.float32)
    np.testing.assert_array_equal(layers.dropout(x), x)  # TF1's default: training=False
    np.testing.assert_array_equal(layers.dropout(x, 0.3, training=tf.constant(False)), x)
    out = layers.dropout(x, rate=0.3, training=True).numpy()
    np.testing.assert_allclose(np.unique(out), [0, 1 / 0.7], rtol=1e-6)
    assert abs((out == 0).mean() - 0.3) < 0.02

    @tf.function(input_signature=[tf.TensorSpec([], tf.bool)])
    def traced(training):  # a run-time `training`: both branches in the graph
        return layers.dropout(x, 0.3, training=training)
    np.testing.assert_array_equal(traced(False), x)
    assert abs((traced(True).numpy() == 0).mean() - 0.3) < 0.02
