"""Training: `train(config)`, one top-to-bottom loop: set-up, restore, then graph calls
of many steps (gan_tf.training.steps) up to the next event of the schedule, and per event one
call (gan_tf.training.outputs, gan_tf.evaluation)."""
import contextlib
import logging
import os
import time

import tensorflow as tf

from gan_tf import data as data_lib
from gan_tf import inference
from gan_tf import models
from gan_tf.errors import RunError
from gan_tf.evaluation import RunEvaluation
from gan_tf.runs import EVAL_FILE, RunDirectory, threads_to_resume, write_config
from gan_tf.tf1 import checkpoints as tf1_checkpoints
from gan_tf.tf1 import network
from gan_tf.training import distribute, precision, threads
from gan_tf.training.outputs import RunOutputs, Schedule
from gan_tf.training.progress import Progress
from gan_tf.training.steps import GANTrainer
from gan_tf.training.stopping import EvaluationStopped, StopRequest, check_finite

log = logging.getLogger(__name__)

CALL_SECONDS = 2.0  # aim for graph calls about this long


def train(config):
    """Trains (or resumes) the run `config` describes; returns its last metrics record.
    The progress line on stderr comes at most every `config.progress_seconds`
    (gan_tf.training.progress)."""
    config.validate()
    config.check_paths()
    inference.check_memory(models.training_bytes(config), "these networks and samples "
                           "(--z_dim, the widths or channels, --batch_size, --num_samples)",
                           RunError)
    t_setup = time.perf_counter()

    # Set-up: threads per op (a resumed run's as it recorded them) and the strategy
    # (before any other TensorFlow work: thread pools, logical devices and clusters need
    # that), output directory, data, models, optimizers, checkpoint.
    resume_threads = threads_to_resume(config)
    intra_op = threads.configure(config, *resume_threads)
    strategy = distribute.make_strategy(config)
    replicas, chief = strategy.num_replicas_in_sync, distribute.is_chief(strategy)
    if config.batch_size % replicas:
        raise RunError(f"--batch_size={config.batch_size} (the global batch) does not split "
                       f"evenly over {replicas} replicas of --strategy={config.strategy}")
    if config.coverage_pool % replicas:
        raise RunError(f"--coverage_pool={config.coverage_pool} (the global pool) does not "
                       f"split evenly over {replicas} replicas of --strategy={config.strategy}")
    if config.mode_seeking_weight and (config.batch_size // replicas) % 2:
        raise RunError(f"--mode_seeking_weight pairs the rows of each replica's batch: "
                       f"--batch_size={config.batch_size} over {replicas} replicas leaves "
                       f"{config.batch_size // replicas}, an odd number")
    if config.init_from_tf1_checkpoint:  # fail on a wrong path now, not after loading data
        tf1_checkpoints.resolve_checkpoint(config.init_from_tf1_checkpoint)
        tf1_checkpoints.read_name_map(config.tf1_name_map)
    if config.model == "tf1":  # a legacy function that fails fails now, before any work
        network.check_functions(config)
    # The run directory, checked and locked for the life of the run (by the chief: other
    # workers write to a scratch one), and left as it was if the run fails to start.
    with RunDirectory(config, chief) as run:
        if (run.resumes, run.recorded_threads) != resume_threads:  # read again, locked
            raise RunError(f"--output_dir={run.path} changed while this run started (another "
                           "process wrote there); start it again")
        run.threads_per_op = intra_op[0]
        return _train(config, strategy, run, t_setup, intra_op)


def _train(config, strategy, run, t_setup, intra_op):
    chief = distribute.is_chief(strategy)
    write_dir = run.path if chief else distribute.scratch_dir()
    distribute.agree(strategy, [0])  # workers wait for the chief's run directory
    all_data = data_lib.load(config.dataset, config.data_dir)
    data = data_lib.without_classes(all_data, config.exclude_classes)
    # Only the chief evaluates; a classifier that cannot be had is found now.
    evaluation = RunEvaluation(config, data, all_data, run.path,
                               enabled=bool(chief and config.eval_samples))
    batches = _check_data(config, data)
    schedule = Schedule.of(config, batches // config.d_steps_per_g_step)
    trainer = _build_trainer(config, strategy, chief, data, batches // config.d_steps_per_g_step,
                             run, intra_op)
    outputs = RunOutputs(config, write_dir, trainer, run.latest, batches, schedule.log_every)
    run.check_data(all_data.record())
    if config.init_from_tf1_checkpoint and not outputs.latest:  # a TF1 checkpoint that does
        _init_from_tf1(config, trainer)  # not fit fails before claim() removes an old run
    run.claim()  # every check passed: from here the directory is this run's

    start = _restore(config, trainer, outputs)
    if chief:
        write_config(run.config_to_record(), run.data_record, run.compute_dtype,
                     run.threads_per_op)
    if start >= schedule.max_steps:
        log.info("Run in %s is already at step %d >= %d steps; nothing to do.",
                 run.path, start, schedule.max_steps)
        if chief:  # a run killed right after its last checkpoint lacks these
            outputs.save_plots(gif=True, only_missing=True)
            if evaluation.enabled and not os.path.exists(os.path.join(run.path, EVAL_FILE)):
                _evaluate_finished_run(start, trainer, outputs, evaluation)
        return outputs.logs.records[-1] if outputs.logs.records else None

    dataset = data_lib.make_dataset(data.train_images, config.batch_size, config.seed,
                                    start_batch=start * config.d_steps_per_g_step,
                                    labels=data.train_labels if config.conditional else None)
    iterator = iter(distribute.distribute_dataset(strategy, dataset))
    outputs.open_events()
    if evaluation.enabled and start:  # eval.json cut back with the logs
        evaluation.write(outputs.logs.records)
    log.info("Training %s on %s: steps %d -> %d (%d steps/epoch), output in %s",
             config.model, data.name, start, schedule.max_steps,
             batches // config.d_steps_per_g_step, run.path)
    loop = _Loop(config, strategy, trainer, outputs, evaluation, schedule, chief)
    step = loop.run(iterator, start, t_setup, run.path)
    outputs.flush()
    if evaluation.failure is not None:
        raise RunError(f"training reached step {step} and is saved in {run.path}, but its "
                       f"evaluation failed: {evaluation.failure}")
    log.info("Done: step %d. Outputs in %s.", step, run.path)
    return outputs.last_record


def _evaluate_finished_run(step, trainer, outputs, evaluation):
    """A finished run without eval.json (its evaluation failed, say, on a damaged
    classifier since repaired) evaluates its last step now."""
    log.info("Run is finished but has no %s: evaluating step %d.", EVAL_FILE, step)
    outputs.open_events()
    result = evaluation(step, trainer.sampler, trainer.discriminator)
    if result:  # into the last step's record, as an uninterrupted run's
        outputs.log_evaluation(step, result)
        outputs.keep_if_best(step)
        evaluation.write(outputs.logs.records)
    outputs.flush()
    if evaluation.failure is not None:
        raise RunError(f"the run is finished, but its evaluation failed: {evaluation.failure}")


def _check_data(config, data):
    """Logs what the run trains on; returns its batches per epoch (RunError if too few
    images for one step)."""
    log.info("Data: %s from %s: %d train / %d held-out images%s.", data.name, data.source,
             len(data.train_images), len(data.test_images),
             f" (without class {', '.join(map(str, config.exclude_classes))})"
             if config.exclude_classes else "")
    batches = data_lib.batches_per_epoch(len(data.train_images), config.batch_size)
    if batches // config.d_steps_per_g_step < 1:
        raise RunError(f"--batch_size={config.batch_size} with --d_steps_per_g_step="
                       f"{config.d_steps_per_g_step} needs more than the "
                       f"{len(data.train_images)} training images for one step")
    return batches


def _build_trainer(config, strategy, chief, data, steps_per_epoch, run, intra_op):
    """The networks and the trainer, their variables mirrored over the replicas, computing
    in the type --mixed_precision chooses (kept in `run.compute_dtype` for config.json)."""
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.random.set_seed(config.seed)  # initial weights
    dtype, why = distribute.choose_precision(config, strategy, run.recorded_compute_dtype)
    run.compute_dtype = dtype
    log.info("Computing in %s%s (%s).", dtype,
             "" if dtype == "float32" else ", variables in float32", why)
    log.info("Running %s (%s).", threads.describe(intra_op[0]), intra_op[1])
    note = precision.cpu_note(dtype, distribute.device_type(strategy))
    if note:
        log.warning("--mixed_precision=%s: %s.", config.mixed_precision, note)
    with strategy.scope():
        generator, discriminator = models.build(config, dtype, data.image_shape, data.num_classes)
        ema_generator = (models.build_generator(config, "generator_ema", dtype, data.image_shape,
                                                data.num_classes)
                         if config.g_ema else None)
        trainer = GANTrainer(config, generator, discriminator, ema_generator, strategy,
                             steps_per_epoch)
    replicas = strategy.num_replicas_in_sync
    if replicas > 1 or config.strategy != "default":
        log.info("Strategy %s: %d replica(s) of %d images each%s.",
                 config.strategy, replicas, config.batch_size // replicas,
                 "" if chief else "; this worker writes nothing to the run directory")
    return trainer


def _init_from_tf1(config, trainer):
    """A new run's weights from its --init_from_tf1_checkpoint."""
    tf1_checkpoints.init_from_tf1(config, trainer.generator, trainer.discriminator)
    if trainer.ema_generator is not None:
        trainer.reset_ema()


def _restore(config, trainer, outputs):
    """The latest checkpoint (the chief's) and the logs cut back to its step; returns the
    step (a new run's TF1 warm start was loaded before the directory was claimed)."""
    if outputs.latest:
        outputs.restore()
        log.info("Resuming from %s at step %d.", outputs.latest, int(trainer.step.numpy()))
    start = int(trainer.step.numpy())
    outputs.logs.resume(start)
    return start


class _Loop:
    """Runs in-graph up to the next sample / checkpoint / eval event, in calls of about
    CALL_SECONDS each so that a stop request is answered promptly; the log records of
    the steps of each call are written after it."""

    def __init__(self, config, strategy, trainer, outputs, evaluation, schedule, chief):
        self.config, self.strategy, self.trainer, self.chief = config, strategy, trainer, chief
        self.outputs, self.evaluation, self.schedule = outputs, evaluation, schedule

    def run(self, iterator, start, t_setup, run_dir):
        """Trains from `start`; returns the step it stopped at (Interrupted on a signal)."""
        c, max_steps = self.config, self.schedule.max_steps
        deadline = t_setup + c.max_seconds if c.max_seconds else None
        step, chunk = start, 1
        progress = Progress(max_steps, self.trainer.metric_keys, start, c.progress_seconds,
                            self.outputs.batches_per_epoch / c.d_steps_per_g_step)
        with StopRequest() as stop, progress:
            self.stop = stop
            while step < max_steps:
                n = self.schedule.steps_to_next_event(step, chunk)
                history, chunk, out_of_time, signalled = self._steps(
                    iterator, step, n, deadline, stop)
                step += n
                final = step >= max_steps or out_of_time  # the run ends after this step
                stopping = signalled and not final
                progress.update(step, history, final)
                stopping = self._events(step, final, stopping, progress)
                if stopping:
                    self.outputs.flush()
                    raise stop.interrupted(step, run_dir)
                if out_of_time and step < max_steps:
                    log.info("--max_seconds=%g reached at step %d; rerun to continue.",
                             c.max_seconds, step)
                    break
        return step

    def _steps(self, iterator, step, n, deadline, stop):
        """`n` steps from `step` in one graph call, checked for divergence; then what
        every worker of a cluster, whose steps run in lockstep, decides the same (their
        means): the next call's length, the deadline, a stop request."""
        done = step
        t0 = time.perf_counter()
        try:  # the steps and the agreement: collective ops in a cluster
            history, finite = self.trainer.train_steps(iterator, tf.constant(n, tf.int64))
            history = history.numpy()
            elapsed = time.perf_counter() - t0
            check_finite(history, bool(finite), step, self.outputs.last_checkpoint,
                         self.trainer.metric_keys)
            done = step + n
            self.outputs.add_steps(history, elapsed)
            chunk, out_of_time, signalled = distribute.agree(self.strategy, [
                n / max(elapsed, 1e-6) * CALL_SECONDS,
                deadline is not None and time.perf_counter() >= deadline,
                stop.signal is not None])
        except distribute.PEER_ERRORS as e:
            distribute.raise_if_worker_lost(self.strategy, e, done, self.outputs.last_checkpoint)
            raise
        return history, max(1, int(chunk)), out_of_time > 0, signalled > 0

    def _events(self, step, final, stopping, progress):
        """Log, sample, save, then evaluate: the events of `step` (a stop saves too). The
        checkpoint comes before the evaluation, so that an evaluation that dies (however)
        costs no steps. Returns whether the run stops here (also when a signal cut the
        evaluation short)."""
        due = self.schedule.due(step, final)
        self.outputs.log(step, None, final=final or stopping)
        if self.chief and "sample" in due:
            self.outputs.sample(step)
        saved = "checkpoint" in due or stopping
        if saved:
            self._save(step, final, stopping, progress)
        if self.evaluation.enabled and "eval" in due:
            progress.end_line()
            # A signal during the evaluation drops it, so the run saves and stops at once
            # (in a cluster, whose workers stop together, the evaluation is finished).
            interruptible = (self.stop.evaluating() if self.config.strategy != "multi_worker"
                             else contextlib.nullcontext())
            try:
                with interruptible:
                    evaluation = self.evaluation(step, self.trainer.sampler,
                                                 self.trainer.discriminator)
            except EvaluationStopped:
                log.warning("Evaluation at step %d dropped unfinished.", step)
                evaluation, stopping = None, not final
            if evaluation:
                self.outputs.log_evaluation(step, evaluation)
                self.outputs.keep_if_best(step)
                self.evaluation.write(self.outputs.logs.records)
            if stopping and not saved:
                self._save(step, final, stopping, progress)
        return stopping

    def _save(self, step, final, stopping, progress):
        progress.end_line()
        self.outputs.save_checkpoint(step)
        if self.chief:
            self.outputs.save_plots(gif=final, mid_run=not (final or stopping))
