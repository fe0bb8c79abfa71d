"""tf.train for legacy model files: tf.compat.v1.train's names (optimizers, ...),
except those that cannot work under gan_tf (Saver), which raise TF1PortError."""
import tensorflow as _tf

from gan_tf.tf1.refusals import TRAIN, refusal


def __getattr__(name):
    if name in TRAIN:
        return refusal(f"tf.train.{name}", TRAIN[name])
    try:
        return getattr(_tf.compat.v1.train, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
