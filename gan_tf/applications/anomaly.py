"""Anomaly scores from a trained GAN (its second use): images unlike its training data first.

Up to five scores, each higher for a more anomalous image:
  discriminator  -logit D(x): how fake D finds the image (the DCGAN notebook's idea). For a
                 conditional D, of the class it finds most real.
  features       mean cosine distance, in D's last hidden layer, to the image's k (--features_k)
                 nearest training images of the run (feature matching against the normal
                 data, no search over z). The strongest here (docs/anomaly.md); the default order.
  inversion      AnoGAN (Schlegl et al. 2017): z is fitted to the image by Adam on
                 (1 - lam) * |x - G(z)|_1 + lam * |f(x) - f(G(z))|_1 (f: D's features);
                 the score is that loss at the end. Thin strokes fit better than thick ones
                 whatever their class, and a grey G(z) fits noise: the weakest (docs/anomaly.md).
                 A conditional G draws the class D finds most real; an InfoGAN G
                 (--latent_categories) the code D's Q head reads in the image.
  rotation       a run trained with --rotation_weight only (SS-GAN's head on D): the mean
                 over the image's four quarter turns of the head's cross-entropy on the turn
                 it was given (GEOM's idea, Golan & El-Yaniv 2018): the head learned to tell
                 how normal images are turned, and does worse on other images.
  combined       with the rotation head too: features + rotation, each first put in units of
                 its own spread over the run's training images ((s - mean) / std over up to
                 NORMAL_SAMPLE of them; the feature score of a training image leaves out its
                 own match), so that two scores of different scales add with equal weight.
The CSV lists every image, most anomalous first (by --rank_by): rank, index, label and the
scores; the PNG beside it shows the most anomalous images on top, the least anomalous below.

Its command line: `python -m gan_tf.anomaly` (gan_tf/commands/anomaly.py).
"""
import contextlib
import csv
import dataclasses
import io
import os

import numpy as np
import tensorflow as tf

from gan_tf import inference, randomness
from gan_tf.data import scale_images
from gan_tf.data.files import ZIP_MAGIC, check_npy_header, check_pixels
from gan_tf.errors import DataError
from gan_tf import fileio
from gan_tf.fileio import atomic_write
from gan_tf.runs import plots
from gan_tf.training import augmentations

SCORES = ("discriminator", "features", "inversion", "rotation", "combined")
BASE_SCORES = SCORES[:3]  # those every run of gan_tf's models has (the rest need the head)
HEAD_SCORES = SCORES[3:]  # those that need D's rotation head (--rotation_weight)
FEATURE_NEIGHBOURS = 5
# The combined score's standardization reads each score's mean and spread on at most this
# many of the training images (evenly spaced), so that its cost does not grow with the
# square of the training set (60,000 x 60,000 distances for full MNIST); one class of
# Fashion-MNIST or MNIST (6,000) is read whole.
NORMAL_SAMPLE = 6000


@dataclasses.dataclass(frozen=True)
class InversionOptions:
    steps: int = 200
    learning_rate: float = 0.05
    feature_weight: float = 0.1  # AnoGAN's lambda
    seed: int = 0


@contextlib.contextmanager
def each_image_alone(discriminator):
    """While scoring, D's minibatch-stddev feature (--minibatch_stddev) is taken over groups
    of one image: a score then depends on the image alone, not on its neighbours in the
    scoring batch (the feature is then about 0, as for a group of equal images)."""
    sizes = getattr(discriminator, "sizes", None) or {}
    group = sizes.get("minibatch_stddev")
    if group:
        sizes["minibatch_stddev"] = 1
    try:
        yield discriminator
    finally:
        if group:
            sizes["minibatch_stddev"] = group


def discriminator_outputs(discriminator, images, batch_size=500):
    """(scores (N,), features (N, F)): -logit of D and its last hidden layer, each image's
    its own (each_image_alone)."""
    with each_image_alone(discriminator):
        return _discriminator_outputs(discriminator, images, batch_size)


