"""Test-session set-up: a private classifier cache, so that no test touches ~/.cache
and every training run's end-of-run evaluation finds a classifier without training
one for minutes. The cached classifier is trained for one epoch (a few seconds).

The CPU is split into two logical devices before TensorFlow starts, so that
MirroredStrategy can run two replicas here (tests/test_distribute.py); everything
else runs on the first, as it would without the split."""
import os
import tempfile

import pytest
import tensorflow as tf

CPU_DEVICES = 2
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration() for _ in range(CPU_DEVICES)])

CACHE = tempfile.mkdtemp(prefix="gan_tf_test_cache_")
os.environ["GAN_TF_CACHE"] = CACHE  # inherited by the command-line tests' subprocesses


@pytest.fixture(scope="session", autouse=True)
def quick_classifier():
    """(classifier, info) for mnist_5k, trained for one epoch into the test cache."""
    from gan_tf import classifier, data
    return classifier.train_and_save(data.load_mnist_5k(),
                                     classifier.default_classifier_dir("mnist_5k"), epochs=1)
