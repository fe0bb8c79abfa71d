"""What tf1.layers and tf1.contrib.layers share: TF1's layer variable scopes, its
`training` switch (a Python bool or a boolean tensor) and its argument conventions."""
import contextlib

import tensorflow as tf

from gan_tf.tf1.store import check_active

v1 = tf.compat.v1


@contextlib.contextmanager
def layer_scope(call, name, reuse, default_name):
    """The variable scope a TF1 functional layer (`tf.layers.dense(...)`) creates its
    variables in: `name` as given when there is one, else `default_name` made unique in
    the current scope (dense, dense_1, ...), or `default_name` itself with reuse=True.
    `call` names the layer in the error when no VariableStore is active."""
    check_active(call)
    if name:
        scope = v1.variable_scope(name, reuse=reuse)
    elif reuse:
        scope = v1.variable_scope(default_name, reuse=reuse)
    else:
        scope = v1.variable_scope(None, default_name=default_name)
    with scope as entered:
        yield entered


def smart_cond(training, if_true, if_false):
    """if_true() or if_false() as `training` says: a Python decision when its value is
    known (a bool, or a tensor with a value), tf.cond when it is only known at run time."""
    if isinstance(training, (tf.Tensor, tf.Variable)):
        value = tf.get_static_value(tf.convert_to_tensor(training))
        if value is None:
            return tf.cond(tf.cast(training, tf.bool), if_true, if_false)
        training = value
    return if_true() if bool(training) else if_false()


def as_pair(value, what):
    """An int or a pair of ints (kernel_size, strides, pool_size) as a pair, as TF1 took it."""
    pair = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, not {value!r}")
    return pair


def padding_name(padding):
    """TF1's 'same' / 'valid' (any case) as tf.nn's 'SAME' / 'VALID'."""
    name = str(padding).upper()
    if name not in ("SAME", "VALID"):
        raise ValueError(f"padding must be 'same' or 'valid', not {padding!r}")
    return name


def channels_last(inputs, data_format):
    """`inputs` in NHWC (transposed from NCHW for data_format='channels_first', which
    TensorFlow's CPU convolutions do not take); `back` undoes it."""
    if data_format == "channels_last":
        return inputs
    if data_format != "channels_first":
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', "
                         f"not {data_format!r}")
    return tf.transpose(inputs, [0, 2, 3, 1])


def back(outputs, data_format):
    """NHWC `outputs` in the caller's data_format."""
    return outputs if data_format == "channels_last" else tf.transpose(outputs, [0, 3, 1, 2])


def dtype_of(inputs):
    """The dtype a TF1 layer gave its variables: its input's."""
    return inputs.dtype.base_dtype


def transposed_length(length, kernel, stride, padding):
    """The output length of a transposed convolution, as TF1 computed it: length * stride
    for 'SAME', length * stride + max(kernel - stride, 0) for 'VALID'."""
    if padding == "SAME":
        return length * stride
    return length * stride + max(kernel - stride, 0)


def conv_transpose(x, kernel, filters, kernel_size, strides, padding):
    """The transposed convolution of NHWC `x` as TF1's layers computed it: the output's
    batch size and (when unknown) height and width taken from `x` at run time, its
    static shape set where known."""
    (kh, kw), (sh, sw) = kernel_size, strides
    dynamic = tf.shape(x)
    height, width = (x.shape[i] if x.shape[i] is not None else dynamic[i] for i in (1, 2))
    size = [transposed_length(height, kh, sh, padding),
            transposed_length(width, kw, sw, padding)]
    outputs = tf.nn.conv2d_transpose(x, kernel, tf.stack([dynamic[0], *size, filters]),
                                     [1, sh, sw, 1], padding)
    outputs.set_shape([x.shape[0]] + [s if isinstance(s, int) else None for s in size]
                      + [filters])
    return outputs


def channel_size(inputs, axis, call):
    """The size of the input axis a layer's kernel spans; TF1's error when unknown."""
    size = inputs.shape[axis]
    if size is None:
        raise ValueError(f"{call}: the input's channel dimension must be known, "
                         f"got shape {inputs.shape}")
    return int(size)
