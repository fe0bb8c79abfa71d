"""What a run writes while it trains, and when: the schedule of its events, and the
outputs (logs, TensorBoard events, fixed-z sample grids, loss plot, GIF, checkpoints)."""
import dataclasses
import logging
import os
import time

import numpy as np
import tensorflow as tf

from gan_tf import logs as logs_lib
from gan_tf import models, plots
from gan_tf.errors import RunError, checkpoint_errors
from gan_tf.randomness import fixed_z
from gan_tf.runs import CHECKPOINT_DIR, LOSS_PLOT, PROGRESS_GIF, SAMPLE_DIR, TENSORBOARD_DIR
from gan_tf.trainer import METRIC_KEYS

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The steps a run ends at and its events fall on: every `*_every` steps, and all
    of them at the run's last step."""
    max_steps: int
    log_every: int
    sample_every: int
    checkpoint_every: int
    eval_every: int

    @classmethod
    def of(cls, config, steps_per_epoch):
        max_steps, log_every, sample_every, checkpoint_every = config.schedule(steps_per_epoch)
        # --eval_every unset: at the end of the run only.
        return cls(max_steps, log_every, sample_every, checkpoint_every,
                   config.eval_every or max_steps)

    def _intervals(self):
        return {"eval": self.eval_every, "log": self.log_every, "sample": self.sample_every,
                "checkpoint": self.checkpoint_every}

    def steps_to_next_event(self, step, most):
        """How many steps the next graph call may run from `step`: up to the next event,
        and at most `most`."""
        next_event = min(self.max_steps, *[(step // every + 1) * every
                                           for every in self._intervals().values()])
        return min(next_event - step, most)

    def due(self, step, final):
        """The events ("eval", "log", "sample", "checkpoint") that fall on `step`; every
        one at the `final` step."""
        return {name for name, every in self._intervals().items() if final or step % every == 0}


class RunOutputs:
    """The files of a training run in `write_dir` (a scratch directory on workers other
    than the chief): the logs (gan_tf.logs), TensorBoard events, the fixed-z sample
    grids, the loss plot and GIF, and the checkpoints of `trainer`."""

    def __init__(self, config, write_dir, trainer, latest, batches_per_epoch):
        """`latest`: the checkpoint the run resumes from (the chief's), or None."""
        self.config, self.write_dir, self.trainer, self.latest = config, write_dir, trainer, latest
        self.batches_per_epoch = batches_per_epoch
        self.checkpoint = trainer.checkpoint()
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(write_dir, CHECKPOINT_DIR), max_to_keep=3)
        self.logs = logs_lib.RunLogs(write_dir)
        self.grid_z = fixed_z(config)
        self.grid_labels = models.grid_labels(config.num_samples, trainer.generator.num_classes)
        self.writer = None
        self.last_record = None  # the last metrics record written
        self._interval, self._interval_time = [], 0.0  # metric rows of the current log interval

    @property
    def last_checkpoint(self):
        """The latest checkpoint saved, or the one the run resumed from (or None)."""
        return self.manager.latest_checkpoint or self.latest

    def restore(self):
        """Restores the trainer from `latest` (or raises RunError, one line)."""
        try:
            status = self.checkpoint.restore(self.latest)
            status.expect_partial()  # no warnings at exit when this fails; the assert still checks
            status.assert_existing_objects_matched()
        except checkpoint_errors() as e:
            raise RunError(f"cannot restore {self.latest}: {str(e).splitlines()[0]}") from None

    def open_events(self):
        """Opens the TensorBoard writer (when training starts: a run that fails to start,
        or has nothing left to do, writes none)."""
        self.writer = tf.summary.create_file_writer(os.path.join(self.write_dir, TENSORBOARD_DIR))

    def add_steps(self, history, elapsed):
        """Adds the metric rows of steps that took `elapsed` seconds to the log interval."""
        self._interval.append(history)
        self._interval_time += elapsed

    @property
    def has_steps(self):
        """Whether steps since the last record wait to be logged."""
        return bool(self._interval)

    def log(self, step, evaluation, interval_ends):
        """Writes the records of `step`: with `interval_ends`, the metrics averaged over
        the interval's steps (with `evaluation` if any); else `evaluation` alone, if any."""
        if evaluation:
            self._summaries(step, {"eval/" + name: value for name, value in evaluation.items()})
        if interval_ends:
            rows = np.concatenate(self._interval)
            record = {"step": step,
                      "epoch": round(step * self.config.d_steps_per_g_step
                                     / self.batches_per_epoch, 4),
                      **dict(zip(METRIC_KEYS, rows.mean(axis=0, dtype=np.float64).tolist())),
                      "steps_per_sec": len(rows) / max(self._interval_time, 1e-9),
                      "time": time.time(), **(evaluation or {})}
            self.logs.append(record)
            self._summaries(step, {name: record[name] for name in METRIC_KEYS + ("steps_per_sec",)})
            self._interval, self._interval_time = [], 0.0
            self.last_record = record
        elif evaluation:
            self.logs.append({"step": step, "time": time.time(), **evaluation})

    def _summaries(self, step, scalars):
        with self.writer.as_default(step=step):
            for name, value in scalars.items():
                tf.summary.scalar(name, value)

    def sample(self, step):
        """The fixed-z grid of the generator samples show, at `step`."""
        images, _ = self.trainer.sampler(self.grid_z, training=False, labels=self.grid_labels)
        self.logs.append_samples(step, images.numpy())
        plots.save_grid(images.numpy(),
                        os.path.join(self.write_dir, SAMPLE_DIR, f"step_{step:07d}.png"))
        with self.writer.as_default(step=step):
            tf.summary.image("samples", (images + 1.0) / 2.0, max_outputs=self.config.num_samples)

    def save_checkpoint(self, step):
        try:
            self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as e:
            raise RunError(f"cannot write checkpoint {step} in {self.manager.directory}: "
                           f"{str(e).splitlines()[0]}") from None
        log.info("step %d: checkpoint saved (%s)", step, self.manager.latest_checkpoint)

    def save_plots(self, gif, only_missing=False):
        """The loss curve of the logged records and, with `gif`, the GIF of the sample
        grids; with `only_missing`, only those not written already."""
        records = [r for r in self.logs.records if "d_loss" in r]  # not evaluation-only ones
        loss_plot = os.path.join(self.write_dir, LOSS_PLOT)
        progress = os.path.join(self.write_dir, PROGRESS_GIF)
        if records and not (only_missing and os.path.exists(loss_plot)):
            plots.save_loss_plot([r["step"] for r in records], [r["d_loss"] for r in records],
                                 [r["g_loss"] for r in records], loss_plot)
        if gif and not (only_missing and os.path.exists(progress)):
            plots.save_progress_gif(self.logs.samples, progress)

    def flush(self):
        if self.writer is not None:
            self.writer.flush()
