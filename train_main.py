"""Trains a GAN: python train_main.py [--flagfile=flags/tf1_mnist.cfg] [--flag=value ...]

The command lives in gan_tf/commands/train.py (also installed as gan-tf-train); this
file keeps `python train_main.py` working from a clone.
"""
from gan_tf.commands import common  # noqa: F401 - first: it quiets TensorFlow's start-up
from gan_tf.commands.train import USER_ERRORS, main, run  # noqa: F401 - main, USER_ERRORS: tests

if __name__ == "__main__":
    run()
