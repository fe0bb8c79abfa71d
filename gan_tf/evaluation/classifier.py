"""The CNN digit classifier: trained on a dataset's training split, saved, and
frozen as the feature space of gan_tf.evaluation.metrics.

Architecture (the DCGAN notebook's classifier): two 5x5 conv 32, 2x2 max-pool,
dropout 0.25; two 3x3 conv 64, 2x2 max-pool, dropout 0.25; dense 256 (the penultimate
features), dropout 0.5; dense 10 (softmax logits). ReLU throughout, Adam, cross-entropy.

Only the training split is used to fit it; held-out accuracy is measured on the
split that GAN training never sees either (gan_tf.data). Metrics that need a
classifier and are not given one use `default_classifier_dir(data)`, a cache
under ~/.cache/gan_tf (or $GAN_TF_CACHE), trained there on first use.

Its command line: `python -m gan_tf.classifier` (gan_tf/commands/classifier.py).
"""
import json
import logging
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from gan_tf import config_checks, data, inference
from gan_tf.errors import ClassifierError, checkpoint_errors
from gan_tf.models import layers
from gan_tf import fileio

log = logging.getLogger(__name__)

FEATURE_DIM = 256
INFO_FILE = "classifier.json"
MAX_INFO_BYTES = 1 << 20  # classifier.json is a few hundred bytes
CHECKPOINT_PREFIX = "classifier"
DEFAULT_EPOCHS = 15  # on the 4,000-digit split: about 2 min 15 s on 2 CPU cores
IMAGE_PASSES = 60000  # default training length: 15 epochs of 4,000, 2 of 60,000 (at least 2)
DEFAULT_BATCH_SIZE = 128
CACHE_ENV = "GAN_TF_CACHE"


class Classifier(tf.Module):
    """images (batch, *image_shape) in [-1, 1] -> (logits (batch, num_classes), features
    (batch, 256))."""

    def __init__(self, name="classifier", image_shape=data.IMAGE_SHAPE,
                 num_classes=data.NUM_CLASSES):
        super().__init__(name=name)
        self.image_shape = tuple(image_shape)
        names = layers.LayerNames()
        with self.name_scope:
            self.convs = [layers.Conv2D(32, 5, name=names("conv2d")),
                          layers.Conv2D(32, 5, name=names("conv2d")),
                          layers.Conv2D(64, 3, name=names("conv2d")),
                          layers.Conv2D(64, 3, name=names("conv2d"))]
            self.hidden = layers.Dense(FEATURE_DIM, name=names("dense"))
            self.out = layers.Dense(num_classes, name=names("dense"))
        self(tf.zeros((1,) + self.image_shape))  # create the variables once

    def __call__(self, images, training=False, seed=None):
        def drop(h, rate, i):
            layer_seed = None if seed is None else tf.random.experimental.stateless_fold_in(seed, i)
            return layers.dropout(h, rate, training, layer_seed)

        h = images
        for block in range(2):
            h = tf.nn.relu(self.convs[2 * block](h))
            h = tf.nn.relu(self.convs[2 * block + 1](h))
            h = drop(tf.nn.max_pool2d(h, 2, 2, "VALID"), 0.25, block)  # 28 -> 14 -> 7
        h = tf.reshape(h, (tf.shape(h)[0], int(np.prod(h.shape[1:]))))
        features = tf.nn.relu(self.hidden(h))
        logits = self.out(drop(features, 0.5, 2))
        return logits, features


def predict(classifier, images, batch_size=500):
    """(logits (N, 10), features (N, 256)) as numpy, computed in batches."""
    return inference.map_batches(_predict_fn(classifier), images, batch_size)


def _predict_fn(classifier):
    if not hasattr(classifier, "_predict"):
        classifier._predict = tf.function(
            lambda x: classifier(x, training=False),
            input_signature=[tf.TensorSpec((None,) + classifier.image_shape, tf.float32)])
    return classifier._predict


