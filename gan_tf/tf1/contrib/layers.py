"""tf.contrib.layers (and so slim's layers) with TF1's signatures, defaults and variable
names: `fully_connected` (`fully_connected/weights`, `biases`), `conv2d` (`Conv/...`),
`conv2d_transpose` (`Conv2d_transpose/...`), `linear`, `flatten`, `dropout`, the pools,
`batch_norm`, `layer_norm`, the regularizers and initializers. Each layer function takes
defaults from `arg_scope` (gan_tf.tf1.contrib.framework), as TF1's did. Like TF1, a
layer given a `normalizer_fn` has no biases and calls the normalizer inside its own
variable scope (`Conv/BatchNorm/...`). `variables_collections` and
`outputs_collections` only fed graph collections: accepted, and ignored.
"""
import functools
import math

import tensorflow as tf

from gan_tf.tf1 import normalization, seeds
from gan_tf.tf1.common import (as_pair, back, channel_size, channels_last, conv_transpose,
                               padding_name, smart_cond)
from gan_tf.tf1.contrib.framework import add_arg_scope
from gan_tf.tf1.refusals import check_options, not_provided
from gan_tf.tf1.store import check_active, get_variable

__all__ = ["avg_pool2d", "batch_norm", "conv2d", "conv2d_transpose", "convolution2d",
           "convolution2d_transpose", "dropout", "flatten", "fully_connected",
           "l1_regularizer", "l2_regularizer", "layer_norm", "linear", "max_pool2d",
           "variance_scaling_initializer", "xavier_initializer"]

v1 = tf.compat.v1
BATCH_NORM_OPTIONS = dict(param_regularizers=None, batch_weights=None,
                          zero_debias_moving_mean=False, renorm=False, adjustment=None)
INITIALIZERS = dict(beta=v1.zeros_initializer(), gamma=v1.ones_initializer(),
                    moving_mean=v1.zeros_initializer(), moving_variance=v1.ones_initializer())


