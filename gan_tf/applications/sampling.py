"""Draws samples from a trained generator and writes them as .npy plus a PNG grid.

With the run's --seed (0 unless the run set one) the first --num_samples of the run
(16 by default) are the run's last fixed-z sample grid, image for image (computed in
float32: a run that computed in bfloat16 drew its grid to bfloat16's rounding, about 1e-3
for the MLP, a few 1e-3 for a DCGAN).

The .npy holds float32 images in [-1, 1] shaped (N, 28, 28); the grid of the first
GRID_MAX of them is written beside it with the extension .png, and a latent-interpolation grid as
<out>_interpolation.png: each row walks in a straight line from one random z to
another (to show what directions of the latent space come to mean).
From a conditional run (--conditional) without --label the samples cycle
through the classes 0..9 and the grid has one class per column; the
interpolation rows keep one class each. From an InfoGAN run (--latent_categories) the
codes are drawn at random with the latent codes' seed (the run's grid again, with its
seed), and --label=k draws code k: a value of G's code, whatever G made it mean, not a
class. A request that would need more memory than
the machine has is refused before anything is generated.

Its command line: `python -m gan_tf.sample` (gan_tf/commands/sample.py).
"""
import io
import os

import numpy as np

from gan_tf import inference, models, randomness
from gan_tf.errors import SampleSizeError
from gan_tf.fileio import atomic_write
from gan_tf.runs import plots

GRID_MAX = 1000  # images in the PNG grid; a larger one costs ~0.4 MB of memory an image
CHUNK_BYTES = 64 << 20  # z of one generator call at most (fewer samples per call for a huge z_dim)
IMAGE_BYTES = 28 * 28 * 4
GRID_CELL_BYTES = (29 * 3) ** 2 * 48  # a 3x-scaled cell of a PNG grid, with matplotlib's RGBA floats


def class_labels(generator, n, label=None, seed=0, stream=None, prior=None):
    """Labels of n samples: None for an unconditional generator; else all `label`, or
    for a conditional one 0, 1, ..., 9, 0, ... (a grid with one class per column), for
    an InfoGAN one codes drawn at random for the latent codes of (seed, stream), from
    `prior` (a --code_prior=learned run's, gan_tf.evaluation.code_prior) or uniformly."""
    classes, codes = generator.num_classes, getattr(generator, "num_codes", 0)  # any callable
    if (classes or codes) and label is not None:
        return np.full(n, label, np.int32)
    if codes:
        return randomness.random_codes(n, codes, seed, stream or randomness.GRID_STREAM, prior)
    return models.grid_labels(n, classes)


def _generate(generator, z, labels):
    """generator(z), with labels only for a conditional or InfoGAN one (any callable taking
    z works)."""
    if labels is None:
        return generator(z, training=False)
    return generator(z, training=False, labels=labels)


def chunk_size(z_dim, batch_size=1000):
    """Samples per generator call: batch_size, fewer when z_dim is so large that one
    call's z would exceed CHUNK_BYTES."""
    return max(1, min(batch_size, CHUNK_BYTES // (4 * z_dim)))


def memory_needed(num_samples, z_dim, first_width=0, grid_images=0):
    """Rough peak bytes of drawing and saving: the images three times over (the chunks,
    their concatenation, the .npy buffer), the PNG grids, the z of every sample and of
    a chunk, the z of the interpolation grid, and the generator's first kernel
    (z_dim x first_width) twice (built, then restored)."""
    chunk = min(num_samples, chunk_size(z_dim))
    return (3 * num_samples * IMAGE_BYTES
            + (min(num_samples, GRID_MAX) + grid_images) * GRID_CELL_BYTES
            + 4 * z_dim * (num_samples + chunk + 2 * grid_images + 2 * first_width))


def check_memory(needed, what):
    """Raises SampleSizeError when `needed` bytes exceed 3/4 of the machine's memory."""
    inference.check_memory(needed, what, SampleSizeError)


def draw(generator, num_samples, z_dim, distribution="uniform", seed=0, batch_size=1000,
         label=None, prior=None, labels=None):
    """(num_samples, 28, 28) float32 images for the latent codes of `seed`
    (gan_tf.randomness; the first ones of a run's seed are its fixed-z sample grid) and,
    from a conditional generator, of class `label` or of every class in turn (from an
    InfoGAN one, code `label` or codes drawn with the seed), or of `labels` (one each)."""
    codes = randomness.latent_codes(num_samples, z_dim, distribution, seed)
    batch_size = chunk_size(z_dim, batch_size)
    if labels is None:
        labels = class_labels(generator, num_samples, label, seed, prior=prior)
    chunks = []
    for part in inference.batches(num_samples, batch_size):
        z = codes[part]
        y = None if labels is None else labels[part]
        images, _ = _generate(generator, z, y)
        chunks.append(images.numpy()[..., 0])
    return np.concatenate(chunks).astype(np.float32)


def interpolation_z(rows, columns, z_dim, distribution="uniform", seed=0):
    """(rows * columns, z_dim) codes: row r runs linearly from z_a[r] to z_b[r]."""
    ends = randomness.latent_codes(2 * rows, z_dim, distribution, seed,
                                   randomness.INTERPOLATION_STREAM).numpy().astype(np.float64)
    a, b = ends[:rows], ends[rows:]
    t = np.linspace(0.0, 1.0, columns)[None, :, None]
    return (a[:, None] * (1 - t) + b[:, None] * t).reshape(rows * columns, z_dim).astype(np.float32)


def interpolate(generator, rows, columns, z_dim, distribution="uniform", seed=0, label=None,
                prior=None):
    """(rows * columns, 28, 28) images along the lines of interpolation_z (a conditional
    generator's row r keeps class `label`, or class r mod 10; an InfoGAN one's, code
    `label` or a random one)."""
    z = interpolation_z(rows, columns, z_dim, distribution, seed)
    row_labels = class_labels(generator, rows, label, seed, randomness.INTERPOLATION_STREAM,
                              prior)
    labels = None if row_labels is None else np.repeat(row_labels, columns)
    return np.concatenate([
        _generate(generator, z[part], None if labels is None else labels[part])[0]
        .numpy()[..., 0] for part in inference.batches(len(z), chunk_size(z_dim))])


def png_path(npy_path):
    return os.path.splitext(npy_path)[0] + ".png"


def interpolation_path(npy_path):
    return os.path.splitext(npy_path)[0] + "_interpolation.png"


def save(images, out, columns=None, replace=True):
    """Writes images as .npy and the first GRID_MAX as a PNG grid beside it (both atomically;
    `replace` false keeps a file that appeared at either name: fileio.OutputAppeared)."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, images)
    atomic_write(out, buf.getvalue(), replace)
    plots.save_grid(images[:GRID_MAX], png_path(out), columns, replace=replace)
