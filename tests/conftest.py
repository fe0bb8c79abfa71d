"""Test-session set-up: a private classifier cache, so that no test touches ~/.cache
and every training run's end-of-run evaluation finds a classifier without training
one for minutes. The cached classifier is trained for one epoch (a few seconds)."""
import os
import tempfile

import pytest

CACHE = tempfile.mkdtemp(prefix="gan_tf_test_cache_")
os.environ["GAN_TF_CACHE"] = CACHE  # inherited by the command-line tests' subprocesses


@pytest.fixture(scope="session", autouse=True)
def quick_classifier():
    """(classifier, info) for mnist_5k, trained for one epoch into the test cache."""
    from gan_tf import classifier, data
    return classifier.train_and_save(data.load_mnist_5k(),
                                     classifier.default_classifier_dir("mnist_5k"), epochs=1)
