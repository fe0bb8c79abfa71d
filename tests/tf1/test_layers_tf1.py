"""gan_tf.tf1.layers and tf1.contrib.layers against TF1's formulas, computed in numpy:
dense, conv2d, conv2d_transpose, pooling, flatten, dropout, batch normalization's
moving statistics, contrib's batch_norm and initializers."""
import types

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import tf1
from gan_tf.tf1 import layers
from gan_tf.tf1.contrib import layers as contrib_layers
from gan_tf.tf1.store import VariableStore
from tests.helpers import in_store, store_values
from tests.tf1_graph import real_slim, reference_run, store_run

v1 = tf.compat.v1


# --- the layers -------------------------------------------------------------------------

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
    out = in_store(store, layers.dense, x, 5, tf.nn.relu)
    kernel, bias = store_values(store)["dense/kernel"], store_values(store)["dense/bias"]
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bias, 0)
    x3 = _rand(2, 4, 3)  # rank 3: over the last axis, the same variables
    np.testing.assert_allclose(in_store(store, layers.dense, x3, 5, name="dense"),
                               np.tensordot(x3, kernel, 1) + bias, rtol=1e-5, atol=1e-6)
    assert len(store.variables()) == 2
    in_store(store, layers.dense, _rand(2, 300), 500, use_bias=False, name="big")
    big, limit = store_values(store)["big/kernel"], np.sqrt(6 / 800)  # glorot uniform
    assert "big/bias" not in store_values(store) and np.abs(big).max() <= limit
    assert abs(big.std() / (limit / np.sqrt(3)) - 1) < 0.02 and abs(big.mean()) < 0.01 * limit

    def scoped(x):  # a variable scope's initializer is get_variable's, so the kernel's
        with v1.variable_scope("s", initializer=v1.constant_initializer(0.5)):
            return layers.dense(x, 2, kernel_initializer=None,
                                bias_initializer=v1.constant_initializer(0.25))
    expected = np.repeat(x.sum(1, keepdims=True) * 0.5 + 0.25, 2, axis=1)
    np.testing.assert_allclose(in_store(store, scoped, x), expected,
                               rtol=1e-5)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_against_numpy(padding, stride):
    store, x = VariableStore(), _rand(2, 7, 6, 3)
    out = in_store(store, layers.conv2d, x, 4, 3, strides=stride, padding=padding.upper(),
                bias_initializer=v1.random_normal_initializer(), activation=tf.nn.tanh)
    values = store_values(store)
    assert values["conv2d/kernel"].shape == (3, 3, 3, 4) and values["conv2d/bias"].shape == (4,)
    expected = np.tanh(np_conv2d(x, values["conv2d/kernel"], stride, padding)
                       + values["conv2d/bias"])
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    first = in_store(store, layers.conv2d, x.transpose(0, 3, 1, 2), 4, 3, strides=stride,
                  padding=padding, data_format="channels_first", name="conv2d",
                  activation=tf.nn.tanh)
    np.testing.assert_allclose(first, expected.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding,stride,kernel,size", [
    ("same", 1, 3, 5), ("same", 2, 3, 10), ("same", 2, 4, 10), ("valid", 1, 3, 7),
    ("valid", 2, 3, 11), ("valid", 2, 4, 12), ("valid", 3, 2, 15)])
def test_conv2d_transpose_shapes_and_values_against_numpy(padding, stride, kernel, size):
    store, x = VariableStore(), _rand(2, 5, 5, 3)
    out = in_store(store, layers.conv2d_transpose, x, 2, kernel, strides=(stride, stride),
                padding=padding)
    weights = store_values(store)["conv2d_transpose/kernel"]
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


# --- batch normalization --------------------------------------------------------------

def _moments(x, axes, bessel=False):
    n = np.prod([x.shape[a] for a in axes])
    return x.mean(axes), x.var(axes) * (n / (n - 1) if bessel else 1)


