"""gan_tf: TF1-style GANs (explicit generator/discriminator scopes, a loss module,
separate optimizers over scope-filtered variables) in TensorFlow 2 with tf.function."""
from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError

from gan_tf import _moved

_moved.install()  # the module paths of 0.2 (gan_tf.trainer, ...), for one version
__all__ = ["ConfigError", "TrainConfig"]
__version__ = "0.3.23"
