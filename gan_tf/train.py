"""Training: the GAN update steps and one top-to-bottom loop (set-up, restore, loop, log, save).

The steps are written the TF1 way: the variable lists each optimizer updates
are the trainable variables filtered by scope name (`generator/`,
`discriminator/`), as `tf.trainable_variables()` was filtered in TF1 code.
"""
import json
import logging
import os
import signal
import threading
import time

import numpy as np
import tensorflow as tf

from gan_tf import classifier as classifier_lib
from gan_tf import data as data_lib
from gan_tf import logs as logs_lib
from gan_tf import batching, distribute, fileio, losses, metrics, models, plots, porting, tricks
from gan_tf.errors import (ClassifierError, Diverged, Interrupted, LogFileError, RunError,
                           checkpoint_errors)
from gan_tf.progress import Progress
from gan_tf.runs import (CHECKPOINT_DIR, EVAL_FILE, LOSS_PLOT, PROGRESS_GIF, SAMPLE_DIR,
                         TENSORBOARD_DIR, RunDirectory, write_config)

log = logging.getLogger(__name__)

# Speed options whose best setting depends on the architecture, by measurement
# (benchmarks/throughput.py, docs/performance.md): XLA speeds the MLP step up on a
# CPU and slows conv steps down; joint updates save the DCGAN a generator pass.
SPEED_DEFAULTS = {"jit_compile": {"mlp": True, "dcgan": False},
                  "joint_updates": {"mlp": False, "dcgan": True}}
CALL_SECONDS = 2.0  # aim for graph calls about this long
METRIC_KEYS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
def scope_variables(variables, scope):
    """The variables under `scope/`, as TF1 code filtered tf.trainable_variables()."""
    return [v for v in variables if v.name.startswith(scope + "/")]


def make_optimizer(name, learning_rate, beta1, loss_scaling=False):
    """Adam (TF1's epsilon) or RMSprop; wrapped in dynamic loss scaling for float16."""
    if name == "adam":
        optimizer = tf.keras.optimizers.Adam(learning_rate, beta_1=beta1, epsilon=1e-8)
    elif name == "rmsprop":
        optimizer = tf.keras.optimizers.RMSprop(learning_rate)
    else:
        raise ValueError(f"unknown optimizer {name!r}")
    return tf.keras.optimizers.LossScaleOptimizer(optimizer) if loss_scaling else optimizer


def sample_z(shape, seed, distribution):
    """Latent codes, a pure function of a stateless seed: uniform in [-1, 1] or standard
    normal."""
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
    return tf.random.stateless_normal(shape, seed)


def fixed_z(config, num=None, stream=20140610):
    """The same latent codes for every sample grid (or evaluation) of a run: a function
    of the seed and `stream`."""
    seed = tf.constant([config.seed, stream], tf.int64)
    return sample_z([num or config.num_samples, config.z_dim], seed, config.z_distribution)


RANDOM_STREAM = 2  # the train step's random numbers: stream (seed, 2), folded with the step


class StepRandom:
    """The random numbers of one train step, as pure functions of (seed, step): a
    resumed run draws what an uninterrupted one would, with no generator state to
    checkpoint. Each call site gets its own stream (in trace order).

    Under a strategy with several replicas, every replica draws the latent codes of
    the whole global batch and keeps its slice, so z is the same at any replica
    count; dropout masks and the tricks' noise are drawn per replica (same
    distribution, other numbers)."""

    def __init__(self, seed, step, replicas):
        self.key = tf.random.experimental.stateless_fold_in(
            tf.constant([seed, RANDOM_STREAM], tf.int64), step)
        self.draws, self.replicas = 0, replicas
        context = tf.distribute.get_replica_context()
        self.replica = 0 if context is None or replicas == 1 else context.replica_id_in_sync_group

    def seed(self):
        """The next seed, the same on every replica."""
        self.draws += 1
        return tf.random.experimental.stateless_fold_in(self.key, self.draws)

    def local_seed(self):
        """The next seed, this replica's own."""
        seed = self.seed()
        return seed if self.replicas == 1 else tf.random.experimental.stateless_fold_in(
            seed, tf.cast(self.replica, tf.int64))

    def z(self, local_batch, z_dim, distribution):
        """This replica's rows of the global batch's latent codes: (local_batch, z_dim)."""
        return self._rows(sample_z([local_batch * self.replicas, z_dim], self.seed(),
                                   distribution), local_batch)

    def labels(self, local_batch, num_classes):
        """This replica's part of the global batch's uniformly drawn class labels."""
        return self._rows(tf.random.stateless_uniform(
            [local_batch * self.replicas], self.seed(), 0, num_classes, tf.int32), local_batch)

    def _rows(self, values, local_batch):
        if self.replicas == 1:
            return values
        return values[self.replica * local_batch:(self.replica + 1) * local_batch]