def __getattr__(name):
    """TF1's other tf.contrib.layers names: a TF1PortError saying they are not provided."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise not_provided(f"tf.contrib.layers.{name}", ", ".join(__all__))


@add_arg_scope
def batch_norm(inputs, decay=0.999, center=True, scale=False, epsilon=0.001,
               activation_fn=None, param_initializers=None, param_regularizers=None,
               updates_collections=v1.GraphKeys.UPDATE_OPS, is_training=True, reuse=None,
               variables_collections=None, outputs_collections=None, trainable=True,
               batch_weights=None, fused=None, data_format="NHWC",
               zero_debias_moving_mean=False, scope=None, renorm=False,
               renorm_clipping=None, renorm_decay=0.99, adjustment=None):
    """tf.contrib.layers.batch_norm: TF1 contrib's defaults (decay 0.999, epsilon 1e-3,
    scale=False: no gamma, center=True, is_training=True), variables `BatchNorm/beta`,
    `gamma`, `moving_mean`, `moving_variance` under `scope` (default `BatchNorm`, made
    unique). Under gan_tf the moving statistics are updated in the training forward pass
    whatever `updates_collections` says; in a legacy script's TF1 graph the update ops go
    into `updates_collections`, or with None run with the output, as in TF1;
    `variables_collections` and `outputs_collections` only fed graph collections and
    are ignored. `renorm_clipping` / `renorm_decay` only mattered with renorm."""
    check_options("tf.contrib.layers.batch_norm",
                  dict(param_regularizers=param_regularizers, batch_weights=batch_weights,
                       zero_debias_moving_mean=zero_debias_moving_mean, renorm=renorm,
                       adjustment=adjustment), BATCH_NORM_OPTIONS)
    inputs = tf.convert_to_tensor(inputs)
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', not {data_format!r}")
    axis = 1 if data_format == "NCHW" else -1
    axis = normalization.channel_axis(inputs, axis, "tf.contrib.layers.batch_norm")
    initializers = {**INITIALIZERS, **(param_initializers or {})}
    initializers = {key: value for key, value in initializers.items()
                    if (key != "gamma" or scale) and (key != "beta" or center)}
    check_active("tf.contrib.layers.batch_norm")
    with v1.variable_scope(scope, "BatchNorm", reuse=reuse):
        variables = normalization.create(inputs.shape[axis], inputs.dtype.base_dtype,
                                         initializers, trainable, order=("beta", "gamma"))
    bessel = fused is not False and inputs.shape.rank in (2, 4)
    outputs = normalization.normalize(inputs, axis, variables, decay, epsilon, is_training,
                                      bessel, updates_collections)
    return outputs if activation_fn is None else activation_fn(outputs)


class _VarianceScaling:
    """contrib's variance-scaling initializer: uniform on +-sqrt(3 * factor / n), or a
    normal truncated at two standard deviations with stddev sqrt(1.3 * factor / n), where
    n is the kernel's fan in, fan out or their mean (each times the receptive field)."""

    def __init__(self, factor, mode, uniform, seed, dtype):
        if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
            raise TypeError(f"Unknown mode {mode} [FAN_IN, FAN_OUT, FAN_AVG]")
        if not tf.as_dtype(dtype).is_floating:
            raise TypeError("Cannot create initializer for non-floating point type.")
        self.factor, self.mode, self.uniform = float(factor), mode, uniform
        self.seed, self.dtype = seed, tf.as_dtype(dtype)

    def fans(self, shape):
        """(fan_in, fan_out) of a kernel of this shape, as contrib computed them."""
        fan_in = float(shape[-2]) if len(shape) > 1 else float(shape[-1]) if shape else 1.0
        fan_out = float(shape[-1]) if shape else 1.0
        field = math.prod(shape[:-2]) if len(shape) > 2 else 1
        return fan_in * field, fan_out * field

    def __call__(self, shape, dtype=None, partition_info=None):
        shape = [int(d) for d in shape]
        fan_in, fan_out = self.fans(shape)
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}
        dtype = tf.as_dtype(dtype or self.dtype)
        if self.uniform:
            limit = math.sqrt(3.0 * self.factor / n[self.mode])
            return tf.random.uniform(shape, -limit, limit, dtype, seed=self.seed)
        stddev = math.sqrt(1.3 * self.factor / n[self.mode])
        return tf.random.truncated_normal(shape, 0.0, stddev, dtype, seed=self.seed)


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None,
                                 dtype=tf.float32):
    """tf.contrib.layers.variance_scaling_initializer (He et al. by default)."""
    return _VarianceScaling(factor, mode, uniform, seed, dtype)


def xavier_initializer(uniform=True, seed=None, dtype=tf.float32):
    """tf.contrib.layers.xavier_initializer: glorot uniform, limit sqrt(6 / (fan_in +
    fan_out)), or with uniform=False truncated normal, stddev sqrt(2.6 / (fan_in +
    fan_out)), as contrib drew it."""
    return _VarianceScaling(1.0, "FAN_AVG", uniform, seed, dtype)


def _regularizer_scale(scale, name):
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise ValueError(f"{name}: scale must be a number, not {scale!r}")
    if scale < 0.0:
        raise ValueError(f"{name}: scale cannot be negative ({scale})")
    return float(scale)


def l2_regularizer(scale, scope=None):
    """tf.contrib.layers.l2_regularizer: weights -> scale * sum(weights ** 2) / 2
    (tf.nn.l2_loss); a scale of 0 gives None, no term, as TF1's did."""
    scale = _regularizer_scale(scale, "l2_regularizer")
    if scale == 0.0:
        return lambda weights: None

    def l2(weights):
        return tf.multiply(scale, tf.nn.l2_loss(weights), name=scope or "l2_regularizer")
    return l2


