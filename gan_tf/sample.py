"""Draws samples from a trained generator and writes them as .npy plus a PNG grid.

    python -m gan_tf.sample --run_dir=runs/mlp_mnist --num_samples=64 --out=samples.npy
    python -m gan_tf.sample --tf1_checkpoint=checkpoints --out=legacy.npy   # a legacy TF1 Saver checkpoint
    python -m gan_tf.sample --run_dir=runs/cond --label=7 --out=sevens.npy   # a conditional run's digit

With the run's --seed (0 unless the run set one) the first --num_samples of the run
(16 by default) are the run's last fixed-z sample grid, image for image.

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
"""
import os

import numpy as np

from gan_tf import batching, memory
from gan_tf.errors import PortingError, RunError, SampleSizeError

GRID_MAX = 1000  # images in the PNG grid; a larger one costs ~0.4 MB of memory an image
CHUNK_BYTES = 64 << 20  # z of one generator call at most (fewer samples per call for a huge z_dim)
IMAGE_BYTES = 28 * 28 * 4
GRID_CELL_BYTES = (29 * 3) ** 2 * 48  # a 3x-scaled cell of a PNG grid, with matplotlib's RGBA floats


def class_labels(generator, n, label=None, seed=0, stream=None):
    """Labels of n samples: None for an unconditional generator; else all `label`, or
    for a conditional one 0, 1, ..., 9, 0, ... (a grid with one class per column), for
    an InfoGAN one codes drawn at random for the latent codes of (seed, stream)."""
    from gan_tf import models, randomness
    classes, codes = generator.num_classes, getattr(generator, "num_codes", 0)  # any callable
    if (classes or codes) and label is not None:
        return np.full(n, label, np.int32)
    if codes:
        return randomness.random_codes(n, codes, seed, stream or randomness.GRID_STREAM)
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
    memory.check_memory(needed, what, SampleSizeError)


def draw(generator, num_samples, z_dim, distribution="uniform", seed=0, batch_size=1000,
         label=None):
    """(num_samples, 28, 28) float32 images for the latent codes of `seed`
    (gan_tf.randomness; the first ones of a run's seed are its fixed-z sample grid) and,
    from a conditional generator, of class `label` or of every class in turn (from an
    InfoGAN one, code `label` or codes drawn with the seed)."""
    from gan_tf import randomness
    codes = randomness.latent_codes(num_samples, z_dim, distribution, seed)
    batch_size = chunk_size(z_dim, batch_size)
    labels = class_labels(generator, num_samples, label, seed)
    chunks = []
    for part in batching.batches(num_samples, batch_size):
        z = codes[part]
        y = None if labels is None else labels[part]
        images, _ = _generate(generator, z, y)
        chunks.append(images.numpy()[..., 0])
    return np.concatenate(chunks).astype(np.float32)


def interpolation_z(rows, columns, z_dim, distribution="uniform", seed=0):
    """(rows * columns, z_dim) codes: row r runs linearly from z_a[r] to z_b[r]."""
    from gan_tf import randomness
    ends = randomness.latent_codes(2 * rows, z_dim, distribution, seed,
                                   randomness.INTERPOLATION_STREAM).numpy().astype(np.float64)
    a, b = ends[:rows], ends[rows:]
    t = np.linspace(0.0, 1.0, columns)[None, :, None]
    return (a[:, None] * (1 - t) + b[:, None] * t).reshape(rows * columns, z_dim).astype(np.float32)


def interpolate(generator, rows, columns, z_dim, distribution="uniform", seed=0, label=None):
    """(rows * columns, 28, 28) images along the lines of interpolation_z (a conditional
    generator's row r keeps class `label`, or class r mod 10; an InfoGAN one's, code
    `label` or a random one)."""
    from gan_tf import randomness
    z = interpolation_z(rows, columns, z_dim, distribution, seed)
    row_labels = class_labels(generator, rows, label, seed, randomness.INTERPOLATION_STREAM)
    labels = None if row_labels is None else np.repeat(row_labels, columns)
    return np.concatenate([
        _generate(generator, z[part], None if labels is None else labels[part])[0]
        .numpy()[..., 0] for part in batching.batches(len(z), chunk_size(z_dim))])


def png_path(npy_path):
    return os.path.splitext(npy_path)[0] + ".png"


def interpolation_path(npy_path):
    return os.path.splitext(npy_path)[0] + "_interpolation.png"


def check_output(out, overwrite, interpolation=True):
    """Refuses a path that is not .npy or would overwrite files (unless asked)."""
    from gan_tf.cli import check_outputs
    check_outputs(out, ".npy", [out, png_path(out)] +
                  ([interpolation_path(out)] if interpolation else []), overwrite)


def save(images, out, columns=None):
    """Writes images as .npy and the first GRID_MAX as a PNG grid beside it (both atomically)."""
    import io

    from gan_tf import plots
    from gan_tf.fileio import atomic_write
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, images)
    atomic_write(out, buf.getvalue())
    plots.save_grid(images[:GRID_MAX], png_path(out), columns)