class GANTrainer(tf.Module):
    """The two networks, their optimizers over scope-filtered variables, and the steps.

    Build it (and the networks) under `strategy.scope()` to train under a tf.distribute
    strategy; `config.batch_size` is the global batch, split over the replicas."""

    def __init__(self, config, generator, discriminator, ema_generator=None, strategy=None):
        super().__init__(name="trainer")
        self.config, self.generator, self.discriminator = config, generator, discriminator
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % self.replicas:
            raise ValueError(f"--batch_size={config.batch_size} does not split evenly over "
                             f"{self.replicas} replicas")
        self.local_batch = config.batch_size // self.replicas
        self.num_classes = generator.num_classes  # > 0: real batches are (images, labels)
        # --g_ema: a second generator holding the moving average of this one's weights.
        self.ema_generator = ema_generator
        if ema_generator is not None:
            self._ema_pairs = list(zip(ema_generator.variables, generator.variables))
            for ema, v in self._ema_pairs:
                if ema.shape != v.shape or ema.name.split("/", 1)[1] != v.name.split("/", 1)[1]:
                    raise ValueError(f"EMA generator variable {ema.name} does not match {v.name}")
            self.reset_ema()
        trainable = list(generator.trainable_variables) + list(discriminator.trainable_variables)
        self.g_vars = scope_variables(trainable, generator.name)
        self.d_vars = scope_variables(trainable, discriminator.name)
        # float16 compute needs loss scaling (bfloat16 has float32's exponent range).
        self.loss_scaling = generator.compute_dtype == "float16"
        self.g_optimizer = make_optimizer(config.optimizer, config.g_learning_rate, config.g_beta1,
                                          self.loss_scaling)
        self.d_optimizer = make_optimizer(config.optimizer, config.d_learning_rate, config.d_beta1,
                                          self.loss_scaling)
        # Build the slots now, not lazily inside tf.function (under MirroredStrategy a lazy
        # build inside strategy.run fails).
        self.g_optimizer.build(self.g_vars)
        self.d_optimizer.build(self.d_vars)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        # One step (D updates + G update) as its own function, XLA-compiled if asked (on
        # one replica: the optimizers' cross-replica sums do not compile here).
        jit = resolve_option(config, "jit_compile") and self.replicas == 1
        self._compiled_step = tf.function(self.train_step, jit_compile=jit)

    def _minimize(self, tape, optimizer, loss, variables):
        """One update of `variables` down the gradient of `loss` (from `_scaled`; the
        optimizer sums the replicas' gradients)."""
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))

    def _scaled(self, loss, optimizer):
        """What a tape differentiates for `loss`: divided by the replica count, and
        multiplied by the loss scale under float16."""
        loss = loss / self.replicas if self.replicas > 1 else loss
        return optimizer.scale_loss(loss) if self.loss_scaling else loss

    def _d_input(self, x, rand):
        """What D sees of a batch in training: translated, then noised (each if on)."""
        c = self.config
        if c.d_translate:
            x = tricks.translate(x, rand.local_seed(), c.d_translate)
        if c.instance_noise:
            x = tricks.instance_noise(x, rand.local_seed(), self.step, c.instance_noise,
                                      c.instance_noise_steps)
        return x

    def _discriminate(self, real, fake, rand, real_labels=None, fake_labels=None):
        """D on the real and the fake batch in one call on their concatenation (the same
        math as two calls: D has no batch statistics), which is faster. Returns D's
        losses and mean verdicts, and the fake batch's logits."""
        n = tf.shape(real)[0]
        seed = rand.local_seed()  # dropout
        labels = (tf.concat([tf.cast(real_labels, tf.int32), fake_labels], 0)
                  if self.num_classes else None)
        probs, logits = self.discriminator(self._d_input(tf.concat([real, fake], 0), rand),
                                           training=True, seed=seed, labels=labels)
        flips = [tricks.label_flips(rand.local_seed(), n, self.config.label_flip)
                 if self.config.label_flip else None for _ in range(2)]
        d_loss, d_loss_real, d_loss_fake = losses.discriminator_loss(
            logits[:n], logits[n:], self.config.label_smoothing, *flips)
        return dict(d_loss=d_loss, d_loss_real=d_loss_real, d_loss_fake=d_loss_fake,
                    d_real=tf.reduce_mean(probs[:n]), d_fake=tf.reduce_mean(probs[n:])), logits[n:]

    def _random(self):
        return StepRandom(self.config.seed, self.step, self.replicas)

    def _z(self, rand):
        return rand.z(self.local_batch, self.config.z_dim, self.config.z_distribution)

    def _fake_labels(self, rand):
        """Classes for a fake batch (conditional models; None otherwise)."""
        return rand.labels(self.local_batch, self.num_classes) if self.num_classes else None

    def _real(self, batch):
        """(images, labels) of a real batch; labels None for unconditional models."""
        return batch if self.num_classes else (batch, None)

    def discriminator_step(self, real, rand=None):
        """One update of D's variables on a real batch and a fresh fake batch."""
        rand = rand or self._random()
        real, real_labels = self._real(real)
        z, fake_labels = self._z(rand), self._fake_labels(rand)
        fake, _ = self.generator(z, training=True, update_stats=False, labels=fake_labels)
        with tf.GradientTape() as tape:
            metrics, _ = self._discriminate(real, fake, rand, real_labels, fake_labels)
            loss = self._scaled(metrics["d_loss"], self.d_optimizer)
        self._minimize(tape, self.d_optimizer, loss, self.d_vars)
        return metrics

    def generator_step(self, rand=None):
        """One update of G's variables through D's verdict on a fresh fake batch."""
        rand = rand or self._random()
        z, labels = self._z(rand), self._fake_labels(rand)
        seed = rand.local_seed()
        with tf.GradientTape() as tape:
            fake, _ = self.generator(z, training=True, labels=labels)
            _, fake_logits = self.discriminator(self._d_input(fake, rand), training=True, seed=seed,
                                                labels=labels)
            g_loss = losses.generator_loss(fake_logits)
            loss = self._scaled(g_loss, self.g_optimizer)
        self._minimize(tape, self.g_optimizer, loss, self.g_vars)
        return dict(g_loss=g_loss)

    def joint_step(self, real, rand=None):
        """The last D update and the G update from one forward pass, as the TensorFlow
        DCGAN tutorial does: one fake batch, two tapes, G's gradient through D's
        weights before D's update. One generator forward pass instead of two."""
        rand = rand or self._random()
        real, real_labels = self._real(real)
        z, fake_labels = self._z(rand), self._fake_labels(rand)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake, _ = self.generator(z, training=True, labels=fake_labels)
            metrics, fake_logits = self._discriminate(real, fake, rand, real_labels, fake_labels)
            metrics["g_loss"] = losses.generator_loss(fake_logits)
            d_loss = self._scaled(metrics["d_loss"], self.d_optimizer)
            g_loss = self._scaled(metrics["g_loss"], self.g_optimizer)
        d_grads = d_tape.gradient(d_loss, self.d_vars)
        g_grads = g_tape.gradient(g_loss, self.g_vars)
        self.d_optimizer.apply_gradients(zip(d_grads, self.d_vars))
        self.g_optimizer.apply_gradients(zip(g_grads, self.g_vars))
        return metrics

    def reset_ema(self):
        """EMA generator <- generator (at the start, and after loading other weights)."""
        for ema, v in self._ema_pairs:
            ema.assign(v)

    def update_ema(self):
        """EMA generator <- decay * EMA + (1 - decay) * generator (batch-norm statistics,
        themselves averages, are copied)."""
        decay = self.config.g_ema
        for ema, v in self._ema_pairs:
            ema.assign(decay * ema + (1.0 - decay) * v if v.trainable else v)

    def train_step(self, real_batches):
        """On one replica: d_steps_per_g_step D updates (one per real batch), then one G
        update. Returns the step's metrics in METRIC_KEYS order (this replica's means)."""
        rand = self._random()
        if resolve_option(self.config, "joint_updates"):
            for real in real_batches[:-1]:
                self.discriminator_step(real, rand)
            metrics = self.joint_step(real_batches[-1], rand)
        else:
            for real in real_batches:
                d_metrics = self.discriminator_step(real, rand)
            metrics = {**d_metrics, **self.generator_step(rand)}
        return tf.stack([metrics[k] for k in METRIC_KEYS])

    @tf.function
    def train_steps(self, iterator, num_steps):
        """Runs `num_steps` steps in one graph call (Python runs once, not per step).

        `iterator` yields global real batches (data.make_dataset, distributed by the
        strategy). Returns the metrics of every step, means over the global batch,
        (num_steps, len(METRIC_KEYS)) float32, and whether every variable is still
        finite afterwards.
        """
        history = tf.TensorArray(tf.float32, size=tf.cast(num_steps, tf.int32))
        for i in tf.range(num_steps):
            batches = [next(iterator) for _ in range(self.config.d_steps_per_g_step)]
            rows = self.strategy.run(self._compiled_step, args=(batches,))
            row = self.strategy.reduce(tf.distribute.ReduceOp.MEAN, rows, axis=None)
            if self.ema_generator is not None:
                self.update_ema()
            history = history.write(tf.cast(i, tf.int32), row)
            self.step.assign_add(1)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v))
                                for v in self.generator.variables + self.discriminator.variables])
        return history.stack(), finite