def accuracy(classifier, images, labels):
    logits, _ = predict(classifier, images)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train(train_images, train_labels, epochs=DEFAULT_EPOCHS, batch_size=DEFAULT_BATCH_SIZE,
          learning_rate=1e-3, seed=0, steps=None):
    """Fits a fresh Classifier with Adam on (images, labels); returns it. `steps`: that
    many batches instead of `epochs` (the same compute for any dataset size; a set
    smaller than a batch gives batches of the whole set)."""
    tf.random.set_seed(seed)
    classifier = Classifier(image_shape=train_images.shape[1:])
    variables = list(classifier.trainable_variables)
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    optimizer.build(variables)
    rng = tf.random.Generator.from_seed(seed)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            logits, _ = classifier(x, training=True, seed=rng.make_seeds(1)[:, 0])
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    order_rng = np.random.default_rng(seed)
    n = len(train_images)
    batch_size = min(batch_size, n)
    done, epoch = 0, 0
    while (epoch < epochs) if steps is None else (done < steps):
        t0, order, losses = time.perf_counter(), order_rng.permutation(n), []
        for start in range(0, n - batch_size + 1, batch_size):
            if steps is not None and done == steps:
                break
            idx = order[start:start + batch_size]
            losses.append(float(step(tf.constant(train_images[idx]), tf.constant(train_labels[idx]))))
            done += 1
        epoch += 1
        log.log(logging.INFO if steps is None else logging.DEBUG,  # short runs: quiet
                "classifier epoch %d/%s: loss %.4f (%.1f s)", epoch,
                epochs if steps is None else "-", np.mean(losses), time.perf_counter() - t0)
    return classifier


def save(classifier, directory, info, replace=True):
    """Writes the weights and classifier.json (dataset, accuracy, ...) to `directory`.
    With `replace` false (python -m gan_tf.classifier without --overwrite, which found
    the names free at its start) a file that appeared at one of them meanwhile is kept:
    fileio.OutputAppeared."""
    check_folder_name(directory, "save")
    with fileio.staged(directory, replace) as staging:  # TF writes .index through a link
        tf.train.Checkpoint(classifier=classifier).write(os.path.join(staging, CHECKPOINT_PREFIX))
    fileio.atomic_write(os.path.join(directory, INFO_FILE),
                        json.dumps(info, indent=2, sort_keys=True).encode("utf-8"), replace)


def check_folder_name(directory, verb):
    """ClassifierError unless TensorFlow could read the weights back from `directory`
    (config_checks.pattern_free): to `verb` ("save", "restore") them there would fail."""
    if not config_checks.pattern_free(directory):
        advice = "choose a folder without them" if verb == "save" else "move or rename the folder"
        raise ClassifierError(f"cannot {verb} the classifier in {directory}: the path "
                              f"{config_checks.PATTERN_MESSAGE}; {advice}")


