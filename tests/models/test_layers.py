"""TF1-named layers: batch norm against a numpy reference in both paths (training,
inference) with the moving-average update, and transposed-convolution shapes."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf.models import layers

MOMENTUM, EPSILON = 0.9, 1e-3


def numpy_batch_norm(x, gamma, beta, mean, variance):
    return gamma * (x - mean) / np.sqrt(variance + EPSILON) + beta


def built_norm(x):
    """A BatchNorm built on x, with gamma, beta and the moving statistics set to values
    that differ per channel (so that a mixed-up axis or swapped variable shows)."""
    norm = layers.BatchNorm(MOMENTUM, EPSILON)
    norm(tf.constant(x), training=False)
    c = x.shape[-1]
    norm.gamma.assign(np.linspace(0.5, 2.0, c))
    norm.beta.assign(np.linspace(-1.0, 1.0, c))
    norm.moving_mean.assign(np.linspace(-0.3, 0.3, c))
    norm.moving_variance.assign(np.linspace(0.5, 1.5, c))
    return norm


def inputs(rank):
    shape = (16, 5) if rank == 2 else (4, 3, 3, 5)  # dense (batch, c), NHWC (fused kernel)
    rng = np.random.default_rng(rank)
    return (rng.normal(2.0, 3.0, shape) * np.linspace(0.5, 2, 5)).astype(np.float32)


@pytest.mark.parametrize("rank", [2, 4])
def test_batch_norm_training_uses_batch_statistics_and_moves_the_averages(rank):
    x = inputs(rank)
    norm = built_norm(x)
    gamma, beta = norm.gamma.numpy(), norm.beta.numpy()
    mean0, var0 = norm.moving_mean.numpy(), norm.moving_variance.numpy()
    axes = tuple(range(rank - 1))
    mean, variance = x.mean(axis=axes), x.var(axis=axes)
    y = norm(tf.constant(x), training=True)
    np.testing.assert_allclose(y, numpy_batch_norm(x, gamma, beta, mean, variance),
                               rtol=1e-4, atol=1e-4)
    # The moving variance follows the unbiased variance for images (TF1's fused kernel),
    # the biased one for dense inputs.
    count = x.size // x.shape[-1]
    followed = variance * count / (count - 1) if rank == 4 else variance
    np.testing.assert_allclose(norm.moving_mean, MOMENTUM * mean0 + (1 - MOMENTUM) * mean,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm.moving_variance,
                               MOMENTUM * var0 + (1 - MOMENTUM) * followed, rtol=1e-5)


@pytest.mark.parametrize("rank", [2, 4])
def test_batch_norm_without_update_leaves_the_averages(rank):
    x = inputs(rank)
    norm = built_norm(x)
    before = norm.moving_mean.numpy(), norm.moving_variance.numpy()
    norm(tf.constant(x), training=True, update=False)
    np.testing.assert_array_equal(norm.moving_mean, before[0])
    np.testing.assert_array_equal(norm.moving_variance, before[1])


@pytest.mark.parametrize("rank", [2, 4])
def test_batch_norm_inference_uses_the_moving_statistics(rank):
    x = inputs(rank)
    norm = built_norm(x)
    expected = numpy_batch_norm(x, norm.gamma.numpy(), norm.beta.numpy(),
                                norm.moving_mean.numpy(), norm.moving_variance.numpy())
    before = norm.moving_mean.numpy()
    np.testing.assert_allclose(norm(tf.constant(x), training=False), expected,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(norm.moving_mean, before)


@pytest.mark.parametrize("rank", [2, 4])
@pytest.mark.parametrize("graph", [False, True])
def test_batch_norm_in_bfloat16_matches_float32(rank, graph):
    """Under --mixed_precision the map is bfloat16: the output and the map's gradient keep
    its dtype, and output, moving averages and gradients agree with float32's on the same
    (bfloat16-representable) values, eagerly and in a graph."""
    x = tf.cast(tf.cast(inputs(rank), tf.bfloat16), tf.float32).numpy()
    weights = tf.constant(np.random.default_rng(0).normal(size=x.shape), tf.float32)
    results = []
    for dtype in (tf.float32, tf.bfloat16):
        norm = built_norm(x)

        def step(x_in):
            with tf.GradientTape() as tape:
                tape.watch(x_in)
                y = norm(x_in, training=True)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
            return y, tape.gradient(loss, [x_in, norm.gamma, norm.beta])
        y, grads = (tf.function(step) if graph else step)(tf.cast(x, dtype))
        assert y.dtype == dtype and grads[0].dtype == dtype
        results.append([tf.cast(t, tf.float32).numpy() for t in [y] + grads]
                       + [norm.moving_mean.numpy(), norm.moving_variance.numpy()])
    for name, want, got in zip(["y", "dx", "dgamma", "dbeta", "mean", "variance"], *results):
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, atol=0.02 * scale, err_msg=name)


def test_batch_norm_variables_have_tf1_names():
    norm = layers.BatchNorm()
    norm(tf.zeros([2, 3]), training=False)
    assert sorted(v.name for v in norm.variables) == [
        "batch_normalization/beta:0", "batch_normalization/gamma:0",
        "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    assert sorted(v.name for v in norm.trainable_variables) == [
        "batch_normalization/beta:0", "batch_normalization/gamma:0"]


@pytest.mark.parametrize("strides,kernel_size,size", [(1, 5, 7), (2, 5, 7), (2, 4, 14),
                                                      (2, 3, 5), (1, 4, 6), (3, 5, 4)])
def test_conv2d_transpose_output_is_input_size_times_strides(strides, kernel_size, size):
    layer = layers.Conv2DTranspose(6, kernel_size, strides, use_bias=False)
    y = layer(tf.random.normal([3, size, size, 4]))
    assert y.shape == (3, size * strides, size * strides, 6)
    assert tuple(layer.kernel.shape) == (kernel_size, kernel_size, 6, 4)  # TF1 layout
    # Under tf.function with an unknown batch, the shape is still known but the batch.
    fn = tf.function(layer, input_signature=[tf.TensorSpec([None, size, size, 4])])
    assert fn.get_concrete_function().structured_outputs.shape.as_list() == [
        None, size * strides, size * strides, 6]


@pytest.mark.parametrize("strides,kernel_size", [(1, 5), (1, 3), (2, 5), (1, 4)])
def test_conv2d_transpose_matches_tf_nn(strides, kernel_size):
    layer = layers.Conv2DTranspose(6, kernel_size, strides)
    x = tf.random.normal([2, 7, 7, 4])
    y = layer(x)
    expected = tf.nn.conv2d_transpose(x, layer.kernel, [2, 7 * strides, 7 * strides, 6], strides,
                                      "SAME") + layer.bias
    np.testing.assert_allclose(y, expected, atol=1e-4)


def transpose_and_gradients(fn, x, kernel, dy):
    """fn(x, kernel), and the gradients of sum(fn(x, kernel) * dy) for x and kernel."""
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = fn(x, kernel)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * dy)
    return [y] + tape.gradient(loss, [x, kernel])


@pytest.mark.parametrize("dtype,atol", [(tf.float32, 1e-4), (tf.bfloat16, 0.03)])
@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("kernel_size,channels", [(5, (4, 6)), (3, (8, 3)), (1, (5, 2))])
def test_stride1_transpose_and_both_gradients_match_conv2d_transpose(kernel_size, channels,
                                                                     graph, dtype, atol):
    """The stride-1 layer's forward-convolution form with its own gradient: the values
    and the gradients for the input and the kernel are conv2d_transpose's autodiff ones,
    eagerly and under tf.function, in float32 and bfloat16 (mixed precision)."""
    c_in, c_out = channels
    rng = np.random.default_rng(kernel_size)
    x = tf.constant(rng.normal(size=(3, 7, 7, c_in)), dtype)
    kernel = tf.constant(rng.normal(size=(kernel_size, kernel_size, c_out, c_in)), dtype)
    dy = tf.constant(rng.normal(size=(3, 7, 7, c_out)), tf.float32)
    reference = transpose_and_gradients(
        lambda x, k: tf.nn.conv2d_transpose(x, k, [3, 7, 7, c_out], 1, "SAME"), x, kernel, dy)
    fn = layers.stride1_conv2d_transpose
    got = transpose_and_gradients(tf.function(fn) if graph else fn, x, kernel, dy)
    for name, a, b in zip(("value", "input gradient", "kernel gradient"), got, reference):
        assert a.dtype == dtype, name
        scale = max(1.0, float(tf.reduce_max(tf.abs(tf.cast(b, tf.float32)))))
        np.testing.assert_allclose(tf.cast(a, tf.float32), tf.cast(b, tf.float32),
                                   atol=atol * scale, err_msg=name)


@pytest.mark.parametrize("shape", [(4, 4, 2, 3), (3, 5, 2, 3)])
def test_stride1_transpose_refuses_an_even_or_non_square_kernel(shape):
    """Where SAME padding is uneven the forward-convolution identity does not hold: such a
    kernel is refused, not answered wrongly (the layer itself uses conv2d_transpose)."""
    with pytest.raises(ValueError, match="square kernel of odd size"):
        layers.stride1_conv2d_transpose(tf.zeros([1, 6, 6, 3]), tf.zeros(shape))


def test_stride1_transpose_second_derivatives_match_conv2d_transpose():
    """A penalty on a gradient (R1-like, through the layer) differentiates the layer's
    own gradient: it gives what conv2d_transpose's autodiff gives."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(2, 5, 5, 3)), tf.float32)
    kernel = tf.Variable(rng.normal(size=(3, 3, 4, 3)).astype(np.float32))

    def penalty_gradient(fn):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.square(fn(x, kernel)))
            penalty = tf.reduce_sum(tf.square(inner.gradient(y, x)))
        return outer.gradient(penalty, kernel)

    expected = penalty_gradient(lambda x, k: tf.nn.conv2d_transpose(x, k, [2, 5, 5, 4], 1, "SAME"))
    np.testing.assert_allclose(penalty_gradient(layers.stride1_conv2d_transpose), expected,
                               rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("make,shape,kernel", [
    (lambda: layers.Dense(3), [2, 5], (5, 3)),
    (lambda: layers.Conv2D(3, 5, 2), [2, 8, 8, 4], (5, 5, 4, 3)),
    (lambda: layers.Conv2DTranspose(3, 5, 2), [2, 8, 8, 4], (5, 5, 3, 4))])
def test_linear_layers_create_kernel_and_bias_once_with_tf1_names(make, shape, kernel):
    layer = make()
    layer(tf.zeros(shape))
    variables = list(layer.variables)
    layer(tf.ones(shape))
    assert [v.ref() for v in layer.variables] == [v.ref() for v in variables]
    assert tuple(layer.kernel.shape) == kernel and tuple(layer.bias.shape) == (3,)
    assert sorted(v.name.split(":")[0].split("/")[-1] for v in variables) == ["bias", "kernel"]
    np.testing.assert_array_equal(layer.bias, np.zeros(3))