def resolve_option(config, name):
    """A speed option's flag value, or its per-architecture default (docs/performance.md)."""
    value = getattr(config, name)
    return SPEED_DEFAULTS[name][config.model] if value is None else value


def init_from_tf1(config, generator, discriminator):
    """Loads a legacy TF1 checkpoint: the generator, and the discriminator if it has one."""
    path, name_map = config.init_from_tf1_checkpoint, config.tf1_name_map
    stored = porting.read_tf1_checkpoint(path, name_map)
    has_d = any(n.startswith(discriminator.name + "/") for n in stored)
    loaded = porting.load_tf1_checkpoint(path, generator, discriminator if has_d else None,
                                         name_map)
    log.info("Initialised %d variables from TF1 checkpoint %s%s.", len(loaded),
             porting.resolve_checkpoint(path), "" if has_d else " (generator only)")


class StopRequest:
    """While active, SIGINT and SIGTERM ask the loop to save and stop instead of killing
    it; a second signal falls through to the previous handler (Ctrl-C twice aborts)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signal, self._previous = None, {}

    def _handle(self, signum, frame):
        self.signal = signum
        log.warning("%s received: saving a checkpoint after the current steps "
                    "(send it again to abort without saving).", signal.Signals(signum).name)
        self._restore()

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        self._restore()
        return False


def check_finite(history, weights_finite, start_step, last_checkpoint):
    """Raises Diverged naming the first step whose losses, or whose weights, are NaN/Inf."""
    bad_rows = ~np.isfinite(history).all(axis=1)
    if not bad_rows.any() and weights_finite:
        return
    if bad_rows.any():
        first = int(np.argmax(bad_rows))
        bad = [k for k, v in zip(METRIC_KEYS, history[first]) if not np.isfinite(v)]
        what = f"at step {start_step + first + 1}: {', '.join(bad)} not finite"
    else:
        what = f"by step {start_step + len(history)}: a weight is NaN or Inf"
    kept = (f"the last good checkpoint {last_checkpoint} is kept and a rerun resumes from it"
            if last_checkpoint else "no checkpoint had been written yet")
    raise Diverged(f"training diverged {what}; no record of it was written; {kept} "
                   "(lower the learning rates or change --seed)")


def save_plots(run_dir, run_logs, gif, only_missing=False):
    """The loss curve of the logged records and, with `gif`, the GIF of the sample grids;
    with `only_missing`, only those not in `run_dir` already."""
    records = [r for r in run_logs.records if "d_loss" in r]  # not evaluation-only ones
    loss_plot, progress = os.path.join(run_dir, LOSS_PLOT), os.path.join(run_dir, PROGRESS_GIF)
    if records and not (only_missing and os.path.exists(loss_plot)):
        plots.save_loss_plot([r["step"] for r in records], [r["d_loss"] for r in records],
                             [r["g_loss"] for r in records], loss_plot)
    if gif and not (only_missing and os.path.exists(progress)):
        plots.save_progress_gif(run_logs.samples, progress)


def save_checkpoint(manager, step):
    try:
        manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as e:
        raise RunError(f"cannot write checkpoint {step} in {manager.directory}: "
                       f"{str(e).splitlines()[0]}") from None


def _is_event(step, every, final):
    return step % every == 0 or final


EVAL_Z_STREAM = 1  # fixed_z stream of the evaluation samples


class RunEvaluator:
    """Sample quality of the generator on fixed latent codes (gan_tf.metrics), in the
    space of the dataset's classifier, against held-out real images."""

    def __init__(self, config, data, all_data=None):
        """`all_data`: the whole dataset when `data` leaves classes out; its classifier
        (trained on every class) gives the feature space."""
        classifier, info = classifier_lib.load_or_train(all_data or data, config.classifier_dir)
        n = min(config.eval_samples, len(data.test_images))
        self.metrics = metrics.Evaluator(classifier, data.test_images[:n])
        self.z = fixed_z(config, config.eval_samples, EVAL_Z_STREAM)
        # Conditional runs: every class equally often (mode coverage then measures
        # whether G draws the class it is asked for, not whether it is asked).
        self.labels = models.grid_labels(config.eval_samples,
                                         models.num_classes(config, data.num_classes))
        self.classifier_info = info

    def __call__(self, generator):
        images = tf.concat([
            generator(self.z[part], training=False,
                      labels=None if self.labels is None else self.labels[part])[0]
            for part in batching.batches(int(self.z.shape[0]), 500)], 0)
        return self.metrics(images.numpy(), self.labels)


