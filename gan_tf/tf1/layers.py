"""tf.layers for legacy TF1 model code, which Keras 3 removed (`tf.compat.v1.layers.dense`
"is not available with Keras 3"): TF1's functional layers with TF1's signatures,
defaults, formulas and variable names, built on `tf.compat.v1.get_variable` so that
their variables live in gan_tf.tf1's VariableStore under the names TF1 gave them
(`generator/dense/kernel`, `generator/dense_1/bias`, ...).

As in TF1, a layer without `name=` gets `dense`, `dense_1`, ... in the current variable
scope, restarting when the scope is entered again; `name=` is used as is; `reuse=True`
reuses; kernels default to get_variable's initializer (glorot uniform unless the
variable scope sets one), biases to zeros. Regularizers and constraints are refused
(TF1PortError) rather than silently ignored. Unlike TF1 the layers also run where a
layer's `training` is a Python bool in eager mode.
"""
import tensorflow as tf

from gan_tf.tf1 import seeds
from gan_tf.tf1.common import (as_pair, back, channel_size, channels_last, conv_transpose,
                               dtype_of, layer_scope, padding_name, smart_cond)
from gan_tf.tf1.normalization import batch_normalization
from gan_tf.tf1.refusals import check_options, not_provided
from gan_tf.tf1.store import get_variable

__all__ = ["average_pooling2d", "batch_normalization", "conv2d", "conv2d_transpose", "dense",
           "dropout", "flatten", "max_pooling2d"]

v1 = tf.compat.v1
ZEROS = v1.zeros_initializer()
WEIGHT_OPTIONS = dict(kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                      kernel_constraint=None, bias_constraint=None)
REGULARIZERS = ("kernel_regularizer", "bias_regularizer")  # applied (gan_tf.tf1.store)
TF1_ONLY = {"AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "BatchNormalization",
            "Conv1D", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Dense",
            "Dropout", "Flatten", "InputSpec", "Layer", "MaxPooling1D", "MaxPooling2D",
            "MaxPooling3D", "SeparableConv1D", "SeparableConv2D", "average_pooling1d",
            "average_pooling3d", "conv1d", "conv3d", "conv3d_transpose", "max_pooling1d",
            "max_pooling3d", "separable_conv1d", "separable_conv2d", "experimental"}


def __getattr__(name):
    """TF1's other tf.layers names: a TF1PortError saying they are not provided."""
    if name in TF1_ONLY:
        raise not_provided(f"tf.layers.{name}", ", ".join(__all__))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _weights(kernel_shape, units, dtype, use_bias, kernel_initializer, bias_initializer,
             trainable, regularizers):
    """The layer's `kernel` and `bias` (None without use_bias) in the current scope, with
    their regularizers ({kernel_regularizer, bias_regularizer}) recorded."""
    kernel = get_variable("kernel", kernel_shape, dtype, initializer=kernel_initializer,
                          trainable=trainable, regularizer=regularizers.get("kernel_regularizer"))
    if not use_bias:
        return kernel, None
    return kernel, get_variable("bias", [units], dtype, initializer=bias_initializer,
                                trainable=trainable,
                                regularizer=regularizers.get("bias_regularizer"))


def _regularizers(call, tf1_options):
    """The options' regularizers, taken out (applied), the rest checked against TF1's
    defaults (refused unless default)."""
    regularizers = {k: tf1_options.pop(k) for k in REGULARIZERS if k in tf1_options}
    check_options(call, tf1_options, WEIGHT_OPTIONS)
    return regularizers


