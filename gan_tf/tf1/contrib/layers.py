"""tf.contrib.layers' batch_norm and initializers, as the DCGAN-tensorflow style of TF1
GAN code used them, with TF1's signatures, defaults and variable names."""
import math

import tensorflow as tf

from gan_tf.tf1 import normalization
from gan_tf.tf1.refusals import check_options, not_provided
from gan_tf.tf1.store import check_active

__all__ = ["batch_norm", "l1_regularizer", "l2_regularizer", "variance_scaling_initializer",
           "xavier_initializer"]

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
    unique). The moving statistics are updated in the training forward pass whatever
    `updates_collections` says (None, as DCGAN-tensorflow passes, did the same in TF1);
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
                                      bessel)
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