def write_eval_file(run_dir, config, records, classifier_info=None):
    """eval.json: every evaluation of the run so far, and the last one. Without
    `classifier_info` the file's earlier one is kept (a resume cutting it back)."""
    path = os.path.join(run_dir, EVAL_FILE)
    if classifier_info is None and os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                classifier_info = json.load(f).get("classifier")
        except (OSError, ValueError, AttributeError):
            classifier_info = None
    evaluations = [{k: r[k] for k in ("step", "time") + EVAL_KEYS + ("label_accuracy",) if k in r}
                   for r in records if "classifier_score" in r]
    doc = {"dataset": config.dataset, "eval_samples": config.eval_samples,
           "classifier": classifier_info, "evaluations": evaluations,
           "final": evaluations[-1] if evaluations else None}
    fileio.atomic_write(path, json.dumps(doc, indent=2).encode("utf-8"))


EVAL_KEYS = ("classifier_score", "frechet_distance", "modes", "mode_kl", "precision", "recall")


# --- the loop -------------------------------------------------------------------

def train(config):
    """Trains (or resumes) the run `config` describes; returns its last metrics record.
    The progress line on stderr comes at most every `config.progress_seconds`
    (gan_tf.progress)."""
    config.validate()
    t_setup = time.perf_counter()

    # Set-up: the strategy (before any other TensorFlow work: logical devices and
    # clusters need that), output directory, data, models, optimizers, checkpoint.
    strategy = distribute.make_strategy(config)
    replicas, chief = strategy.num_replicas_in_sync, distribute.is_chief(strategy)
    if config.batch_size % replicas:
        raise RunError(f"--batch_size={config.batch_size} (the global batch) does not split "
                       f"evenly over {replicas} replicas of --strategy={config.strategy}")
    if config.init_from_tf1_checkpoint:  # fail on a wrong path now, not after loading data
        porting.resolve_checkpoint(config.init_from_tf1_checkpoint)
        porting.read_name_map(config.tf1_name_map)
    # The run directory, checked and locked for the life of the run (by the chief: other
    # workers write to a scratch one), and left as it was if the run fails to start.
    with RunDirectory(config, chief) as run:
        return _train(config, strategy, run, t_setup)


