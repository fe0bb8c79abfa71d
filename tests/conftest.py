"""Test-session set-up: a private classifier cache, so that no test touches ~/.cache
and every training run's end-of-run evaluation finds a classifier without training
one for minutes. The cached classifier is trained for one epoch (a few seconds). It
and every temporary file the session makes lie in one folder, removed at the end.

The CPU is split into two logical devices before TensorFlow starts, so that
MirroredStrategy can run two replicas here (tests/training/test_distribute.py); everything
else runs on the first, as it would without the split."""
import atexit
import os
import shutil
import tempfile

# Hermetic: the suite behaves the same whatever the caller's shell holds. TensorFlow's
# log level decides which C++ lines the commands print (gan_tf's default hides them;
# a user's own setting is respected, so the tests run with gan_tf's), and every Python
# the tests start reads and writes text as UTF-8 whatever the locale.
os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
os.environ.pop("TF_NUM_INTRAOP_THREADS", None)  # TensorFlow's threads per op: its default
os.environ["PYTHONUTF8"] = "1"

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

CPU_DEVICES = 2
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration() for _ in range(CPU_DEVICES)])

# Everything the session writes outside pytest's tmp_path goes under one folder that is
# removed when the session ends: the classifier cache, and every temporary file of this
# process and of the commands it starts (TMPDIR is inherited). TensorFlow's autograph
# writes its generated code to temporary files and deletes them only at a normal exit,
# so a command a test kills would otherwise leave them in the caller's /tmp.
SCRATCH = tempfile.mkdtemp(prefix="gan_tf_tests_")
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
os.environ["TMPDIR"] = tempfile.tempdir = SCRATCH
CACHE = tempfile.mkdtemp(prefix="gan_tf_test_cache_")
os.environ["GAN_TF_CACHE"] = CACHE  # inherited by the command-line tests' subprocesses


@pytest.fixture(scope="session", autouse=True)
def quick_classifier():
    """(classifier, info) for mnist_5k, trained for one epoch into the test cache."""
    from gan_tf import data
    from gan_tf.evaluation import classifier
    return classifier.train_and_save(data.load_mnist_5k(),
                                     classifier.default_classifier_dir("mnist_5k"), epochs=1)


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A finished 10-step run of tests.helpers.run_config, shared read-only (copy it to change it)."""
    from gan_tf.training import loop
    from tests.helpers import run_config
    path = tmp_path_factory.mktemp("small_run") / "run"
    loop.train(run_config(path, max_steps=10))
    return path


@pytest.fixture(scope="session")
def short_run(tmp_path_factory):
    """A finished 6-step run of the TF1 notebook's network sizes (what legacy code loads)."""
    from gan_tf.config import TrainConfig
    from gan_tf.training import loop
    run_dir = str(tmp_path_factory.mktemp("short_run"))
    loop.train(TrainConfig(dataset="mnist_5k", output_dir=run_dir, max_steps=6, log_every=2,
                            sample_every=3, batch_size=16, eval_samples=0))
    return run_dir