def _discriminator_outputs(discriminator, images, batch_size):

    @tf.function(input_signature=[tf.TensorSpec((None,) + images.shape[1:], tf.float32)])
    def run(x):
        h = discriminator.features(x, training=False)
        if discriminator.num_classes:  # the class D finds most real
            logits = tf.reduce_max(discriminator.logits_of_every_class(h), axis=1)
        else:
            logits = discriminator.logits_from_features(h)[1][:, 0]
        return -logits, tf.cast(h, tf.float32)

    return inference.map_batches(run, images, batch_size)


def feature_scores_from_features(features, reference, neighbours=FEATURE_NEIGHBOURS,
                                 in_reference=None, batch_size=1000):
    """Mean cosine distance (1 - cos) of each row of `features` to its `neighbours` nearest rows of
    `reference`. `in_reference` (N,) bool: rows that are themselves in `reference`,
    whose own match (the nearest) is skipped."""
    def unit(a):
        a = np.asarray(a, np.float64)
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)

    features, reference = unit(features), unit(reference)
    if len(reference) <= neighbours:
        raise ValueError(f"the feature score needs more than neighbours={neighbours} "
                         "reference images")
    skip = np.zeros(len(features), int) if in_reference is None else \
        np.asarray(in_reference, bool).astype(int)
    out = []
    for part in inference.batches(len(features), batch_size):
        d = np.sort(1.0 - features[part] @ reference.T, axis=1)[:, :neighbours + 1]
        columns = np.arange(neighbours)[None, :] + skip[part][:, None]
        out.append(np.take_along_axis(d, columns, axis=1).mean(axis=1))
    return np.concatenate(out)


def rotation_scores(discriminator, images, batch_size=500):
    """(N,): for each image, the mean over its four quarter turns k of the cross-entropy
    of D's rotation head against k (a D trained with --rotation_weight)."""
    if not getattr(discriminator, "rotations", False):
        raise ValueError("the rotation score needs a discriminator with a rotation head "
                         "(a run trained with --rotation_weight)")

    @tf.function(input_signature=[tf.TensorSpec((None,) + images.shape[1:], tf.float32)])
    def run(x):
        losses = []
        for k in range(4):
            h = discriminator.features(augmentations.rot90(x, k), training=False)
            losses.append(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.fill([tf.shape(x)[0]], k), logits=discriminator.rotation_logits(h)))
        return (tf.reduce_mean(tf.stack(losses, 1), axis=1),)

    with each_image_alone(discriminator):
        return inference.map_batches(run, images, batch_size)[0]


def available_scores(discriminator):
    """The scores a discriminator supports: without a rotation head, BASE_SCORES."""
    return SCORES if getattr(discriminator, "rotations", False) else BASE_SCORES


def standardized(scores, normal_scores):
    """`scores` in units of the normal images' own: (s - mean) / std of `normal_scores`
    (the same score of the run's training images)."""
    normal_scores = np.asarray(normal_scores, np.float64)
    return (np.asarray(scores, np.float64) - normal_scores.mean()) / max(normal_scores.std(),
                                                                         1e-12)


def normal_sample(count, size=NORMAL_SAMPLE):
    """Indices of the training images the combined score's standardization reads: all of
    them up to `size`, else `size` evenly spaced ones."""
    if count <= size:
        return np.arange(count)
    return np.linspace(0, count - 1, size).round().astype(int)


def combined_scores(features, rotation, normal_features, normal_rotation):
    """The combined score: the feature and the rotation scores, each standardized by its
    values on the normal (training) images, summed."""
    return standardized(features, normal_features) + standardized(rotation, normal_rotation)


