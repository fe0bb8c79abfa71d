"""Opening a trained run's networks: the generator (its moving average with --g_ema) and
the discriminator from the run's latest checkpoint, for sampling, export and scoring."""
import os

import tensorflow as tf

from gan_tf import models
from gan_tf.errors import RunError
from gan_tf.runs import CHECKPOINT_DIR, _writer_note, checkpoints, read_config
from gan_tf.runs.checkpoints import latest_checkpoint
from gan_tf.tf1 import network


def restore_models(run_dir, model_functions=None):
    """(config, generator, discriminator, checkpoint path) from a run's latest checkpoint;
    the generator holds the moving-average weights when the run used --g_ema. A run of
    legacy model functions needs them named in `model_functions`
    (tf1.network.check_run_functions)."""
    config = read_config(run_dir)
    network.check_run_functions(config, run_dir, model_functions)
    try:
        latest = latest_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))
    except RunError as e:
        raise RunError(f"{e}{_writer_note(run_dir)}") from None
    if latest is None:
        raise RunError(f"{run_dir} has no checkpoint yet{_writer_note(run_dir)}")
    generator, discriminator = models.build(config)
    # With --g_ema the averaged weights are the ones to sample and export, under G's names.
    checkpoint = tf.train.Checkpoint(**checkpoints.reader_objects(generator, discriminator,
                                                                  ema=bool(config.g_ema)))
    functions = (f" (do {config.generator_fn} and {config.discriminator_fn} still create "
                 "the variables the run trained?)" if config.model == "tf1" else "")
    try:
        checkpoints.restore(checkpoint, latest, functions)
    except RunError as e:
        raise RunError(f"{e}{_writer_note(run_dir)}") from None
    return config, generator, discriminator, latest
