"""The training command: python train_main.py or gan-tf-train [--flagfile=flags/tf1_mnist.cfg]
[--flag=value ...].

Flags are parsed and checked here, before TensorFlow is imported or data is loaded;
bad values exit with one line naming the flag. The library (gan_tf.training.loop.train) takes
the frozen TrainConfig the flags become.
"""
import os
import sys

from absl import flags as absl_flags

from gan_tf.commands import common
from gan_tf.commands import train_flags
from gan_tf.errors import ConfigError, DataError, LogFileError, PortingError, RunError

FLAGS = absl_flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise common.UsageError(f"unexpected arguments {argv[1:]} (flags are written --name=value)")
    config = train_flags.to_config(FLAGS)
    try:
        config.validate()
        config.check_paths()
    except ConfigError as e:
        raise common.UsageError(e) from None
    if config.model == "tf1":  # --generator_fn's MODULE may be in the working directory
        sys.path.insert(0, os.getcwd())
    if FLAGS.tf_log:
        common.show_tensorflow_log()
    from gan_tf.training import loop  # TensorFlow is imported from here on
    loop.train(config)


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (RunError, DataError, PortingError, LogFileError)


def run():
    """The console script's entry point (gan-tf-train)."""
    common.run(main, user_errors=USER_ERRORS)