def inversion_scores(generator, discriminator, images, z_dim, z_distribution="uniform",
                     options=InversionOptions(), batch_size=500):
    """AnoGAN residual of each image: Adam on z (one per image, in batches) for
    options.steps steps; (N,) final losses."""
    o = options
    lam, lr, b1, b2, eps = o.feature_weight, o.learning_rate, 0.9, 0.999, 1e-8

    def loss(x, fx, z, labels):
        gx, _ = generator(z, training=False, labels=labels)
        residual = tf.reduce_mean(tf.abs(x - gx), axis=[1, 2, 3])
        feature = tf.reduce_mean(tf.abs(fx - tf.cast(discriminator.features(gx), tf.float32)),
                                 axis=1)
        return (1.0 - lam) * residual + lam * feature  # (batch,)

    @tf.function(input_signature=[tf.TensorSpec((None,) + images.shape[1:], tf.float32),
                                  tf.TensorSpec([None, z_dim], tf.float32)])
    def invert(x, z0):
        h = discriminator.features(x, training=False)
        fx = tf.cast(h, tf.float32)
        labels = None
        if generator.num_classes:  # the class D finds most real
            labels = tf.argmax(discriminator.logits_of_every_class(h), axis=1,
                               output_type=tf.int32)
        elif generator.num_codes:  # the code Q reads in the image (InfoGAN)
            labels = tf.argmax(discriminator.code_logits(h), axis=1, output_type=tf.int32)

        def body(i, z, m, v):
            with tf.GradientTape() as tape:
                tape.watch(z)
                total = tf.reduce_sum(loss(x, fx, z, labels))  # images are independent
            g = tape.gradient(total, z)
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            t = tf.cast(i + 1, tf.float32)
            z = z - lr * (m / (1 - b1 ** t)) / (tf.sqrt(v / (1 - b2 ** t)) + eps)
            if z_distribution == "uniform":
                z = tf.clip_by_value(z, -1.0, 1.0)  # stay on the prior's support
            return i + 1, z, m, v

        zeros = tf.zeros_like(z0)
        _, z, _, _ = tf.while_loop(lambda i, *_: i < o.steps, body, (0, z0, zeros, zeros))
        return loss(x, fx, z, labels)
    z0 = randomness.latent_codes(len(images), z_dim, z_distribution, o.seed,
                                 randomness.INVERSION_STREAM)
    out = []
    for part in inference.batches(len(images), batch_size):
        out.append(invert(tf.constant(images[part], tf.float32), z0[part]).numpy())
    return np.concatenate(out)


def score(generator, discriminator, images, reference, z_dim, z_distribution="uniform",
          scores=None, options=InversionOptions(), in_reference=None,
          neighbours=FEATURE_NEIGHBOURS):
    """{score name: (N,) float64}: the asked-for scores (default: every one the
    discriminator supports) of `images` (N, 28, 28, 1) in [-1, 1]; the feature score
    against `reference`, the GAN's training images (`in_reference`, `neighbours`: see
    feature_scores_from_features)."""
    scores = available_scores(discriminator) if scores is None else scores
    unknown = set(scores) - set(SCORES)
    if unknown:
        raise ValueError(f"unknown scores {sorted(unknown)}; choose from {', '.join(SCORES)}")
    missing = [name for name in scores if name not in available_scores(discriminator)]
    if missing:
        raise ValueError(f"the {' and '.join(missing)} "
                         f"{'scores need' if len(missing) > 1 else 'score needs'} "
                         "a run trained with --rotation_weight (a rotation head on D)")
    result = {}
    d_scores, features = discriminator_outputs(discriminator, images)
    if "discriminator" in scores:
        result["discriminator"] = d_scores.astype(np.float64)
    if {"features", "combined"} & set(scores):
        _, ref_features = discriminator_outputs(discriminator, reference)
        result["features"] = feature_scores_from_features(features, ref_features, neighbours,
                                                          in_reference=in_reference)
    if "inversion" in scores:
        with each_image_alone(discriminator):
            result["inversion"] = inversion_scores(generator, discriminator, images, z_dim,
                                                   z_distribution, options).astype(np.float64)
    if {"rotation", "combined"} & set(scores):
        result["rotation"] = rotation_scores(discriminator, images).astype(np.float64)
    if "combined" in scores:  # the scores of (a sample of) the training images, against all
        sample = normal_sample(len(reference))
        normal_features = feature_scores_from_features(
            ref_features[sample], ref_features, neighbours,
            in_reference=np.ones(len(sample), bool))
        result["combined"] = combined_scores(result["features"], result["rotation"],
                                             normal_features,
                                             rotation_scores(discriminator, reference[sample]))
    return {name: result[name] for name in SCORES if name in scores}


