"""tf.nn for legacy model files: tf.compat.v1.nn's names, with two deliberate differences.

- `dropout` draws its mask from the step's stateless seed when gan_tf's trainer gives the
  network one (gan_tf.tf1.seeds), so that a run resumes exactly; else as TF1's did.
- `conv2d_transpose` takes the output's batch size from its input, not from
  `output_shape[0]`: legacy code (DCGAN-tensorflow's `deconv2d`) writes a fixed
  `[batch_size, h, w, c]` there, and gan_tf calls a network at several batch sizes
  (training batches, samples, evaluation, export).
"""
import functools as _functools

import tensorflow as _tf

from gan_tf.tf1 import seeds as _seeds

_v1 = _tf.compat.v1.nn


@_functools.wraps(_v1.dropout)
def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """tf.compat.v1.nn.dropout, from the step's seed under gan_tf's training (gan_tf.tf1.seeds)."""
    if (keep_prob is None) == (rate is None):  # both or neither: v1's own error
        return _v1.dropout(x, keep_prob, noise_shape, seed, name, rate)
    return _seeds.dropout(_tf.convert_to_tensor(x), 1 - keep_prob if rate is None else rate,
                          noise_shape, seed, name)


@_functools.wraps(_v1.conv2d_transpose)
def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None,  # pylint: disable=redefined-builtin
                     padding="SAME", data_format="NHWC", name=None, input=None, filters=None,
                     dilations=None):
    """tf.compat.v1.nn.conv2d_transpose with output_shape[0] replaced by the input's batch
    size (a fixed batch size in legacy code would fail at any other)."""
    value = _tf.convert_to_tensor(input if value is None else value)
    batch = _tf.shape(value, out_type=_tf.int32)[:1]
    if _tf.is_tensor(output_shape):
        rest = _tf.cast(output_shape, _tf.int32)[1:]
    else:
        rest = _tf.stack([_tf.cast(n, _tf.int32) for n in list(output_shape)[1:]])
    shape = _tf.concat([batch, rest], 0)
    outputs = _v1.conv2d_transpose(value, filters if filter is None else filter, shape, strides,
                                   padding, data_format, name, dilations=dilations)
    if not _tf.is_tensor(output_shape):  # the static shape v1 gave it, but the input's batch
        outputs.set_shape([value.shape[0]] + [_tf.get_static_value(n) if _tf.is_tensor(n)
                                              else n for n in list(output_shape)[1:]])
    return outputs


def __getattr__(name):
    try:
        return getattr(_v1, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(dir(_v1)))