def define_flags():
    from absl import flags

    from gan_tf import cli
    cli.define_run_dir("A gan_tf run directory: samples its latest checkpoint.")
    cli.define_model_functions()
    flags.DEFINE_string("tf1_checkpoint", None, "A TF1 Saver checkpoint (prefix or directory) "
                        "of the legacy MLP generator, or of --generator_fn's.")
    flags.DEFINE_string("tf1_name_map", None, "Name map for --tf1_checkpoint (see gan_tf.porting).")
    flags.DEFINE_float("leak", 0.01, "Leaky ReLU slope of a --tf1_checkpoint generator.")
    flags.DEFINE_integer("num_samples", 16, "Number of images (the PNG grid shows the first "
                         f"{GRID_MAX}).", lower_bound=1)
    cli.define_out("samples.npy", "Output .npy path; the PNG grid goes beside it.")
    cli.define_seed("Seed of the latent codes; a run's own --seed redraws its fixed-z sample "
                    "grid as the first samples.")
    flags.DEFINE_enum("z_distribution", None, ["uniform", "normal"],
                      "Latent distribution (default: the run's; uniform for --tf1_checkpoint).")
    flags.DEFINE_integer("interpolation_rows", 8, "Rows of the latent-interpolation grid "
                         "(0: none).", lower_bound=0)
    flags.DEFINE_integer("interpolation_steps", 10, "Images per interpolation row.", lower_bound=2)
    flags.DEFINE_integer("label", None, "Class to draw, from a conditional run (default: "
                         "every class in turn, one per grid column); or code value to draw "
                         "from an InfoGAN run (--latent_categories; default: random codes): a "
                         "code is not a class, G chose what each value draws.", lower_bound=0)
    cli.define_overwrite()


def main(argv):
    from gan_tf.cli import UsageError, flag_values
    f = flag_values(argv)
    if bool(f.run_dir) == bool(f.tf1_checkpoint):
        raise UsageError("give exactly one of --run_dir and --tf1_checkpoint")
    check_output(f.out, f.overwrite, interpolation=f.interpolation_rows > 0)
    grid = f.interpolation_rows * f.interpolation_steps

    def check_size(z_dim, first_width, source, weights=0):
        check_memory(memory_needed(f.num_samples, z_dim, first_width, grid) + weights,
                     f"--num_samples={f.num_samples} and {grid} interpolation images "
                     f"(--interpolation_rows x --interpolation_steps) of z_dim {z_dim} of {source}")

    if f.run_dir:
        from gan_tf import models, runs
        config = runs.read_config(f.run_dir)
        # Before building G and D: both networks' weights, built then restored (twice).
        check_size(config.z_dim, models.first_layer_width(config), f.run_dir,
                   2 * models.weight_bytes(config))
        config, generator, _, source = runs.restore_models(f.run_dir, (f.generator_fn, f.discriminator_fn))
        z_dim, distribution = config.z_dim, f.z_distribution or config.z_distribution
    else:
        from gan_tf import porting
        from gan_tf.models import legacy
        if f.discriminator_fn:
            raise UsageError("--discriminator_fn: --tf1_checkpoint samples a generator only")
        fn = f.generator_fn and legacy.import_function(f.generator_fn, "generator_fn")
        generator, z_dim = porting.generator_from_tf1_checkpoint(
            f.tf1_checkpoint, f.tf1_name_map, f.leak, fn or None)
        source, distribution = porting.resolve_checkpoint(f.tf1_checkpoint), f.z_distribution or "uniform"
        check_size(z_dim, 0, source)
    classes, codes = generator.num_classes, generator.num_codes
    if f.label is not None and not (classes or codes):
        raise UsageError(f"--label={f.label}: {source} is not class-conditional and has no "
                         "categorical code")
    if f.label is not None and f.label >= (classes or codes):
        raise UsageError(f"--label={f.label}: the run has " + (
            f"classes 0 to {classes - 1}" if classes else f"codes 0 to {codes - 1}"))
    images = draw(generator, f.num_samples, z_dim, distribution, f.seed, label=f.label)
    save(images, f.out, columns=classes if classes and f.label is None else None)
    written = f"{f.out} and {png_path(f.out)}"
    if f.interpolation_rows:
        from gan_tf import plots
        plots.save_grid(interpolate(generator, f.interpolation_rows, f.interpolation_steps, z_dim,
                                    distribution, f.seed, f.label),
                        interpolation_path(f.out), columns=f.interpolation_steps)
        written = f"{f.out}, {png_path(f.out)} and {interpolation_path(f.out)}"
    print(f"wrote {f.num_samples} samples from {source} to {written}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (RunError, PortingError, SampleSizeError, OSError)

if __name__ == "__main__":
    from gan_tf import cli
    cli.main(define_flags, main, user_errors=USER_ERRORS)