def _finish(outputs, bias, activation):
    """outputs + bias, then the activation, as TF1 layers applied them."""
    if bias is not None:
        outputs = tf.nn.bias_add(outputs, bias)
    return outputs if activation is None else activation(outputs)


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=ZEROS, *, trainable=True, name=None, reuse=None, **tf1_options):
    """tf.layers.dense: activation(inputs @ kernel + bias) over the last axis, with
    variables `dense/kernel` [in, units] and `dense/bias` [units]."""
    regularizers = _regularizers("tf.layers.dense", tf1_options)
    inputs = tf.convert_to_tensor(inputs)
    with layer_scope("tf.layers.dense", name, reuse, "dense"):
        kernel, bias = _weights([channel_size(inputs, -1, "tf.layers.dense"), units],
                                units, dtype_of(inputs), use_bias, kernel_initializer,
                                bias_initializer, trainable, regularizers)
    if inputs.shape.rank == 2:
        outputs = tf.matmul(inputs, kernel)
    else:
        outputs = tf.tensordot(inputs, kernel, [[inputs.shape.rank - 1], [0]])
    return _finish(outputs, bias, activation)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
           data_format="channels_last", dilation_rate=(1, 1), activation=None, use_bias=True,
           kernel_initializer=None, bias_initializer=ZEROS, *, trainable=True, name=None,
           reuse=None, **tf1_options):
    """tf.layers.conv2d: a 2-D convolution (cross-correlation, as tf.nn.conv2d) with
    variables `conv2d/kernel` [kh, kw, in, filters] and `conv2d/bias` [filters]."""
    regularizers = _regularizers("tf.layers.conv2d", tf1_options)
    x = channels_last(tf.convert_to_tensor(inputs), data_format)
    (kh, kw), (sh, sw) = as_pair(kernel_size, "kernel_size"), as_pair(strides, "strides")
    dh, dw = as_pair(dilation_rate, "dilation_rate")
    with layer_scope("tf.layers.conv2d", name, reuse, "conv2d"):
        kernel, bias = _weights([kh, kw, channel_size(x, -1, "tf.layers.conv2d"), filters],
                                filters, dtype_of(x), use_bias, kernel_initializer,
                                bias_initializer, trainable, regularizers)
    outputs = tf.nn.conv2d(x, kernel, [1, sh, sw, 1], padding_name(padding),
                           dilations=[1, dh, dw, 1])
    return back(_finish(outputs, bias, activation), data_format)


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
                     data_format="channels_last", activation=None, use_bias=True,
                     kernel_initializer=None, bias_initializer=ZEROS, *, trainable=True,
                     name=None, reuse=None, **tf1_options):
    """tf.layers.conv2d_transpose: the gradient of conv2d (tf.nn.conv2d_transpose) with
    variables `conv2d_transpose/kernel` [kh, kw, filters, in] and `.../bias` [filters]."""
    regularizers = _regularizers("tf.layers.conv2d_transpose", tf1_options)
    x = channels_last(tf.convert_to_tensor(inputs), data_format)
    (kh, kw), (sh, sw) = as_pair(kernel_size, "kernel_size"), as_pair(strides, "strides")
    pad = padding_name(padding)
    with layer_scope("tf.layers.conv2d_transpose", name, reuse, "conv2d_transpose"):
        kernel, bias = _weights(
            [kh, kw, filters, channel_size(x, -1, "tf.layers.conv2d_transpose")], filters,
            dtype_of(x), use_bias, kernel_initializer, bias_initializer, trainable,
            regularizers)
    outputs = conv_transpose(x, kernel, filters, (kh, kw), (sh, sw), pad)
    return back(_finish(outputs, bias, activation), data_format)


def _pool(pool, inputs, pool_size, strides, padding, data_format):
    """A 2-D pooling op over windows of pool_size, moved by strides."""
    x = channels_last(tf.convert_to_tensor(inputs), data_format)
    outputs = pool(x, as_pair(pool_size, "pool_size"), as_pair(strides, "strides"),
                   padding_name(padding))
    return back(outputs, data_format)


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    """tf.layers.max_pooling2d: the maximum of each window (no variables)."""
    return _pool(tf.nn.max_pool2d, inputs, pool_size, strides, padding, data_format)


def average_pooling2d(inputs, pool_size, strides, padding="valid",
                      data_format="channels_last", name=None):
    """tf.layers.average_pooling2d: the mean of each window; with 'same' padding, of the
    window's positions inside the input (no variables)."""
    return _pool(tf.nn.avg_pool2d, inputs, pool_size, strides, padding, data_format)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """tf.layers.dropout: when `training` (default False, as in TF1), zeroes each unit
    with probability `rate` and scales the others by 1 / (1 - rate); else the identity.
    The mask comes from the step's seed under gan_tf's training (gan_tf.tf1.seeds)."""
    inputs = tf.convert_to_tensor(inputs)
    return smart_cond(training, lambda: seeds.dropout(inputs, rate, noise_shape, seed),
                      lambda: tf.identity(inputs))


def flatten(inputs, name=None, data_format="channels_last"):
    """tf.layers.flatten: (batch, ...) to (batch, features), in channels_last order."""
    inputs = tf.convert_to_tensor(inputs)
    if data_format == "channels_first" and inputs.shape.rank > 2:
        inputs = tf.transpose(inputs, [0, *range(2, inputs.shape.rank), 1])
    features = inputs.shape[1:].num_elements()
    if features is None:
        return tf.reshape(inputs, [tf.shape(inputs)[0], -1])
    return tf.reshape(inputs, [-1, features])