def _train(config, strategy, run, t_setup):
    replicas, chief = strategy.num_replicas_in_sync, distribute.is_chief(strategy)
    run_dir = run.path
    write_dir = run_dir if chief else distribute.scratch_dir()
    distribute.agree(strategy, [0])  # workers wait for the chief's run directory
    all_data = data_lib.load(config.dataset, config.data_dir)
    data = data_lib.without_classes(all_data, config.exclude_classes)
    evaluate = chief and config.eval_samples  # only the chief evaluates
    if evaluate:  # a classifier that cannot be had is found now, not after training
        try:
            classifier_lib.check_available(config.classifier_dir, all_data.name)
        except ClassifierError as e:
            raise RunError(f"{e}; or pass --eval_samples=0") from None
    log.info("Data: %s from %s: %d train / %d held-out images%s.", data.name, data.source,
             len(data.train_images), len(data.test_images),
             f" (without class {', '.join(map(str, config.exclude_classes))})"
             if config.exclude_classes else "")
    batches = data_lib.batches_per_epoch(len(data.train_images), config.batch_size)
    steps_per_epoch = batches // config.d_steps_per_g_step
    if steps_per_epoch < 1:
        raise RunError(f"--batch_size={config.batch_size} with --d_steps_per_g_step="
                       f"{config.d_steps_per_g_step} needs more than the "
                       f"{len(data.train_images)} training images for one step")
    max_steps, log_every, sample_every, checkpoint_every = config.schedule(steps_per_epoch)

    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.random.set_seed(config.seed)  # initial weights
    dtype = distribute.compute_dtype(config, strategy)
    with strategy.scope():  # variables mirrored over the replicas
        generator, discriminator = models.build(config, dtype, data.image_shape, data.num_classes)
        ema_generator = (models.build_generator(config, "generator_ema", dtype, data.image_shape,
                                                data.num_classes)
                         if config.g_ema else None)
        trainer = GANTrainer(config, generator, discriminator, ema_generator, strategy)
    checkpoint = tf.train.Checkpoint(
        step=trainer.step, generator=generator, discriminator=discriminator,
        g_optimizer=trainer.g_optimizer, d_optimizer=trainer.d_optimizer,
        **({"generator_ema": ema_generator} if ema_generator else {}))
    sampler = ema_generator or generator  # what samples and evaluations show
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(write_dir, CHECKPOINT_DIR),
                                         max_to_keep=3)
    if replicas > 1 or config.strategy != "default" or config.mixed_precision:
        log.info("Strategy %s: %d replica(s) of %d images each, computing in %s%s.",
                 config.strategy, replicas, config.batch_size // replicas, dtype,
                 "" if chief else "; this worker writes nothing to the run directory")

    # Restore: the latest checkpoint (the chief's), and the logs cut back to its step.
    latest = run.latest
    if latest:
        try:
            status = checkpoint.restore(latest)
            status.expect_partial()  # no warnings at exit when this fails; the assert still checks
            status.assert_existing_objects_matched()
        except checkpoint_errors() as e:
            raise RunError(f"cannot restore {latest}: {str(e).splitlines()[0]}") from None
        log.info("Resuming from %s at step %d.", latest, int(trainer.step.numpy()))
    elif config.init_from_tf1_checkpoint:
        init_from_tf1(config, generator, discriminator)
        if ema_generator is not None:
            trainer.reset_ema()
    start = int(trainer.step.numpy())
    run_logs = logs_lib.RunLogs(write_dir)
    run_logs.resume(start)
    if chief:
        write_config(config)
    if start >= max_steps:
        log.info("Run in %s is already at step %d >= %d steps; nothing to do.",
                 run_dir, start, max_steps)
        if chief:  # a run killed right after its last checkpoint lacks these
            save_plots(write_dir, run_logs, gif=True, only_missing=True)
        return run_logs.records[-1] if run_logs.records else None

    dataset = data_lib.make_dataset(data.train_images, config.batch_size, config.seed,
                                    start_batch=start * config.d_steps_per_g_step,
                                    labels=data.train_labels if config.conditional else None)
    iterator = iter(distribute.distribute_dataset(strategy, dataset))
    writer = tf.summary.create_file_writer(os.path.join(write_dir, TENSORBOARD_DIR))
    z_fixed = fixed_z(config)
    grid_labels = models.grid_labels(config.num_samples, generator.num_classes)
    evaluator = None  # built at the first evaluation, so that the first step comes fast
    eval_failure = None  # an evaluation that failed: reported once the run is saved
    if evaluate and start:  # eval.json cut back with the logs
        write_eval_file(run_dir, config, run_logs.records)
    eval_every = config.eval_every or max_steps  # None: at the end of the run only
    deadline = t_setup + config.max_seconds if config.max_seconds else None
    log.info("Training %s on %s: steps %d -> %d (%d steps/epoch), output in %s",
             config.model, data.name, start, max_steps, steps_per_epoch, run_dir)

    # Loop: run in-graph up to the next log / sample / checkpoint / eval event, in calls
    # of about CALL_SECONDS each so that a stop request is answered promptly.
    step, chunk = start, 1
    interval, interval_time = [], 0.0  # per-step metric rows of the current log interval
    record = None
    progress = Progress(max_steps, METRIC_KEYS, start, config.progress_seconds,
                        batches / config.d_steps_per_g_step)
    with StopRequest() as stop, progress:
        while step < max_steps:
            next_event = min(max_steps, *[(step // every + 1) * every for every in
                                          (log_every, sample_every, checkpoint_every, eval_every)])
            n = min(next_event - step, chunk)
            t0 = time.perf_counter()
            try:  # the steps and the agreement: collective ops in a cluster
                history, finite = trainer.train_steps(iterator, tf.constant(n, tf.int64))
                history = history.numpy()
                elapsed = time.perf_counter() - t0
                check_finite(history, bool(finite), step, manager.latest_checkpoint or latest)
                step += n
                interval.append(history)
                interval_time += elapsed
                # The next call's length, the deadline and a stop request: the same
                # decisions on every worker of a cluster (their means), whose steps run
                # in lockstep.
                chunk, out_of_time, signalled = distribute.agree(strategy, [
                    n / max(elapsed, 1e-6) * CALL_SECONDS,
                    deadline is not None and time.perf_counter() >= deadline,
                    stop.signal is not None])
            except distribute.PEER_ERRORS as e:
                distribute.raise_if_worker_lost(strategy, e, step,
                                                manager.latest_checkpoint or latest)
                raise
            chunk, out_of_time = max(1, int(chunk)), out_of_time > 0
            final = step >= max_steps or out_of_time  # the run ends after this step
            stopping = signalled > 0 and not final
            progress.update(step, history, final)

            # Evaluate: sample quality on fixed latent codes (gan_tf.metrics).
            evaluation = None
            if evaluate and _is_event(step, eval_every, final):
                progress.end_line()
                try:
                    evaluator = evaluator or RunEvaluator(config, data, all_data)  # may train the classifier
                    evaluation = evaluator(sampler)
                except (ClassifierError, OSError, LogFileError) as e:
                    log.error("Evaluation at step %d failed (%s); training goes on without it.",
                              step, e)
                    evaluate, eval_failure = False, e
            if evaluation:
                log.info("eval step %d: classifier score %.3f, Frechet distance %.2f, %d/10 modes "
                         "(KL %.3f), precision %.3f, recall %.3f", step,
                         *[evaluation[k] for k in EVAL_KEYS])
                if "label_accuracy" in evaluation:
                    log.info("eval step %d: %.1f%% of samples are the class asked for", step,
                             100 * evaluation["label_accuracy"])
                with writer.as_default(step=step):
                    for k, value in evaluation.items():
                        tf.summary.scalar("eval/" + k, value)

            # Log: one record per interval, the metrics averaged over its steps (and the
            # evaluation of this step; a step with only an evaluation gets its own record).
            if _is_event(step, log_every, final) or (stopping and interval):
                rows = np.concatenate(interval)
                steps_per_sec = len(rows) / max(interval_time, 1e-9)
                record = {"step": step,
                          "epoch": round(step * config.d_steps_per_g_step / batches, 4),
                          **dict(zip(METRIC_KEYS, rows.mean(axis=0, dtype=np.float64).tolist())),
                          "steps_per_sec": steps_per_sec, "time": time.time(), **(evaluation or {})}
                run_logs.append(record)
                with writer.as_default(step=step):
                    for k in METRIC_KEYS + ("steps_per_sec",):
                        tf.summary.scalar(k, record[k])
                interval, interval_time = [], 0.0
            elif evaluation:
                run_logs.append({"step": step, "time": time.time(), **evaluation})
            if evaluation:
                write_eval_file(run_dir, config, run_logs.records, evaluator.classifier_info)

            # Sample: the fixed-z grid.
            if chief and _is_event(step, sample_every, final):
                images, _ = sampler(z_fixed, training=False, labels=grid_labels)
                run_logs.append_samples(step, images.numpy())
                plots.save_grid(images.numpy(),
                                os.path.join(write_dir, SAMPLE_DIR, f"step_{step:07d}.png"))
                with writer.as_default(step=step):
                    tf.summary.image("samples", (images + 1.0) / 2.0, max_outputs=config.num_samples)

            # Save: checkpoint, loss curve, and at the end the GIF of the sample grids.
            if _is_event(step, checkpoint_every, final) or stopping:
                save_checkpoint(manager, step)
                progress.end_line()
                log.info("step %d: checkpoint saved (%s)", step, manager.latest_checkpoint)
                if chief:
                    save_plots(write_dir, run_logs, gif=final)
            if stopping:
                writer.flush()
                signum = stop.signal or signal.SIGTERM  # a worker told by another one
                raise Interrupted(signum, f"stopped by {signal.Signals(signum).name} at "
                                  f"step {step}; checkpoint and logs saved in {run_dir}: "
                                  "rerun the same command to resume")
            if out_of_time and step < max_steps:
                log.info("--max_seconds=%g reached at step %d; rerun to continue.",
                         config.max_seconds, step)
                break
    writer.flush()
    if eval_failure is not None:
        raise RunError(f"training reached step {step} and is saved in {run_dir}, but its "
                       f"evaluation failed: {eval_failure}")
    log.info("Done: step %d. Outputs in %s.", step, run_dir)
    return record
