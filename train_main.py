"""Trains a GAN: python train_main.py [--flagfile=flags/tf1_mnist.cfg] [--flag=value ...]

Flags are parsed and checked here, before TensorFlow is imported or data is
loaded; bad values exit with one line naming the flag.
"""
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter

from absl import app
from absl import flags as absl_flags

from flags import train_flags

FLAGS = absl_flags.FLAGS
PROG = os.path.basename(sys.argv[0])


def fail(message, code=1):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(code)


def parse_flags(argv):
    try:
        return FLAGS(argv)
    except absl_flags.Error as e:
        fail(e, code=2)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]} (flags are written --name=value)", code=2)
    from gan_tf.config import ConfigError
    config = train_flags.to_config(FLAGS)
    try:
        config.validate()
    except ConfigError as e:
        fail(e, code=2)
    from gan_tf import data, train  # TensorFlow is imported from here on
    logging.getLogger("gan_tf").setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.WARNING)  # TensorFlow's checkpoint chatter
    try:
        train.train(config)
    except (train.RunError, data.DataError) as e:
        fail(e)
    except KeyboardInterrupt:
        fail("interrupted; rerun the same command to resume from the last checkpoint", code=130)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
