"""Opening a trained run's networks: the generator (its moving average with --g_ema) and
the discriminator from one of the run's checkpoints (by default its best evaluation's,
else the latest), for sampling, export and scoring."""
import logging
import os

import tensorflow as tf

from gan_tf import inference, models
from gan_tf.errors import RunError
from gan_tf.runs import CHECKPOINT_DIR, _writer_note, checkpoints, read_config
from gan_tf.runs.checkpoints import latest_checkpoint
from gan_tf.tf1 import network

log = logging.getLogger(__name__)


def checkpoint_of(run_dir, which=None):
    """The prefix of the checkpoint `which` names in a run: "latest" (the newest regular
    one), "best" (the best evaluation's, checkpoints/best-STEP), a step (int: ckpt-STEP or
    best-STEP), or None: the best when the run kept one, else the latest (said in a log
    line). RunError, one line, when there is none such."""
    folder = os.path.join(run_dir, CHECKPOINT_DIR)
    try:
        latest = latest_checkpoint(folder)
    except RunError as e:
        raise RunError(f"{e}{_writer_note(run_dir)}") from None
    best = checkpoints.best_checkpoint(folder)
    if which is None:
        if best:
            log.info("Using %s, the run's best evaluation (--checkpoint=latest for the newest).",
                     best)
        which = "best" if best else "latest"
    if which == "latest" or which == "best":
        found = latest if which == "latest" else best
        if found is None:
            raise RunError(f"{run_dir} has no checkpoint yet{_writer_note(run_dir)}"
                           if which == "latest" else
                           f"{run_dir} has no best checkpoint (a run keeps one when it "
                           "evaluates, --eval_samples > 0); pass --checkpoint=latest")
        return found
    kept = checkpoints.complete_checkpoints(folder)  # a regular one first, then the best
    for prefix in kept + ([best] if best else []):
        if prefix.rsplit("-", 1)[1] == str(which):
            return prefix
    raise RunError(f"{run_dir} has no checkpoint of step {which} (it keeps steps "
                   f"{', '.join(p.rsplit('-', 1)[1] for p in kept) or 'none'}"
                   + (f" and the best, {best.rsplit('-', 1)[1]}" if best else "") + ")")


def restore_models(run_dir, model_functions=None, checkpoint=None):
    """(config, generator, discriminator, checkpoint path) from a run's checkpoint
    (`checkpoint`: see checkpoint_of; by default the best, else the latest); the generator
    holds the moving-average weights when the run used --g_ema. A run of legacy model
    functions needs them named in `model_functions` (tf1.network.check_run_functions)."""
    config = read_config(run_dir)
    # A foreign run's sizes, before building them: one line, not an allocation that fails.
    inference.check_memory(2 * models.weight_bytes(config),  # built, then restored
                           f"the models {os.path.join(run_dir, 'config.json')} describes",
                           RunError)
    network.check_run_functions(config, run_dir, model_functions)
    path = checkpoint_of(run_dir, checkpoint)
    generator, discriminator = models.build(config)
    # With --g_ema the averaged weights are the ones to sample and export, under G's names.
    checkpoint = tf.train.Checkpoint(**checkpoints.reader_objects(generator, discriminator,
                                                                  ema=bool(config.g_ema)))
    functions = (f" (do {config.generator_fn} and {config.discriminator_fn} still create "
                 "the variables the run trained?)" if config.model == "tf1" else "")
    try:
        checkpoints.restore(checkpoint, path, functions)
    except RunError as e:
        raise RunError(f"{e}{_writer_note(run_dir)}") from None
    return config, generator, discriminator, path
