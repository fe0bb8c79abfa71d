"""The CNN digit classifier: architecture, training on the training split only,
save/reload, and the command line."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, errors
from gan_tf.evaluation import classifier
from tests.helpers import ROOT


def test_architecture_is_the_digit_classifiers_with_tf1_names():
    shapes = {v.name: tuple(v.shape) for v in classifier.Classifier().variables}
    assert shapes == {
        "classifier/conv2d/kernel:0": (5, 5, 1, 32), "classifier/conv2d/bias:0": (32,),
        "classifier/conv2d_1/kernel:0": (5, 5, 32, 32), "classifier/conv2d_1/bias:0": (32,),
        "classifier/conv2d_2/kernel:0": (3, 3, 32, 64), "classifier/conv2d_2/bias:0": (64,),
        "classifier/conv2d_3/kernel:0": (3, 3, 64, 64), "classifier/conv2d_3/bias:0": (64,),
        "classifier/dense/kernel:0": (7 * 7 * 64, 256), "classifier/dense/bias:0": (256,),
        "classifier/dense_1/kernel:0": (256, 10), "classifier/dense_1/bias:0": (10,),
    }


def test_one_epoch_learns_digits_from_the_training_split_only(quick_classifier):
    model, info = quick_classifier
    five_k = data.load_mnist_5k()
    assert info["train_images"] == len(five_k.train_images) == 4000
    assert info["held_out_images"] == len(five_k.test_images) == 1000
    # Measured on the held-out split, which neither the classifier nor the GAN trains on.
    assert info["held_out_accuracy"] == pytest.approx(
        classifier.accuracy(model, five_k.test_images, five_k.test_labels))
    assert info["held_out_accuracy"] > 0.8  # chance is 0.1


def test_inference_is_deterministic_and_matches_under_tf_function(quick_classifier):
    model, _ = quick_classifier
    x = data.load_mnist_5k().test_images[:64]
    eager_logits, eager_features = model(tf.constant(x))
    logits, features = classifier.predict(model, x, batch_size=20)  # tf.function, in batches
    np.testing.assert_allclose(logits, eager_logits.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(features, eager_features.numpy(), rtol=1e-4, atol=1e-4)
    assert features.shape == (64, classifier.FEATURE_DIM) and features.min() >= 0  # post-ReLU


def test_saved_classifier_reloads_with_identical_outputs(quick_classifier, tmp_path):
    model, info = quick_classifier
    classifier.save(model, str(tmp_path), info)
    reloaded, reloaded_info = classifier.load(str(tmp_path))
    x = data.load_mnist_5k().test_images[:32]
    np.testing.assert_array_equal(classifier.predict(model, x)[0], classifier.predict(reloaded, x)[0])
    assert reloaded_info == info


def test_a_classifier_in_a_folder_with_pattern_characters_is_refused_in_one_line(
        quick_classifier, tmp_path):
    model, info = quick_classifier
    folder = tmp_path / "cls[1]"
    with pytest.raises(errors.ClassifierError, match=r"holds \[, \*, \? or a backslash"):
        classifier.save(model, str(folder), info)
    assert not folder.exists()  # refused before writing
    classifier.save(model, str(tmp_path / "plain"), info)
    os.rename(tmp_path / "plain", folder)  # moved there afterwards: loading says why it fails
    with pytest.raises(errors.ClassifierError, match=r"holds \[, \*, \? or a backslash.*move or rename"):
        classifier.load(str(folder))


def test_a_cache_under_pattern_characters_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "cache[1]"))
    with pytest.raises(errors.ClassifierError, match=r"cache\[1\].*holds.*set GAN_TF_CACHE"):
        classifier.check_available(None, "mnist_5k")


def test_saving_replaces_links_instead_of_writing_through_them(quick_classifier, tmp_path):
    """gan_tf.classifier --output_dir=D where D/classifier.index is a link elsewhere:
    TensorFlow's checkpoint writer would open the index through it."""
    import os
    model, info = quick_classifier
    outside = tmp_path / "users.index"
    outside.write_bytes(b"the user's")
    directory = tmp_path / "clf"
    directory.mkdir()
    os.symlink(outside, directory / "classifier.index")
    classifier.save(model, str(directory), info)
    assert outside.read_bytes() == b"the user's"
    assert not os.path.islink(directory / "classifier.index")
    assert sorted(os.listdir(directory)) == [
        "classifier.data-00000-of-00001", "classifier.index", classifier.INFO_FILE]
    reloaded, _ = classifier.load(str(directory))
    x = data.load_mnist_5k().test_images[:8]
    np.testing.assert_array_equal(classifier.predict(model, x)[0],
                                  classifier.predict(reloaded, x)[0])


@pytest.mark.parametrize("appeared", ["classifier.index", "classifier.json"])
def test_saving_without_replace_keeps_what_appeared_at_a_name(quick_classifier, tmp_path,
                                                              appeared):
    """The command without --overwrite checks the names at its start; one taken while it
    trained (by another program) is kept, not replaced by a rename."""
    from gan_tf import fileio
    model, info = quick_classifier
    directory = tmp_path / "clf"
    directory.mkdir()
    (directory / appeared).write_text("the user's")
    with pytest.raises(fileio.OutputAppeared, match=f"{appeared} was created"):
        classifier.save(model, str(directory), info, replace=False)
    assert (directory / appeared).read_text() == "the user's"