def ranking(scores, rank_by):
    """Indices, most anomalous first (ties in index order)."""
    return np.argsort(-np.asarray(scores[rank_by]), kind="mergesort")


def csv_text(scores, labels, rank_by):
    """rank,index,label,<score>... rows, most anomalous (by rank_by) first."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = list(scores)
    writer.writerow(["rank", "index", "label"] + names)
    for rank, i in enumerate(ranking(scores, rank_by), start=1):
        label = "" if labels is None else int(labels[i])
        writer.writerow([rank, int(i), label] + [f"{scores[n][i]:.6g}" for n in names])
    return buf.getvalue()


def png_path(csv_path):
    return os.path.splitext(csv_path)[0] + ".png"


def write_outputs(out, images, scores, labels, rank_by, count=16, replace=True):
    """The ranked CSV, and beside it a PNG: the `count` most anomalous images (top
    rows) and the `count` least anomalous (bottom rows). `replace` false keeps a file
    that appeared at either name meanwhile (fileio.OutputAppeared)."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    atomic_write(out, csv_text(scores, labels, rank_by).encode("utf-8"), replace)
    order = ranking(scores, rank_by)
    count = max(1, min(count, len(order) // 2))
    columns = min(count, 16)
    blank = np.ones((-count % columns,) + images.shape[1:], np.float32)  # white: fills a row
    grid = np.concatenate([images[order[:count]], blank, images[order[len(order) - count:]], blank])
    plots.save_grid(grid, png_path(out), columns=columns, replace=replace)


# --- command line -------------------------------------------------------------


NPY_MAGIC = b"\x93NUMPY"


def load_images(path):
    """A .npy of (N, 28, 28[, 1]) images as float32 in [-1, 1]: floats in [-1, 1] are
    taken as they are, integer pixels 0 to 255 are scaled; anything else is a DataError."""
    try:  # one open file for the checks and the load: a file swapped in between is not read
        with fileio.open_regular(path) as f:  # not a pipe or device: it would hang
            magic = f.read(len(NPY_MAGIC))
            if not magic.startswith(NPY_MAGIC):
                kind = ("a .npz archive" if magic[:4] in ZIP_MAGIC
                        else f"a file starting with {magic!r}")
                raise DataError(f"{path}: not a .npy array ({kind}); save one with numpy.save")
            f.seek(0)
            check_npy_header(f, path, os.fstat(f.fileno()).st_size)
            f.seek(0)
            array = np.load(f, allow_pickle=False)
    except (OSError, ValueError) as e:  # unreadable, truncated, or object (pickled) arrays
        raise DataError(f"{path}: cannot read a .npy array ({e})") from None
    if array.ndim not in (3, 4) or array.shape[1:3] != (28, 28) or (
            array.ndim == 4 and array.shape[3] != 1) or not len(array):
        raise DataError(f"{path}: expected (N, 28, 28) or (N, 28, 28, 1) images, "
                        f"got shape {array.shape}")
    if array.dtype.kind in "ui":
        check_pixels(array, path)
        return scale_images(array)
    if array.dtype.kind != "f":
        raise DataError(f"{path}: images must be floats in [-1, 1] or integer pixels 0 to 255, "
                        f"not {array.dtype}")
    array = array.astype(np.float32).reshape(-1, 28, 28, 1)
    if not np.all(np.isfinite(array)) or array.min() < -1.001 or array.max() > 1.001:
        raise DataError(f"{path}: float images must be finite and lie in [-1, 1] "
                        f"(got {array.min():.3g} to {array.max():.3g}); integer pixels 0 to 255 "
                        "also work")
    return array
