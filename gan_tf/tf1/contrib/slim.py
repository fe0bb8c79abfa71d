"""tf.contrib.slim (`slim = tf.contrib.slim`) for legacy model files: slim's layers are
tf.contrib.layers' (gan_tf.tf1.contrib.layers) and its arg_scope tf.contrib.framework's,
as in TF1. Any other slim name is refused in one line."""
from gan_tf.tf1.contrib.framework import add_arg_scope, arg_scope, current_arg_scope, has_arg_scope
from gan_tf.tf1.contrib.layers import (avg_pool2d, batch_norm, conv2d, conv2d_transpose,
                                       convolution2d, convolution2d_transpose, dropout, flatten,
                                       fully_connected, l1_regularizer, l2_regularizer,
                                       layer_norm, linear, max_pool2d,
                                       variance_scaling_initializer, xavier_initializer)
from gan_tf.tf1.refusals import not_provided

__all__ = ["add_arg_scope", "arg_scope", "avg_pool2d", "batch_norm", "conv2d",
           "conv2d_transpose", "convolution2d", "convolution2d_transpose", "current_arg_scope",
           "dropout", "flatten", "fully_connected", "has_arg_scope", "l1_regularizer",
           "l2_regularizer", "layer_norm", "linear", "max_pool2d",
           "variance_scaling_initializer", "xavier_initializer"]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise not_provided(f"tf.contrib.slim.{name}", ", ".join(__all__))
