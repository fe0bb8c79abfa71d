"""Run directories: what training writes there, the refusals, and restoring from one.

A run directory holds config.json (the TrainConfig), checkpoints/ (the latest
step of both networks and optimizers) and the logs of gan_tf.logs.
"""
import dataclasses
import os
import shutil

from gan_tf import logs as logs_lib
from gan_tf.config import TrainConfig, run_defining_differences

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
SAMPLE_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
LOSS_PLOT = "losses.png"
EVAL_FILE = "eval.json"
PROGRESS_GIF = "progress.gif"
# What --overwrite removes from a run directory: only what training writes there.
RUN_OUTPUTS = (CONFIG_FILE, CHECKPOINT_DIR, SAMPLE_DIR, TENSORBOARD_DIR, LOSS_PLOT,
               EVAL_FILE, PROGRESS_GIF,
               logs_lib.LOSSES, logs_lib.SAMPLES, logs_lib.SAMPLE_STEPS, logs_lib.METRICS)


class RunError(Exception):
    """A run cannot start or continue; the message says why and what to do."""

    exit_code = 1


class Diverged(RunError):
    """A loss or weight became NaN or Inf; the last good checkpoint is kept."""


class Interrupted(RunError):
    """SIGINT or SIGTERM stopped the run after saving; exits 128 + the signal number."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.exit_code = 128 + int(signum)


def prepare_run_dir(config):
    """Checks the output directory before any long work: refuses a different run there
    (unless --overwrite), makes it and proves it writable."""
    run_dir = config.run_dir
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise RunError(f"--output_dir={run_dir} exists and is not a directory")
    config_path = os.path.join(run_dir, CONFIG_FILE)
    if os.path.isdir(run_dir) and not config.overwrite:
        if os.path.exists(config_path):
            try:
                old = read_config(run_dir)
            except RunError as e:
                raise RunError(f"{e}; pass --overwrite to start over there") from None
            diffs = run_defining_differences(old, config)
            if diffs:
                raise RunError(f"--output_dir={run_dir} holds a run with a different configuration "
                               f"({'; '.join(diffs)}); use another --output_dir, or --overwrite "
                               "to replace that run")
        elif os.path.exists(os.path.join(run_dir, CHECKPOINT_DIR)):
            raise RunError(f"--output_dir={run_dir} has checkpoints but no {CONFIG_FILE}; "
                           "pass --overwrite to start over there")
    if config.overwrite and os.path.isdir(run_dir):
        for name in RUN_OUTPUTS:
            path = os.path.join(run_dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    try:
        os.makedirs(os.path.join(run_dir, SAMPLE_DIR), exist_ok=True)
        probe = os.path.join(run_dir, ".write-test")
        logs_lib.atomic_write(probe, b"")
        os.remove(probe)
    except (OSError, logs_lib.LogFileError) as e:
        raise RunError(f"--output_dir={run_dir} cannot be written: "
                       f"{getattr(e, 'strerror', None) or e}") from None
    return run_dir


def write_config(config):
    """Records the run's configuration (once it has started or resumed successfully)."""
    stored = dataclasses.replace(config, overwrite=False)
    logs_lib.atomic_write(os.path.join(config.run_dir, CONFIG_FILE), stored.to_json().encode("utf-8"))



def read_config(run_dir):
    """The TrainConfig stored in a run directory."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise RunError(f"{run_dir} is not a gan_tf run directory (no {CONFIG_FILE})")
    try:
        with open(path, encoding="utf-8") as f:
            return TrainConfig.from_json(f.read())
    except (ValueError, TypeError) as e:
        raise RunError(f"{path} is not a gan_tf run configuration ({e})") from None


def restore_models(run_dir):
    """(config, generator, discriminator, checkpoint path) from a run's latest checkpoint;
    the generator holds the moving-average weights when the run used --g_ema."""
    import tensorflow as tf

    from gan_tf import models
    from gan_tf.porting import CHECKPOINT_ERRORS
    config = read_config(run_dir)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))
    if latest is None:
        raise RunError(f"{run_dir} has no checkpoint yet")
    generator, discriminator = models.build(config)
    # With --g_ema the averaged weights are the ones to sample and export, under G's names.
    checkpoint = tf.train.Checkpoint(discriminator=discriminator,
                                     **{"generator_ema" if config.g_ema else "generator": generator})
    try:
        checkpoint.restore(latest).expect_partial().assert_existing_objects_matched()
    except CHECKPOINT_ERRORS as e:
        raise RunError(f"cannot restore {latest}: {str(e).splitlines()[0]}") from None
    return config, generator, discriminator, latest
