"""Exports a trained generator: a SavedModel with a serving signature, and/or a TF1 checkpoint.

    python -m gan_tf.export --run_dir=runs/mlp_mnist --export_dir=export/mlp_mnist
    python -m gan_tf.export --run_dir=runs/mlp_mnist --tf1_checkpoint_out=checkpoints/generator.ckpt

The command line of gan_tf.applications.export, which says what its files and options mean.
"""
import os

from absl import flags

from gan_tf.commands import common  # first: it quiets TensorFlow's start-up
from gan_tf.commands.common import UsageError, check_folder, flag_values  # noqa: E402


from gan_tf.applications import export  # noqa: E402
from gan_tf.errors import DataError, LogFileError, OutputError, RunError  # noqa: E402
from gan_tf.evaluation import code_prior  # noqa: E402
from gan_tf.tf1 import checkpoints as tf1_checkpoints  # noqa: E402
from gan_tf.runs.restore import restore_models  # noqa: E402


def define_flags():
    common.define_run_dir("The gan_tf run directory to export (--checkpoint: which of its checkpoints).")
    common.define_checkpoint()
    common.define_model_functions()
    flags.DEFINE_string("export_dir", None, "Where to write the SavedModel.")
    flags.DEFINE_string("tf1_checkpoint_out", None,
                        "Also (or only) write a TF1 Saver checkpoint at this prefix; a path "
                        f"ending in / (or a directory) means DIR/{export.TF1_PREFIX_NAME}.")
    common.define_data_dir(of_run=True)  # a --code_prior=learned run's training images
    common.define_overwrite("Replace an existing export.")


def main(argv):
    f = flag_values(argv, required=["run_dir"])
    which = common.checkpoint_flag(f.checkpoint)
    if not f.export_dir and not f.tf1_checkpoint_out:
        raise UsageError("give --export_dir, --tf1_checkpoint_out or both")
    common.check_checkpoint_path("export_dir", f.export_dir)
    # The TF1 Saver records the absolute path: the working folder's name counts there.
    common.check_checkpoint_path("tf1_checkpoint_out",
                                 f.tf1_checkpoint_out and os.path.abspath(f.tf1_checkpoint_out))
    if f.export_dir and os.path.exists(f.export_dir) and os.listdir(f.export_dir) \
            and not f.overwrite:
        raise UsageError(f"--export_dir={f.export_dir} is not empty; pass --overwrite")
    tf1_out = f.tf1_checkpoint_out and export.tf1_prefix(f.tf1_checkpoint_out)
    if tf1_out and os.path.lexists(tf1_out + ".index") and not f.overwrite:
        raise UsageError(f"--tf1_checkpoint_out={f.tf1_checkpoint_out}: {tf1_out} exists; "
                         "pass --overwrite")
    if tf1_out:
        try:
            export.check_tf1_checkpoint_out(tf1_out, f.run_dir, f.overwrite)
        except OutputError as e:  # a bad flag value: exit 2
            raise UsageError(e) from None
        check_folder("tf1_checkpoint_out", f.tf1_checkpoint_out,
                     os.path.dirname(os.path.abspath(tf1_out)))
    if f.export_dir:
        check_folder("export_dir", f.export_dir, os.path.abspath(f.export_dir))

    config, generator, discriminator, source = restore_models(
        f.run_dir, (f.generator_fn, f.discriminator_fn), which)
    if f.export_dir:
        export.export_saved_model(generator, config.z_dim, f.export_dir, config.z_distribution,
                                  code_prior.run_prior(config, discriminator, f.run_dir,
                                                       f.data_dir), replace=f.overwrite)
        print(f"wrote SavedModel of {source} to {f.export_dir}")
    if tf1_out:
        prefix = tf1_checkpoints.write_tf1_checkpoint(tf1_out, [generator, discriminator])
        print(f"wrote TF1 checkpoint of {source} to {prefix}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (RunError, LogFileError, DataError, OSError)


def run():
    """`python -m gan_tf.export` and gan-tf-export."""
    common.main(define_flags, main, user_errors=USER_ERRORS)


if __name__ == "__main__":
    run()