def l1_regularizer(scale, scope=None):
    """tf.contrib.layers.l1_regularizer: weights -> scale * sum(|weights|); a scale of 0
    gives None, no term, as TF1's did."""
    scale = _regularizer_scale(scale, "l1_regularizer")
    if scale == 0.0:
        return lambda weights: None

    def l1(weights):
        return tf.multiply(scale, tf.reduce_sum(tf.abs(weights)), name=scope or "l1_regularizer")
    return l1


# --- the layers ----------------------------------------------------------------------

ZEROS = tf.compat.v1.zeros_initializer()


def _weights(call, kernel_shape, units, dtype, weights_initializer, weights_regularizer,
             biases_initializer, biases_regularizer, normalizer_fn, trainable):
    """`weights` and `biases` (None with a normalizer_fn or no biases_initializer, as
    TF1's `use_bias=not normalizer_fn and biases_initializer`) in the current scope."""
    check_active(call)
    weights = get_variable("weights", kernel_shape, dtype, initializer=weights_initializer,
                           regularizer=weights_regularizer, trainable=trainable)
    if normalizer_fn is not None or biases_initializer is None:
        return weights, None
    return weights, get_variable("biases", [units], dtype, initializer=biases_initializer,
                                 regularizer=biases_regularizer, trainable=trainable)


def _finish(outputs, biases, normalizer_fn, normalizer_params, activation_fn):
    """Biases, then the normalizer (inside the layer's scope), then the activation."""
    if biases is not None:
        outputs = tf.nn.bias_add(outputs, biases)
    if normalizer_fn is not None:
        outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    return outputs if activation_fn is None else activation_fn(outputs)


def _num_outputs(call, num_outputs):
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int):
        raise ValueError(f"{call}: num_outputs should be an int, got {num_outputs!r}")
    return num_outputs


@add_arg_scope
def fully_connected(inputs, num_outputs, activation_fn=tf.nn.relu, normalizer_fn=None,
                    normalizer_params=None, weights_initializer=xavier_initializer(),
                    weights_regularizer=None, biases_initializer=ZEROS,
                    biases_regularizer=None, reuse=None, variables_collections=None,
                    outputs_collections=None, trainable=True, scope=None):
    """tf.contrib.layers.fully_connected: activation(normalizer(x @ weights + biases)) over
    the last axis, ReLU by default; variables `fully_connected/weights` [in, out] and
    `fully_connected/biases` [out] (`fully_connected_1`, ... for the next ones)."""
    call = "tf.contrib.layers.fully_connected"
    num_outputs = _num_outputs(call, num_outputs)
    inputs = tf.convert_to_tensor(inputs)
    with tf.compat.v1.variable_scope(scope, "fully_connected", reuse=reuse):
        weights, biases = _weights(call, [channel_size(inputs, -1, call), num_outputs], num_outputs,
                                   inputs.dtype.base_dtype, weights_initializer,
                                   weights_regularizer, biases_initializer,
                                   biases_regularizer, normalizer_fn, trainable)
        if inputs.shape.rank == 2:
            outputs = tf.matmul(inputs, weights)
        else:
            outputs = tf.tensordot(inputs, weights, [[inputs.shape.rank - 1], [0]])
        return _finish(outputs, biases, normalizer_fn, normalizer_params, activation_fn)


linear = functools.partial(fully_connected, activation_fn=None)  # as TF1 defined it


def _nhwc(inputs, data_format, call):
    """NHWC `inputs` (contrib's data_format names: None or NHWC, NCHW); _back undoes it."""
    if data_format not in (None, "NHWC", "NCHW"):
        raise ValueError(f"{call}: data_format must be NHWC or NCHW, not {data_format!r}")
    return channels_last(inputs, _KERAS_FORMAT[data_format])


def _back(outputs, data_format):
    return back(outputs, _KERAS_FORMAT[data_format])


_KERAS_FORMAT = {None: "channels_last", "NHWC": "channels_last", "NCHW": "channels_first"}


