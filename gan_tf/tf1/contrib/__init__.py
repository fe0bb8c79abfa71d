"""tf.contrib for legacy model files: TF2 has none; gan_tf.tf1 provides the two pieces
TF1 GAN code used most, in tf1.contrib.layers. Any other tf.contrib name is a
TF1PortError that says so."""
from gan_tf.tf1.contrib import layers
from gan_tf.tf1.refusals import not_provided

PROVIDED = ", ".join(f"tf.contrib.layers.{name}" for name in layers.__all__)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise not_provided(f"tf.contrib.{name}", PROVIDED)