def test_batch_normalization_updates_moving_statistics_in_the_training_pass():
    store, x, x2 = VariableStore(), _rand(8, 3) * 2 + 1, _rand(8, 3)
    out = in_store(store, layers.batch_normalization, x, training=True)
    mean, var = _moments(x, (0,))  # 2-D inputs: TF1's non-fused path, plain variance
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    moving = dict(mean=0.01 * mean, var=0.99 + 0.01 * var)  # from 0 and 1, momentum 0.99
    values = store_values(store)
    np.testing.assert_allclose(values["batch_normalization/moving_mean"], moving["mean"], rtol=1e-5)
    np.testing.assert_allclose(values["batch_normalization/moving_variance"], moving["var"],
                               rtol=1e-5)
    assert [v.name[:-2] for v in store.trainable_variables()] == [
        "batch_normalization/gamma", "batch_normalization/beta"]
    assert tf1.get_collection(tf1.GraphKeys.UPDATE_OPS) == []
    inference = in_store(store, layers.batch_normalization, x2)  # TF1's default: training=False
    np.testing.assert_allclose(inference, (x2 - moving["mean"]) / np.sqrt(moving["var"] + 1e-3),
                               rtol=1e-5)
    in_store(store, layers.batch_normalization, x2, momentum=0.5, training=tf.constant(True))
    mean2, var2 = _moments(x2, (0,))
    np.testing.assert_allclose(store_values(store)["batch_normalization/moving_mean"],
                               0.5 * moving["mean"] + 0.5 * mean2, rtol=1e-5)
    np.testing.assert_allclose(store_values(store)["batch_normalization/moving_variance"],
                               0.5 * moving["var"] + 0.5 * var2, rtol=1e-5)


def test_batch_normalization_of_images_is_tf1s_fused_kernel():
    """4-D inputs ran TF1's fused kernel: plain variance for the batch, and Bessel's
    corrected one (the kernel's output) for the moving variance."""
    store, x = VariableStore(), _rand(4, 3, 3, 2)
    out = in_store(store, layers.batch_normalization, x, axis=3, epsilon=1e-5, training=True,
                center=False, scale=False, name="bn")
    fused, _, fused_var = v1.nn.fused_batch_norm(x, tf.ones([2]), tf.zeros([2]), epsilon=1e-5)
    np.testing.assert_allclose(out, fused, rtol=1e-4, atol=1e-5)
    assert sorted(store_values(store)) == ["bn/moving_mean", "bn/moving_variance"]
    np.testing.assert_allclose(store_values(store)["bn/moving_variance"], 0.99 + 0.01 * fused_var,
                               rtol=1e-6)
    first = in_store(store, layers.batch_normalization, x.transpose(0, 3, 1, 2), axis=1,
                  epsilon=1e-5, center=False, scale=False, name="bn_nchw", training=True)
    np.testing.assert_allclose(first, np.transpose(fused, [0, 3, 1, 2]), rtol=1e-4, atol=1e-5)


def test_contrib_batch_norm_names_decay_and_scale():
    """DCGAN-tensorflow's call: scope, decay 0.9, epsilon 1e-5, scale=True, no updates
    collection; contrib's defaults otherwise (scope BatchNorm, no gamma, decay 0.999)."""
    store, x = VariableStore(), _rand(6, 2, 2, 3)

    def model(x, train):
        with v1.variable_scope("generator"):
            h = tf1.contrib.layers.batch_norm(x, decay=0.9, updates_collections=None,
                                              epsilon=1e-5, scale=True, is_training=train,
                                              scope="g_bn0")
            return tf1.contrib.layers.batch_norm(tf1.contrib.layers.batch_norm(h), scope=None)

    out = in_store(store, model, x, True)
    assert list(store_values(store)) == [
        "generator/g_bn0/beta", "generator/g_bn0/gamma", "generator/g_bn0/moving_mean",
        "generator/g_bn0/moving_variance", "generator/BatchNorm/beta",
        "generator/BatchNorm/moving_mean", "generator/BatchNorm/moving_variance",
        "generator/BatchNorm_1/beta", "generator/BatchNorm_1/moving_mean",
        "generator/BatchNorm_1/moving_variance"]
    mean, var = _moments(x, (0, 1, 2))
    _, unbiased = _moments(x, (0, 1, 2), bessel=True)
    values = store_values(store)
    np.testing.assert_allclose(values["generator/g_bn0/moving_mean"], 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(values["generator/g_bn0/moving_variance"], 0.9 + 0.1 * unbiased,
                               rtol=1e-5)
    np.testing.assert_allclose(values["generator/BatchNorm/moving_mean"], 0, atol=1e-6)
    np.testing.assert_allclose(values["generator/BatchNorm/moving_variance"],
                               0.999 + 0.001 * var / (var + 1e-5) * 24 / 23, rtol=1e-4)
    expected = (x - mean) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)
    moved = store_values(store)
    inference = in_store(store, model, x, False)
    h = (x - moved["generator/g_bn0/moving_mean"]) / np.sqrt(
        moved["generator/g_bn0/moving_variance"] + 1e-5)
    for _ in ("BatchNorm", "BatchNorm_1"):  # contrib's default is_training=True: batch statistics
        mean, var = _moments(h, (0, 1, 2))
        h = (h - mean) / np.sqrt(var + 1e-3)
    np.testing.assert_allclose(inference, h, rtol=1e-5, atol=1e-5)



