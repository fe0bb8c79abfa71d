"""tf.contrib for legacy model files: TF2 has none; gan_tf.tf1 provides what TF1 GAN code
used most: tf.contrib.layers, tf.contrib.framework's arg_scope, and tf.contrib.slim over
both. Any other tf.contrib name is a TF1PortError that says so."""
from gan_tf.tf1.contrib import framework, layers, slim  # noqa: F401 - tf.contrib.<name>
from gan_tf.tf1.refusals import not_provided

PROVIDED = "tf.contrib.layers, tf.contrib.framework.arg_scope / add_arg_scope, tf.contrib.slim"


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise not_provided(f"tf.contrib.{name}", PROVIDED)