@add_arg_scope
def convolution2d(inputs, num_outputs, kernel_size, stride=1, padding="SAME",
                  data_format=None, rate=1, activation_fn=tf.nn.relu, normalizer_fn=None,
                  normalizer_params=None, weights_initializer=xavier_initializer(),
                  weights_regularizer=None, biases_initializer=ZEROS, biases_regularizer=None,
                  reuse=None, variables_collections=None, outputs_collections=None,
                  trainable=True, scope=None):
    """tf.contrib.layers.conv2d (= convolution2d): a 2-D convolution, 'SAME' padding and
    ReLU by default, `rate` its dilation; variables `Conv/weights` [kh, kw, in, out] and
    `Conv/biases` [out] (`Conv_1`, ... for the next ones)."""
    call = "tf.contrib.layers.conv2d"
    num_outputs = _num_outputs(call, num_outputs)
    x = _nhwc(tf.convert_to_tensor(inputs), data_format, call)
    (kh, kw), (sh, sw) = as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride")
    dh, dw = as_pair(rate, "rate")
    with tf.compat.v1.variable_scope(scope, "Conv", reuse=reuse):
        weights, biases = _weights(call, [kh, kw, channel_size(x, -1, call), num_outputs],
                                   num_outputs, x.dtype.base_dtype, weights_initializer,
                                   weights_regularizer, biases_initializer,
                                   biases_regularizer, normalizer_fn, trainable)
        outputs = tf.nn.conv2d(x, weights, [1, sh, sw, 1], padding_name(padding),
                               dilations=[1, dh, dw, 1])
        if biases is not None:
            outputs = tf.nn.bias_add(outputs, biases)
        outputs = _back(outputs, data_format)
        return _finish(outputs, None, normalizer_fn, normalizer_params, activation_fn)


conv2d = convolution2d  # one function, as in TF1 (an arg_scope over either covers both)


@add_arg_scope
def convolution2d_transpose(inputs, num_outputs, kernel_size, stride=1, padding="SAME",
                            data_format="NHWC", activation_fn=tf.nn.relu, normalizer_fn=None,
                            normalizer_params=None, weights_initializer=xavier_initializer(),
                            weights_regularizer=None, biases_initializer=ZEROS,
                            biases_regularizer=None, reuse=None, variables_collections=None,
                            outputs_collections=None, trainable=True, scope=None):
    """tf.contrib.layers.conv2d_transpose (= convolution2d_transpose): the transpose of a
    2-D convolution, 'SAME' padding and ReLU by default, output size input x stride;
    variables `Conv2d_transpose/weights` [kh, kw, out, in] and `.../biases` [out]."""
    call = "tf.contrib.layers.conv2d_transpose"
    num_outputs = _num_outputs(call, num_outputs)
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"{call}: data_format has to be either NCHW or NHWC")
    x = _nhwc(tf.convert_to_tensor(inputs), data_format, call)
    (kh, kw), (sh, sw) = as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride")
    pad = padding_name(padding)
    with tf.compat.v1.variable_scope(scope, "Conv2d_transpose", reuse=reuse):
        weights, biases = _weights(call, [kh, kw, num_outputs, channel_size(x, -1, call)],
                                   num_outputs, x.dtype.base_dtype, weights_initializer,
                                   weights_regularizer, biases_initializer,
                                   biases_regularizer, normalizer_fn, trainable)
        outputs = conv_transpose(x, weights, num_outputs, (kh, kw), (sh, sw), pad)
        if biases is not None:
            outputs = tf.nn.bias_add(outputs, biases)
        outputs = _back(outputs, data_format)
        return _finish(outputs, None, normalizer_fn, normalizer_params, activation_fn)


conv2d_transpose = convolution2d_transpose


@add_arg_scope
def flatten(inputs, outputs_collections=None, scope=None):
    """tf.contrib.layers.flatten: (batch, ...) to (batch, features)."""
    inputs = tf.convert_to_tensor(inputs)
    features = inputs.shape[1:].num_elements()
    if features is None:
        return tf.reshape(inputs, [tf.shape(inputs)[0], -1])
    return tf.reshape(inputs, [-1, features])