def test_missing_or_broken_classifier_is_a_clear_error(tmp_path):
    with pytest.raises(errors.ClassifierError, match="holds no trained classifier"):
        classifier.load(str(tmp_path))
    (tmp_path / classifier.INFO_FILE).write_text("{}")
    with pytest.raises(errors.ClassifierError, match="cannot restore"):
        classifier.load(str(tmp_path))


@pytest.mark.parametrize("what,message", [("pipe", "not a regular file"),
                                           ("huge", "bytes")])
def test_a_classifier_json_that_is_no_small_file_is_one_error_without_hanging(
        tmp_path, what, message):
    """A named pipe would block the read forever, a huge file cost its size in memory."""
    import signal

    class Hung(BaseException):  # not an OSError, which the code under test may catch
        pass

    def stuck(*_):
        raise Hung("read_info hung on the file")
    path = tmp_path / classifier.INFO_FILE
    if what == "pipe":
        os.mkfifo(path)
    else:
        path.write_bytes(b" " * (classifier.MAX_INFO_BYTES + 1))
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(10)
    try:
        with pytest.raises(errors.ClassifierError, match=message):
            classifier.read_info(str(tmp_path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_command_trains_reports_accuracy_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "clf"
    cmd = [sys.executable, "-m", "gan_tf.classifier", "--dataset=mnist_5k", f"--output_dir={out}",
           "--epochs=1"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mnist_5k: held-out accuracy" in result.stdout
    accuracy = classifier.read_info(str(out))["held_out_accuracy"]
    assert f"{100 * accuracy:.2f}%" in result.stdout
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "already holds a classifier" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr  # no TensorFlow start-up lines


def test_command_keeps_a_file_of_the_weights_name_unless_told_to_overwrite(tmp_path):
    """Only classifier.json was checked: a classifier.index of the user's (no json beside
    it) was replaced by the trained weights' index without --overwrite."""
    out = tmp_path / "clf"
    out.mkdir()
    (out / "classifier.index").write_text("the user's")
    assert "classifier.index exists; pass --overwrite" in refused_before_training(out)
    assert (out / "classifier.index").read_text() == "the user's"


def test_command_refuses_an_output_dir_it_cannot_write_before_training(tmp_path):
    (tmp_path / "a_file").write_text("the user's")
    out = tmp_path / "a_file" / "clf"
    assert "cannot write in" in refused_before_training(out)
    assert (tmp_path / "a_file").read_text() == "the user's"


def refused_before_training(out):
    """The last stderr line of `python -m gan_tf.classifier --output_dir=out`, which must
    exit 2 before training any epoch."""
    cmd = [sys.executable, "-m", "gan_tf.classifier", "--dataset=mnist_5k", f"--output_dir={out}",
           "--epochs=1"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "classifier epoch" not in result.stderr  # refused before any training
    return result.stderr.strip().splitlines()[-1]


def tiny_data():
    """64 training and 32 held-out digits of mnist_5k: a classifier trains on them in
    seconds (its default 15 epochs)."""
    full = data.load_mnist_5k()
    return data.Data("mnist_5k", full.source, full.train_images[:64], full.train_labels[:64],
                     full.test_images[:32], full.test_labels[:32])


def weights(model):
    return [v.numpy() for v in model.variables]


def test_a_process_with_other_threads_per_op_trains_the_classifier_in_a_child(
        tmp_path, monkeypatch):
    """Where ops run with other than TensorFlow's default threads (--intra_op_threads), the
    classifier is trained in a fresh process at the default threads: bitwise the one this
    process trains at them, so the scores' feature space does not depend on which run
    trained the cached classifier."""
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("bitwise equality of two trainings is a CPU property")
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "cache"))
    here, here_info = classifier.train_and_save(tiny_data(), str(tmp_path / "here"))
    monkeypatch.setattr(classifier.tf.config.threading, "get_intra_op_parallelism_threads",
                        lambda: 1)

    def not_here(*args, **kwargs):
        raise AssertionError("trained in this process")
    monkeypatch.setattr(classifier, "train_and_save", not_here)  # the child's is its own
    child, info = classifier.load_or_train(tiny_data())
    assert info["held_out_accuracy"] == here_info["held_out_accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(weights(here), weights(child)))
    assert os.path.exists(os.path.join(classifier.default_classifier_dir("mnist_5k"),
                                       classifier.INFO_FILE))


@pytest.mark.parametrize("how", ["api", "environment"])
def test_a_child_that_fails_is_one_clear_error(tmp_path, monkeypatch, how):
    """A child's failure comes back as one line naming its error (no traceback of the
    child's); TF_NUM_INTRAOP_THREADS in the environment also sends the training there."""
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(classifier.CACHE_ENV, str(blocker))  # the cache cannot be made
    if how == "api":
        monkeypatch.setattr(classifier.tf.config.threading,
                            "get_intra_op_parallelism_threads", lambda: 1)
    else:
        monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    with pytest.raises(errors.ClassifierError) as e:
        classifier.load_or_train(tiny_data())
    assert str(e.value).startswith("training the classifier for mnist_5k in a child process "
                                   "failed: NotADirectoryError: ")
    assert "\n" not in str(e.value)
