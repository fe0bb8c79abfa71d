"""Draws samples from a trained generator and writes them as .npy plus a PNG grid.

    python -m gan_tf.sample --run_dir=runs/mlp_mnist --num_samples=64 --out=samples.npy
    python -m gan_tf.sample --tf1_checkpoint=checkpoints --out=network.npy   # a legacy TF1 Saver checkpoint
    python -m gan_tf.sample --run_dir=runs/cond --label=7 --out=sevens.npy   # a conditional run's digit

The command line of gan_tf.applications.sampling, which says what its files and options mean.
"""

from absl import flags

from gan_tf.commands import common  # first: it quiets TensorFlow's start-up
from gan_tf.commands.common import UsageError, check_outputs, flag_values  # noqa: E402

from gan_tf import models, runs  # noqa: E402
from gan_tf.applications import sampling  # noqa: E402
from gan_tf.errors import (DataError, LogFileError, PortingError, RunError,  # noqa: E402
                           SampleSizeError)
from gan_tf.evaluation import code_prior  # noqa: E402
from gan_tf.runs import plots  # noqa: E402
from gan_tf.tf1 import checkpoints as tf1_checkpoints  # noqa: E402
from gan_tf.tf1 import network  # noqa: E402
from gan_tf.runs.restore import restore_models  # noqa: E402


def check_output(out, overwrite, interpolation=True):
    """Refuses a path that is not .npy or would overwrite files (unless asked)."""
    check_outputs(out, ".npy", [out, sampling.png_path(out)] +
                  ([sampling.interpolation_path(out)] if interpolation else []), overwrite)


def define_flags():
    common.define_run_dir("A gan_tf run directory: samples one of its checkpoints (--checkpoint).")
    common.define_checkpoint()
    common.define_model_functions()
    flags.DEFINE_string("tf1_checkpoint", None, "A TF1 Saver checkpoint (prefix or directory) "
                        "of the legacy MLP generator, or of --generator_fn's.")
    flags.DEFINE_string("tf1_name_map", None, "Name map for --tf1_checkpoint (see gan_tf.tf1.checkpoints).")
    flags.DEFINE_float("leak", 0.01, "Leaky ReLU slope of a --tf1_checkpoint generator.")
    flags.DEFINE_integer("num_samples", 16, "Number of images (the PNG grid shows the first "
                         f"{sampling.GRID_MAX}).", lower_bound=1)
    common.define_out("samples.npy", "Output .npy path; the PNG grid goes beside it.")
    common.define_seed("Seed of the latent codes; a run's own --seed redraws its fixed-z sample "
                    "grid as the first samples (in float32: to bfloat16's rounding for a run that "
                    "computed in bfloat16; a --code_prior=learned run's codes come from its "
                    "prior, not the grid's).")
    flags.DEFINE_enum("z_distribution", None, ["uniform", "normal"],
                      "Latent distribution (default: the run's; uniform for --tf1_checkpoint).")
    flags.DEFINE_integer("interpolation_rows", 8, "Rows of the latent-interpolation grid "
                         "(0: none).", lower_bound=0)
    flags.DEFINE_integer("interpolation_steps", 10, "Images per interpolation row.", lower_bound=2)
    flags.DEFINE_integer("label", None, "Class to draw, from a conditional run (default: "
                         "every class in turn, one per grid column); or code value to draw "
                         "from an InfoGAN run (--latent_categories; default: random codes): a "
                         "code is not a class, G chose what each value draws.", lower_bound=0)
    common.define_data_dir(of_run=True)  # a --code_prior=learned run's training images
    common.define_overwrite()


def main(argv):
    f = flag_values(argv)
    if bool(f.run_dir) == bool(f.tf1_checkpoint):
        raise UsageError("give exactly one of --run_dir and --tf1_checkpoint")
    which = common.checkpoint_flag(f.checkpoint)
    if f.tf1_checkpoint and which is not None:
        raise UsageError("--checkpoint chooses among a run's checkpoints (--run_dir); "
                         "--tf1_checkpoint names its own")
    check_output(f.out, f.overwrite, interpolation=f.interpolation_rows > 0)
    grid = f.interpolation_rows * f.interpolation_steps

    def check_size(z_dim, first_width, source, weights=0):
        sampling.check_memory(sampling.memory_needed(f.num_samples, z_dim, first_width, grid) + weights,
                     f"--num_samples={f.num_samples} and {grid} interpolation images "
                     f"(--interpolation_rows x --interpolation_steps) of z_dim {z_dim} of {source}")

    if f.run_dir:
        config = runs.read_config(f.run_dir)
        # Before building G and D: both networks' weights, built then restored (twice).
        check_size(config.z_dim, models.first_layer_width(config), f.run_dir,
                   2 * models.weight_bytes(config))
        config, generator, discriminator, source = restore_models(
            f.run_dir, (f.generator_fn, f.discriminator_fn), which)
        # restore_models read config.json again: the z_dim the samples are drawn with.
        check_size(config.z_dim, 0, f.run_dir)
        z_dim, distribution = config.z_dim, f.z_distribution or config.z_distribution
        # A --code_prior=learned run's codes as its evaluations drew them (not for --label).
        prior = None if f.label is not None else code_prior.run_prior(
            config, discriminator, f.run_dir, f.data_dir)
    else:
        if f.discriminator_fn:
            raise UsageError("--discriminator_fn: --tf1_checkpoint samples a generator only")
        fn = f.generator_fn and network.import_function(f.generator_fn, "generator_fn")
        generator, z_dim = tf1_checkpoints.generator_from_tf1_checkpoint(
            f.tf1_checkpoint, f.tf1_name_map, f.leak, fn or None)
        source, distribution = tf1_checkpoints.resolve_checkpoint(f.tf1_checkpoint), f.z_distribution or "uniform"
        check_size(z_dim, 0, source)
        prior = None
    classes, codes = generator.num_classes, generator.num_codes
    if f.label is not None and not (classes or codes):
        raise UsageError(f"--label={f.label}: {source} is not class-conditional and has no "
                         "categorical code")
    if f.label is not None and f.label >= (classes or codes):
        raise UsageError(f"--label={f.label}: the run has " + (
            f"classes 0 to {classes - 1}" if classes else f"codes 0 to {codes - 1}"))
    images = sampling.draw(generator, f.num_samples, z_dim, distribution, f.seed, label=f.label,
                           prior=prior)
    sampling.save(images, f.out, columns=classes if classes and f.label is None else None,
                  replace=f.overwrite)
    written = f"{f.out} and {sampling.png_path(f.out)}"
    if f.interpolation_rows:
        plots.save_grid(sampling.interpolate(generator, f.interpolation_rows, f.interpolation_steps, z_dim,
                                    distribution, f.seed, f.label, prior),
                        sampling.interpolation_path(f.out), columns=f.interpolation_steps,
                        replace=f.overwrite)
        written = f"{f.out}, {sampling.png_path(f.out)} and {sampling.interpolation_path(f.out)}"
    print(f"wrote {f.num_samples} samples from {source} to {written}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (RunError, PortingError, SampleSizeError, LogFileError, DataError, OSError)


def run():
    """`python -m gan_tf.sample` and gan-tf-sample."""
    common.main(define_flags, main, user_errors=USER_ERRORS)


if __name__ == "__main__":
    run()