def saved_files(directory):
    """The names of the weights' files (classifier.index, classifier.data-*) that exist in
    `directory` (lexists: a link counts), sorted."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(n for n in names if n == CHECKPOINT_PREFIX + ".index"
                  or n.startswith(CHECKPOINT_PREFIX + ".data-"))


def read_info(directory):
    path = os.path.join(directory, INFO_FILE)
    if not os.path.exists(path):
        raise ClassifierError(f"{directory} holds no trained classifier ({INFO_FILE} missing); "
                              "train one with python -m gan_tf.classifier")
    try:  # a small regular file: a pipe would hang the read, a huge file cost its size
        return fileio.loads_json(fileio.read_small(path, MAX_INFO_BYTES).decode("utf-8"))
    except fileio.NotSmallFile as e:
        raise ClassifierError(f"{path} is not a classifier's record ({e.why})") from None
    except (OSError, ValueError) as e:  # UnicodeDecodeError too
        raise ClassifierError(f"{path} is unreadable ({e})") from None


def load(directory):
    """(Classifier with the saved weights, its info dict) from a directory `save` wrote."""
    check_folder_name(directory, "restore")
    info = read_info(directory)
    classifier = Classifier()
    try:
        tf.train.Checkpoint(classifier=classifier).read(
            os.path.join(directory, CHECKPOINT_PREFIX)).assert_existing_objects_matched()
    except checkpoint_errors() as e:
        raise ClassifierError(f"cannot restore the classifier in {directory}: "
                              f"{str(e).splitlines()[0]}") from None
    return classifier, info


def default_epochs(num_images):
    """About IMAGE_PASSES images seen, 2 to DEFAULT_EPOCHS epochs: the same few minutes
    on the 4,000-digit subset and on a 60,000-image training split."""
    return int(max(2, min(DEFAULT_EPOCHS, round(IMAGE_PASSES / max(num_images, 1)))))


def train_and_save(data, directory, epochs=None, seed=0, replace=True):
    """Trains on data's training split, measures held-out accuracy, saves (`replace`: as
    save takes it); returns (classifier, info). A folder it could not be read back from
    is refused before training."""
    check_folder_name(directory, "save")
    t0 = time.perf_counter()
    epochs = epochs or default_epochs(len(data.train_images))
    classifier = train(data.train_images, data.train_labels, epochs=epochs, seed=seed)
    info = {"dataset": data.name, "source": data.source, "epochs": epochs, "seed": seed,
            "train_images": int(len(data.train_images)),
            "held_out_images": int(len(data.test_images)),
            "held_out_accuracy": accuracy(classifier, data.test_images, data.test_labels),
            "train_seconds": round(time.perf_counter() - t0, 1)}
    save(classifier, directory, info, replace)
    return classifier, info


def cache_root():
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "gan_tf")


def default_classifier_dir(dataset_name):
    return os.path.join(cache_root(), "classifiers", dataset_name)


def check_available(directory, dataset_name):
    """Raises ClassifierError now if `load_or_train` could not give a classifier later: a
    given directory that holds none or one that does not restore (a damaged cache is
    found before training, not after), or a cache where none is yet and none can be
    written."""
    if directory:
        _check_restores(directory)
        return
    directory = default_classifier_dir(dataset_name)
    if not config_checks.pattern_free(directory):
        raise ClassifierError(f"cannot cache a classifier for the evaluation in {directory}: "
                              f"the path {config_checks.PATTERN_MESSAGE}; set {CACHE_ENV} "
                              "to another directory, or pass --classifier_dir")
    if os.path.exists(os.path.join(directory, INFO_FILE)):
        _check_restores(directory)
        return
    try:
        fileio.check_writable(directory)
    except OSError as e:
        raise ClassifierError(f"cannot cache a classifier for the evaluation in {directory} "
                              f"({e.strerror or e}): set {CACHE_ENV} to a writable directory, "
                              "or pass --classifier_dir") from None


def _check_restores(directory):
    """Loads the classifier in `directory` and runs it once (the restore of its weights
    completes at the first call): ClassifierError if it cannot."""
    classifier, _ = load(directory)
    try:
        classifier(tf.zeros((1,) + classifier.image_shape))
    except checkpoint_errors() as e:
        raise ClassifierError(f"cannot restore the classifier in {directory}: "
                              f"{str(e).splitlines()[0]}") from None


def load_or_train(data, directory=None):
    """The classifier in `directory`; by default the cached one for data.name, trained
    (and cached) on first use. A given directory that holds none is an error."""
    if directory:
        classifier, info = load(directory)
        if info.get("dataset") != data.name:
            log.warning("Classifier in %s was trained on %s, not %s.", directory,
                        info.get("dataset"), data.name)
        return classifier, info
    directory = default_classifier_dir(data.name)
    if os.path.exists(os.path.join(directory, INFO_FILE)):
        return load(directory)
    log.info("No classifier for %s yet: training the digit classifier once (%d epochs on %d "
             "images, a few minutes on a CPU) and caching it in %s.", data.name,
             default_epochs(len(data.train_images)), len(data.train_images), directory)
    # Any TF_NUM_INTRAOP_THREADS may set the threads (the child runs without it).
    if (tf.config.threading.get_intra_op_parallelism_threads() == 0
            and not os.environ.get("TF_NUM_INTRAOP_THREADS", "").strip()):
        classifier, info = train_and_save(data, directory)
    else:
        classifier, info = _train_and_save_in_child(data, directory)
    log.info("Classifier held-out accuracy %.2f%% (%d images), trained in %.0f s.",
             100 * info["held_out_accuracy"], info["held_out_images"], info["train_seconds"])
    return classifier, info


def _train_and_save_in_child(data, directory):
    """train_and_save in a fresh Python process, for a process whose ops run with other
    than TensorFlow's default threads (--intra_op_threads, or TF_NUM_INTRAOP_THREADS): a
    CNN's weights depend on the thread count, and the cached classifier, the feature
    space of every score, must be the same whichever run trained it. The data goes to the
    child as an .npz in a private temporary directory (about 220 MB for full MNIST), its
    log lines to this process's stderr. The child ignores Ctrl-C (this process gets it and
    ends the child) and, on Linux, is ended with this process however it ends; a
    terminal's hang-up or a signal to the process group reaches both.
    Returns what `load` gives."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env.pop("TF_NUM_INTRAOP_THREADS", None)
    with tempfile.TemporaryDirectory(prefix="gan_tf_classifier_") as scratch:
        arrays, error_file = os.path.join(scratch, "data.npz"), os.path.join(scratch, "error")
        np.savez(arrays, train_images=data.train_images, train_labels=data.train_labels,
                 test_images=data.test_images, test_labels=data.test_labels)
        child = subprocess.Popen([sys.executable, "-c", _CHILD.format(package=package), arrays,
                                  data.name, data.source, directory, error_file],
                                 env=env, cwd=scratch)
        try:
            status = child.wait()
        finally:  # Ctrl-C or an error here: the child does not outlive this process
            if child.poll() is None:
                child.kill()
                child.wait()
        if status:
            ended = f"exit {status}" if status > 0 else f"killed by signal {-status}"
            try:
                with open(error_file, encoding="utf-8", errors="replace") as f:
                    why = f.read(500).strip() or ended
            except OSError:
                why = ended
            raise ClassifierError(f"training the classifier for {data.name} in a child "
                                  f"process failed: {why}")
    return load(directory)


