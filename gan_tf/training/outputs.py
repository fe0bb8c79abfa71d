"""What a run writes while it trains, and when: the schedule of its events, and the
outputs (logs, TensorBoard events, fixed-z sample grids, loss plot, GIF, checkpoints)."""
import dataclasses
import logging
import math
import os
import time

import numpy as np
import tensorflow as tf

from gan_tf import models
from gan_tf.errors import LogFileError, RunError
from gan_tf.randomness import fixed_codes, fixed_z
from gan_tf.runs import (CHECKPOINT_DIR, LOSS_PLOT, PROGRESS_GIF, SAMPLE_DIR, TENSORBOARD_DIR,
                         checkpoints)
from gan_tf.runs import logs as logs_lib
from gan_tf.runs import plots
from gan_tf.runs.checkpoints import CheckpointSaver

log = logging.getLogger(__name__)

PLOT_SECONDS = 60.0  # the loss plot is redrawn at checkpoints at most this often


def _scalar_writer(writer, names):
    """A graph function writing scalars `names` (a tuple) of many steps to `writer`, as
    tf.summary.scalar writes one (its metadata; tf.summary.write because scalar would
    prefix the loop's name scope to the tags)."""
    metadata = tf.compat.v1.SummaryMetadata(
        plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars"))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64),
                                  tf.TensorSpec([None, len(names)], tf.float32)])
    def write(steps, values):
        with writer.as_default():
            for i in tf.range(tf.shape(steps)[0]):
                for j, name in enumerate(names):
                    tf.summary.write(name, values[i, j], step=steps[i], metadata=metadata)
    return write


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
        return {"eval": self.eval_every, "sample": self.sample_every,
                "checkpoint": self.checkpoint_every}

    def steps_to_next_event(self, step, most):
        """How many steps the next graph call may run from `step`: up to the next event
        that needs the model at its step (not log records: RunOutputs cuts those from
        the per-step rows afterwards), and at most `most`."""
        next_event = min(self.max_steps, *[(step // every + 1) * every
                                           for every in self._intervals().values()])
        return min(next_event - step, most)

    def due(self, step, final):
        """The events ("eval", "sample", "checkpoint") that fall on `step`; every one at
        the `final` step."""
        return {name for name, every in self._intervals().items() if final or step % every == 0}


class RunOutputs:
    """The files of a training run in `write_dir` (a scratch directory on workers other
    than the chief): the logs (gan_tf.runs.logs), TensorBoard events, the fixed-z sample
    grids, the loss plot and GIF, and the checkpoints of `trainer`."""

    def __init__(self, config, write_dir, trainer, latest, batches_per_epoch, log_every):
        """`latest`: the checkpoint the run resumes from (the chief's), or None;
        `log_every`: steps per metrics record (Schedule.log_every)."""
        self.config, self.write_dir, self.trainer, self.latest = config, write_dir, trainer, latest
        self.batches_per_epoch, self.log_every = batches_per_epoch, log_every
        self.checkpoint = trainer.checkpoint()
        # The best evaluation's networks, as a reader restores them (gan_tf.runs.restore).
        self.best_checkpoint = tf.train.Checkpoint(**checkpoints.reader_objects(
            trainer.sampler, trainer.discriminator, ema=bool(config.g_ema)))
        self.saver = CheckpointSaver(self.checkpoint, os.path.join(write_dir, CHECKPOINT_DIR))
        self.logs = logs_lib.RunLogs(write_dir)
        self.grid_z = fixed_z(config)
        # A conditional run's grid: a class per column; an InfoGAN run's: random codes, the
        # codes gan_tf.sample draws with the run's seed.
        self.grid_labels = (fixed_codes(config) if trainer.num_codes else
                            models.grid_labels(config.num_samples, trainer.generator.num_classes))
        self.summary_keys = trainer.metric_keys + ("steps_per_sec",)
        self.writer = None
        self.last_record = None  # the last metrics record written
        self._rows, self._seconds = [], []  # per-step metric rows and seconds not yet logged
        self._call_end = time.time()  # when the last graph call ended
        self._summary_writers = {}  # tuple of scalar names -> its graph function
        self._plot_time = -math.inf  # when the loss plot was last drawn (time.monotonic)

    @property
    def last_checkpoint(self):
        """The latest checkpoint saved, or the one the run resumed from (or None)."""
        return self.saver.latest or self.latest

    def restore(self):
        """Restores the trainer from `latest` (or raises RunError, one line)."""
        checkpoints.restore(self.checkpoint, self.latest)

    def open_events(self):
        """Opens the TensorBoard writer (when training starts: a run that fails to start,
        or has nothing left to do, writes none)."""
        self.writer = tf.summary.create_file_writer(os.path.join(self.write_dir, TENSORBOARD_DIR))

    def add_steps(self, history, elapsed):
        """Adds the metric rows of one graph call's steps, which took `elapsed` seconds."""
        self._rows.append(history)
        self._seconds.append(np.full(len(history), elapsed / max(len(history), 1)))
        self._call_end = time.time()

    @property
    def has_steps(self):
        """Whether steps since the last record wait to be logged."""
        return any(len(rows) for rows in self._rows)

    def log_evaluation(self, step, evaluation):
        """Adds an evaluation of `step`, whose records `log` wrote already: merged into the
        record of `step`, or a record alone (gan_tf.runs.logs.RunLogs.add_evaluation)."""
        self._summaries([step], [list(evaluation.values())],
                        tuple("eval/" + name for name in evaluation))
        self.logs.add_evaluation(step, evaluation, time.time())

    def log(self, step, evaluation, final):
        """Writes the records up to `step`, where the last graph call ended: one per log
        interval that ended in it, cut from the per-step rows (the call need not end at
        an interval's end), in one append to each log file; with `final` (the run ends
        or stops at `step`) one of the steps left; then `evaluation` (if any) as
        log_evaluation adds it."""
        records = self._cut_records(step, final)
        if records:
            self._summaries([r["step"] for r in records],
                            [[r[name] for name in self.summary_keys] for r in records],
                            self.summary_keys)
            self.last_record = records[-1]
        self.logs.extend(records)
        if evaluation:
            self.log_evaluation(step, evaluation)

    def _cut_records(self, step, final):
        """The metrics records of the log intervals ending at or before `step`, and with
        `final` of the steps after the last of them; their rows are then dropped."""
        if not self.has_steps:
            return []
        rows, seconds = np.concatenate(self._rows), np.concatenate(self._seconds)
        first = step - len(rows)  # the step before the first row
        every = self.log_every
        ends = list(range((first // every + 1) * every, step + 1, every))
        if final and (not ends or ends[-1] != step):
            ends.append(step)
        records, begin = [], 0
        for end in ends:
            i = end - first  # rows [begin, i) are the interval's
            records.append({
                "step": end,
                "epoch": round(end * self.config.d_steps_per_g_step / self.batches_per_epoch, 4),
                **dict(zip(self.trainer.metric_keys,
                           rows[begin:i].mean(axis=0, dtype=np.float64).tolist())),
                "steps_per_sec": (i - begin) / max(float(seconds[begin:i].sum()), 1e-9),
                "time": self._call_end - float(seconds[i:].sum())})
            begin = i
        self._rows, self._seconds = [rows[begin:]], [seconds[begin:]]
        return records

    def _summaries(self, steps, values, names):
        """Scalars `names` of each step, (len(steps), len(names)) `values`, to TensorBoard
        in one graph call (eagerly, 7 scalars cost about 1.5 ms a record)."""
        if names not in self._summary_writers:
            self._summary_writers[names] = _scalar_writer(self.writer, names)
        self._summary_writers[names](tf.constant(steps, tf.int64),
                                     tf.constant(values, tf.float32))

    def sample(self, step):
        """The fixed-z grid of the generator samples show, at `step`."""
        images, _ = self.trainer.sampler(self.grid_z, training=False, labels=self.grid_labels)
        self.logs.append_samples(step, images.numpy())
        plots.save_grid(images.numpy(),
                        os.path.join(self.write_dir, SAMPLE_DIR, f"step_{step:07d}.png"))
        with self.writer.as_default(step=step):
            tf.summary.image("samples", (images + 1.0) / 2.0, max_outputs=self.config.num_samples)

    def keep_if_best(self, step):
        """Writes checkpoints/best-STEP when the evaluation of `step` (already logged)
        scores higher than every earlier one of the run (runs.checkpoints.BEST_METRIC)."""
        best = checkpoints.best_record(self.logs.records)
        if best is None or best["step"] != step:
            return
        directory = os.path.join(self.write_dir, CHECKPOINT_DIR)
        try:
            prefix = checkpoints.keep_best(self.best_checkpoint, directory, step)
        except (tf.errors.OpError, OSError) as e:
            raise RunError(f"cannot write the best checkpoint of step {step} in {directory}: "
                           f"{str(e).splitlines()[0]}") from None
        log.info("step %d: the best %s so far (%.3f), kept as %s", step,
                 checkpoints.BEST_METRIC, best[checkpoints.BEST_METRIC], prefix)

    def save_checkpoint(self, step):
        try:
            self.saver.save(step)
        except (tf.errors.OpError, OSError, LogFileError) as e:
            raise RunError(f"cannot write checkpoint {step} in {self.saver.directory}: "
                           f"{str(e).splitlines()[0]}") from None
        log.info("step %d: checkpoint saved (%s)", step, self.saver.latest)

    def save_plots(self, gif, only_missing=False, mid_run=False):
        """The loss curve of the logged records and, with `gif`, the GIF of the sample
        grids; with `only_missing`, only those not written already. `mid_run` (a
        checkpoint before the end): the curve only if PLOT_SECONDS have passed since it
        was last drawn (drawing it costs 0.1-0.2 s, 5% of a default run's training)."""
        records = [r for r in self.logs.records if "d_loss" in r]  # not evaluation-only ones
        loss_plot = os.path.join(self.write_dir, LOSS_PLOT)
        progress = os.path.join(self.write_dir, PROGRESS_GIF)
        due = not (mid_run and time.monotonic() - self._plot_time < PLOT_SECONDS)
        if records and due and not (only_missing and os.path.exists(loss_plot)):
            plots.save_loss_plot([r["step"] for r in records], [r["d_loss"] for r in records],
                                 [r["g_loss"] for r in records], loss_plot)
            self._plot_time = time.monotonic()
        if gif and not (only_missing and os.path.exists(progress)):
            plots.save_progress_gif(self.logs.samples, progress)

    def flush(self):
        if self.writer is not None:
            self.writer.flush()
