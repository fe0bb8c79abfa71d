"""tf.train for legacy model files: tf.compat.v1.train's names (optimizers, ...); the
Saver works in a legacy script's own TF1 graph and raises TF1PortError inside a model
function under gan_tf (gan_tf.tf1.script)."""
import tensorflow as _tf

from gan_tf.tf1 import script
from gan_tf.tf1.refusals import TRAIN, refusal


def __getattr__(name):
    if name in TRAIN:  # a script's own Saver works; a network's is refused
        return script.graph_call(f"tf.train.{name}", getattr(_tf.compat.v1.train, name),
                                 refusal(f"tf.train.{name}", TRAIN[name]))
    try:
        return getattr(_tf.compat.v1.train, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