# The child's program: this very gan_tf package imported from its folder (not whichever
# gan_tf its sys.path finds first, and without reordering sys.path), then its entry point.
_CHILD = """
import importlib.util, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
try:  # Linux: end with the parent (PR_SET_PDEATHSIG)
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)
except (OSError, AttributeError):
    pass
package = {package!r}
spec = importlib.util.spec_from_file_location(
    "gan_tf", os.path.join(package, "__init__.py"), submodule_search_locations=[package])
sys.modules["gan_tf"] = module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from gan_tf.commands.classifier import child_main
child_main()
"""


def train_in_child(argv):
    """The work of _train_and_save_in_child's child process (its entry point, with the
    command's logging, is gan_tf.commands.classifier.child_main): argv = data.npz, name,
    source, directory and the file for its one-line error (a failure exits 1 with that
    line written there)."""
    arrays, name, source, directory, error_file = argv[:5]
    try:
        with np.load(arrays, allow_pickle=False) as f:
            dataset = data.Data(name, source, f["train_images"], f["train_labels"],
                                f["test_images"], f["test_labels"])
        train_and_save(dataset, directory)
    except Exception as e:  # noqa: BLE001 - reported as one line by the parent
        with open(error_file, "w", encoding="utf-8") as f:
            f.write(" ".join(f"{type(e).__name__}: {e}".split())[:400])
        sys.exit(1)


# --- command line -------------------------------------------------------------