@pytest.mark.parametrize("uniform", [True, False])
def test_xavier_initializer_draws_contribs_distribution(uniform):
    shape = (5, 5, 16, 32)  # fans times the 5x5 receptive field: 400 in, 800 out
    values = contrib_layers.xavier_initializer(uniform=uniform, seed=1)(shape).numpy()
    if uniform:
        limit = np.sqrt(6 / 1200)
        assert np.abs(values).max() <= limit
        assert abs(values.std() / (limit / np.sqrt(3)) - 1) < 0.02
    else:  # a normal of stddev sqrt(1.3 / 600), cut at two of them
        stddev = np.sqrt(1.3 / 600)
        assert np.abs(values).max() <= 2 * stddev
        assert abs(values.std() / (0.8796 * stddev) - 1) < 0.02
    assert abs(values.mean()) < 0.02 * values.std()
    he = contrib_layers.variance_scaling_initializer()((300, 200)).numpy()  # FAN_IN, factor 2
    assert abs(he.std() / (0.8796 * np.sqrt(2.6 / 300)) - 1) < 0.03


# --- against the real TF1 tf.layers (tf-keras' legacy_tf_layers, in a TF1 graph) --------

def _real_tf_layers():
    real_slim()  # its patch makes the legacy layers importable where TF looks for them
    from tf_keras.src.legacy_tf_layers import convolutional, core, normalization, pooling
    return types.SimpleNamespace(
        dense=core.dense, flatten=core.flatten, dropout=core.dropout,
        conv2d=convolutional.conv2d, conv2d_transpose=convolutional.conv2d_transpose,
        batch_normalization=normalization.batch_normalization,
        max_pooling2d=pooling.max_pooling2d, average_pooling2d=pooling.average_pooling2d,
        l2=tf1.contrib.layers.l2_regularizer)


REAL_BUILDS = {
    "dense": (lambda L, x, t: L.dense(L.flatten(x), 5, activation=tf.nn.relu), (3, 2, 2, 3)),
    "dense_rank3_no_bias": (lambda L, x, t: L.dense(x, 4, use_bias=False), (2, 5, 3)),
    "conv2d": (lambda L, x, t: L.conv2d(x, 4, 3, strides=2, padding="same"), (2, 9, 9, 3)),
    "conv2d_valid_dilated": (lambda L, x, t: L.conv2d(x, 2, [3, 2], dilation_rate=2),
                             (2, 8, 8, 3)),
    "conv2d_transpose": (lambda L, x, t: L.conv2d_transpose(x, 3, 4, strides=2, padding="same"),
                         (2, 5, 5, 2)),
    "conv2d_transpose_valid": (lambda L, x, t: L.conv2d_transpose(x, 2, 3, strides=2),
                               (2, 4, 4, 3)),
    "batch_normalization": (lambda L, x, t: L.batch_normalization(x, training=t), (6, 4, 4, 3)),
    "batch_normalization_2d": (lambda L, x, t: L.batch_normalization(
        x, momentum=0.9, epsilon=0.01, training=t), (8, 5)),
    "pools": (lambda L, x, t: L.max_pooling2d(x, 2, 2) + L.average_pooling2d(
        x, 3, 1, padding="same")[:, ::2, ::2], (2, 6, 6, 3)),
    "dropout_inference": (lambda L, x, t: L.dropout(x, 0.5, training=False), (3, 4)),
    "regularized": (lambda L, x, t: L.dense(x, 3, kernel_regularizer=L.l2(0.5),
                                            bias_regularizer=L.l2(0.1),
                                            bias_initializer=tf.constant_initializer(0.3)),
                    (4, 2)),
    "default_names": (lambda L, x, t: L.dense(L.dense(x, 3), 2) + L.dense(x, 2, name="named"),
                      (4, 3)),
}


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", sorted(REAL_BUILDS))
def test_layer_matches_the_real_tf_layers(name, training):
    """Names, shapes, outputs (training and inference), one moving-statistics update and
    the regularization terms, against tf-keras' legacy tf.layers run in a TF1 graph."""
    build, shape = REAL_BUILDS[name]
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    values, expected, expected_reg, expected_after = reference_run(_real_tf_layers(), build, x,
                                                                   training)
    ours = types.SimpleNamespace(**{n: getattr(tf1.layers, n) for n in (
        "dense", "flatten", "dropout", "conv2d", "conv2d_transpose", "batch_normalization",
        "max_pooling2d", "average_pooling2d")}, l2=tf1.contrib.layers.l2_regularizer)
    output, reg, after = store_run(ours, build, x, training, values)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reg, expected_reg, rtol=1e-5, atol=1e-7)
    for variable, value in expected_after.items():
        np.testing.assert_allclose(after[variable], value, rtol=1e-5, atol=1e-6,
                                   err_msg=variable)