@add_arg_scope
def dropout(inputs, keep_prob=0.5, noise_shape=None, is_training=True,
            outputs_collections=None, scope=None, seed=None):
    """tf.contrib.layers.dropout: keeps each unit with probability `keep_prob` (scaled by
    1 / keep_prob) when `is_training` (True by default, unlike tf.layers.dropout); the mask
    from the step's seed under gan_tf's training (gan_tf.tf1.seeds)."""
    inputs = tf.convert_to_tensor(inputs)
    return smart_cond(is_training,
                      lambda: seeds.dropout(inputs, 1.0 - keep_prob, noise_shape, seed),
                      lambda: tf.identity(inputs))


def _pool(pool, inputs, kernel_size, stride, padding, data_format, call):
    x = _nhwc(tf.convert_to_tensor(inputs), data_format, call)
    outputs = pool(x, as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride"),
                   padding_name(padding))
    return _back(outputs, data_format)


@add_arg_scope
def max_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format="NHWC",
               outputs_collections=None, scope=None):
    """tf.contrib.layers.max_pool2d: stride 2 and 'VALID' padding by default."""
    return _pool(tf.nn.max_pool2d, inputs, kernel_size, stride, padding, data_format,
                 "tf.contrib.layers.max_pool2d")


@add_arg_scope
def avg_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format="NHWC",
               outputs_collections=None, scope=None):
    """tf.contrib.layers.avg_pool2d: stride 2 and 'VALID' padding by default."""
    return _pool(tf.nn.avg_pool2d, inputs, kernel_size, stride, padding, data_format,
                 "tf.contrib.layers.avg_pool2d")


@add_arg_scope
def layer_norm(inputs, center=True, scale=True, activation_fn=None, reuse=None,
               variables_collections=None, outputs_collections=None, trainable=True,
               begin_norm_axis=1, begin_params_axis=-1, scope=None):
    """tf.contrib.layers.layer_norm: each example normalized over the axes from
    `begin_norm_axis` on (epsilon 1e-12), then `gamma` * x + `beta` of the shape of the
    axes from `begin_params_axis` on; variables `LayerNorm/beta`, `LayerNorm/gamma`."""
    call = "tf.contrib.layers.layer_norm"
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None:
        raise ValueError(f"{call}: inputs have undefined rank")
    begin_norm_axis = begin_norm_axis + rank if begin_norm_axis < 0 else begin_norm_axis
    if begin_params_axis >= rank or begin_norm_axis >= rank:
        raise ValueError(f"{call}: begin_params_axis ({begin_params_axis}) and "
                         f"begin_norm_axis ({begin_norm_axis}) must be < rank ({rank})")
    params_shape = inputs.shape[begin_params_axis:]
    if not params_shape.is_fully_defined():
        raise ValueError(f"{call}: inputs {inputs.shape}: the parameters' shape "
                         f"{params_shape} is not fully defined")
    dtype = inputs.dtype.base_dtype
    check_active(call)
    with tf.compat.v1.variable_scope(scope, "LayerNorm", reuse=reuse):
        beta = get_variable("beta", params_shape, dtype, initializer=ZEROS,
                            trainable=trainable) if center else None
        gamma = get_variable("gamma", params_shape, dtype,
                             initializer=tf.compat.v1.ones_initializer(),
                             trainable=trainable) if scale else None
        mean, variance = tf.nn.moments(inputs, list(range(begin_norm_axis, rank)),
                                       keepdims=True)
        epsilon = 1e-3 if dtype == tf.float16 else 1e-12
        outputs = tf.nn.batch_normalization(inputs, mean, variance, beta, gamma, epsilon)
        outputs.set_shape(inputs.shape)
        return outputs if activation_fn is None else activation_fn(outputs)
