"""The GAN update steps, written the TF1 way: the variable lists each optimizer updates
are the trainable variables filtered by scope name (`generator/`, `discriminator/`), as
`tf.trainable_variables()` was filtered in TF1 code."""
import tensorflow as tf

from gan_tf import losses
from gan_tf.randomness import StepRandom
from gan_tf.runs import checkpoints
from gan_tf.training import augmentations, schedules
from gan_tf.training.optimizers import FusedAdam

# Speed options whose best setting depends on the architecture, by measurement
# (benchmarks/throughput_curves.py, docs/performance.md): XLA slows conv steps down on a
# CPU, and since Adam's update is one fused kernel (gan_tf.training.optimizers) the MLP's
# plain graph is as fast as its XLA step or faster at every batch and width measured
# (1.0-1.36x); joint updates save the DCGAN a generator pass.
SPEED_DEFAULTS = {"jit_compile": {"mlp": False, "dcgan": False, "tf1": False},
                  "joint_updates": {"mlp": False, "dcgan": True, "tf1": False}}
# The largest batch at which the MLP's default was XLA: 128 in 0.3.3-0.3.4, when Keras's
# unfused Adam made the plain graph slower at small batches; 0 since 0.3.5 (no batch).
MLP_XLA_MAX_BATCH = 0
METRIC_KEYS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
INFO_KEYS = ("info_loss",)  # after METRIC_KEYS with --latent_categories (gan_tf.training.steps)
CONTINUOUS_KEYS = ("info_continuous_loss",)  # then these with --latent_continuous
REGULARIZATION_KEYS = ("g_reg_loss", "d_reg_loss")  # legacy functions with regularizers
ADA_KEYS = ("augment_p",)  # with --augment_target: ADA's probability after the step
# With --rotation_weight (SS-GAN): the rotation head's loss on real images, and with
# --g_rotation_weight on G's.
ROTATION_KEYS, G_ROTATION_KEYS = ("rotation_loss",), ("g_rotation_loss",)
# With --mode_seeking_weight (MSGAN): 1 / (image distance / z distance + eps), unweighted;
# with --mode_seeking_cap, -mean over the pairs of min(ratio, cap) (negative).
MODE_SEEKING_KEYS = ("mode_seeking_loss",)
COVERAGE_KEYS = ("coverage_loss",)  # with --coverage_weight: the unweighted nearest-sample term
LECAM_DECAY = 0.99  # the LeCam paper's moving-average decay of D's mean logits
FAKE_HALF = 1  # folded into a split D pass's dropout seed for its fake half (_d_pass)


def scope_variables(variables, scope):
    """The variables under `scope/`, as TF1 code filtered tf.trainable_variables()."""
    return [v for v in variables if v.name.startswith(scope + "/")]


def make_optimizer(name, learning_rate, beta1, loss_scaling=False):
    """Adam (TF1's epsilon and fused kernel: gan_tf.training.optimizers) or RMSprop;
    wrapped in dynamic loss scaling for float16. `learning_rate`: a number, or a callable
    of no arguments (--lr_decay's schedule)."""
    if name == "adam":
        optimizer = FusedAdam(learning_rate, beta_1=beta1, epsilon=1e-8)
    elif name == "rmsprop":
        optimizer = tf.keras.optimizers.RMSprop(learning_rate)
    else:
        raise ValueError(f"unknown optimizer {name!r}")
    return tf.keras.optimizers.LossScaleOptimizer(optimizer) if loss_scaling else optimizer


class GANTrainer(tf.Module):
    """The two networks, their optimizers over scope-filtered variables, and the steps.

    Build it (and the networks) under `strategy.scope()` to train under a tf.distribute
    strategy; `config.batch_size` is the global batch, split over the replicas.
    `steps_per_epoch` (the run's) places --topk_gamma's epochs and, with
    config.schedule, --lr_decay's last step; needed only with those."""

    def __init__(self, config, generator, discriminator, ema_generator=None, strategy=None,
                 steps_per_epoch=None):
        super().__init__(name="trainer")
        self.config, self.generator, self.discriminator = config, generator, discriminator
        self.d_loss_fn, self.g_loss_fn = losses.family(config.loss, config.label_smoothing)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % self.replicas:
            raise ValueError(f"--batch_size={config.batch_size} does not split evenly over "
                             f"{self.replicas} replicas")
        self.local_batch = config.batch_size // self.replicas
        if config.coverage_pool % self.replicas:
            raise ValueError(f"--coverage_pool={config.coverage_pool} does not split evenly "
                             f"over {self.replicas} replicas")
        if config.mode_seeking_weight and self.local_batch % 2:
            raise ValueError(f"--mode_seeking_weight pairs the rows of each replica's fake batch: "
                             f"a batch of {self.local_batch} on each replica is odd")
        self.num_classes = generator.num_classes  # > 0: real batches are (images, labels)
        self.num_codes = generator.num_codes  # > 0: InfoGAN's code, D's Q head (gan_tf.training.steps)
        self.continuous_codes = config.latent_continuous  # > 0: the first entries of z, Q's too
        if self.continuous_codes != getattr(discriminator, "continuous_codes", 0):
            raise ValueError(f"--latent_continuous={self.continuous_codes} needs a discriminator "
                             "with as many continuous-code outputs (gan_tf.models.build makes it)")
        self.q_heads = bool(self.num_codes or self.continuous_codes)  # D's features needed
        # Legacy functions' regularizers, added to their network's loss (--tf1_regularization).
        self.regularized = {role: network for role, network in (("g", generator),
                                                                ("d", discriminator))
                            if config.tf1_regularization and getattr(network, "regularized", False)}
        self.metric_keys = (METRIC_KEYS + (INFO_KEYS if self.num_codes else ())
                            + (CONTINUOUS_KEYS if self.continuous_codes else ())
                            + (REGULARIZATION_KEYS if self.regularized else ())
                            + (ADA_KEYS if config.augment_target else ())
                            + (ROTATION_KEYS if config.rotation_weight else ())
                            + (G_ROTATION_KEYS if config.g_rotation_weight else ())
                            + (MODE_SEEKING_KEYS if config.mode_seeking_weight else ())
                            + (COVERAGE_KEYS if config.coverage_weight else ()))
        if (config.topk_gamma or config.lr_decay != "none") and not steps_per_epoch:
            raise ValueError("--topk_gamma and --lr_decay need the run's steps_per_epoch")
        self.steps_per_epoch = steps_per_epoch
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
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.g_optimizer = make_optimizer(config.optimizer, self._learning_rate(config.g_learning_rate),
                                          config.g_beta1, self.loss_scaling)
        self.d_optimizer = make_optimizer(config.optimizer, self._learning_rate(config.d_learning_rate),
                                          config.d_beta1, self.loss_scaling)
        # The levers' state, checkpointed with the run (so a resumed run goes on exactly):
        # ADA's probability and LeCam's averages of D's mean logits (real, fake).
        self.levers = {}
        if config.augment_target:
            self.levers["augment_p"] = _state_variable(0.0, "augment_p")
        if config.lecam_weight:
            self.levers["lecam_averages"] = _state_variable([0.0, 0.0], "lecam_averages")
        # Build the slots now, not lazily inside tf.function (under MirroredStrategy a lazy
        # build inside strategy.run fails).
        self.g_optimizer.build(self.g_vars)
        self.d_optimizer.build(self.d_vars)
        # One step (D updates + G update) as its own function, XLA-compiled if asked (on
        # one replica: the optimizers' cross-replica sums do not compile here). Without
        # AutoGraph: the step's Python control flow is all static (config, lists), and
        # converting the model code took 1.2 s of a run's start-up (0.2 s traced as is).
        jit = resolve_option(config, "jit_compile") and self.replicas == 1
        self._compiled_step = tf.function(self.train_step, jit_compile=jit, autograph=False)

    @property
    def sampler(self):
        """The generator samples and evaluations show: the EMA one under --g_ema."""
        return self.ema_generator or self.generator

    def checkpoint(self):
        """What a run's checkpoints hold: the step, the networks and their optimizers."""
        return tf.train.Checkpoint(**checkpoints.training_objects(
            self.step, self.generator, self.discriminator, self.g_optimizer, self.d_optimizer,
            self.ema_generator, self.levers))

    def _learning_rate(self, base):
        """`base`, or with --lr_decay=linear a callable of the step (the optimizers read it
        at each update) falling to 0 at --lr_decay_steps or the run's last step."""
        if self.config.lr_decay == "none":
            return base
        total = self.config.lr_decay_steps or self.config.schedule(self.steps_per_epoch)[0]
        return lambda: base * schedules.learning_rate_factor(self.step, total,
                                                             self.config.lr_decay)

    def _apply_gradients(self, tape, optimizer, loss, variables):
        """Applies the gradient of `loss` (from `_scaled`) to `variables` (the
        optimizer sums the replicas' gradients)."""
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))

    def _scaled(self, loss, optimizer):
        """What a tape differentiates for `loss`: divided by the replica count, and
        multiplied by the loss scale under float16."""
        loss = loss / self.replicas if self.replicas > 1 else loss
        return optimizer.scale_loss(loss) if self.loss_scaling else loss

    def _d_input(self, x, rand):
        """What D sees of a batch in training: translated, DiffAugment-ed, then noised
        (each if on)."""
        c = self.config
        if c.d_translate:
            x = augmentations.translate(x, rand.local_seed(), c.d_translate)
        if c.diffaugment:
            x = augmentations.augment(x, c.diffaugment, rand.local_seed(),
                                      self.levers.get("augment_p"))
        if c.instance_noise:
            x = augmentations.instance_noise(x, rand.local_seed(), self.step, c.instance_noise,
                                      c.instance_noise_steps)
        return x

    def _discriminate(self, real, fake, rand, real_labels=None, fake_labels=None,
                      g_rotation=False, fake_z=None, split=False):
        """D on the real and the fake batch in one call on their concatenation (the same
        math as two calls: D has no batch statistics, and dcgan's minibatch-stddev groups
        divide each half), which is faster; a legacy D, whose batch norm may have, in two
        calls; with `split` (joint_step, whose G tape records this pass) in two calls,
        as `_d_pass` says. Returns D's losses and mean verdicts (and the code's and the
        rotation head's losses), the fake batch's logits, and what D minimises: d_loss
        plus the penalties and the code's and rotations' weighted losses (each if on).
        `g_rotation`: also put G's rotation loss on the fake batch in the metrics (for
        joint_step's G)."""
        n = tf.shape(real)[0]
        seed = rand.local_seed()  # dropout
        labels = (tf.concat([tf.cast(real_labels, tf.int32), fake_labels], 0)
                  if self.num_classes else None)
        x = self._d_input(tf.concat([real, fake], 0), rand)
        (probs, logits), h = self._d_pass(x, n, seed, labels, features=self.q_heads,
                                          split=split)
        d_loss, d_loss_real, d_loss_fake = self._d_loss(logits[:n], logits[n:], rand)
        metrics = dict(d_loss=d_loss, d_loss_real=d_loss_real, d_loss_fake=d_loss_fake,
                       d_real=tf.reduce_mean(probs[:n]), d_fake=tf.reduce_mean(probs[n:]))
        penalty = self._penalty(x[:n], x[n:], rand, seed, labels[:n] if self.num_classes else None)
        penalty += self._lecam(logits[:n], logits[n:])
        penalty += self._consistency(x, logits, n, rand, seed, labels, split)
        self._adapt_augmentation(logits[:n])
        heads = (self._code_loss(metrics, None if h is None else h[n:], fake_labels, fake_z)
                 + self._rotation_loss(metrics, "rotation_loss", x[:n], seed,
                                       self.config.rotation_weight))
        if g_rotation:
            self._rotation_loss(metrics, "g_rotation_loss", x[n:], seed,
                                self.config.g_rotation_weight)
        return metrics, logits[n:], d_loss + penalty + heads + self._regularization(metrics, "d")

    def _d_pass(self, x, n, seed, labels, features=False, split=False):
        """((probs, logits), h) of D on a real-then-fake batch x (n real), as `discriminate`
        gives them; a legacy D that needs them in two calls, as TF1 code called it (its h
        None).

        `split`: in two calls too, the real half cut from the gradient (it depends on no
        variable: the same gradients), so that a G tape recording the pass backpropagates
        through D over the fake half alone; on the concatenation it goes over both, as no
        op knows that G's loss leaves the real half's rows at zero (the float32 DCGAN step
        6-10 % faster on a CPU: docs/performance.md). The real half keeps the dropout
        masks of the one-call pass (a stateless stream's first rows, without XLA); the
        fake half draws its own from `seed` folded with FAKE_HALF. A spectrally normalised
        D keeps the one call: each training call takes a power-iteration step, so two
        would take two and divide the halves by different estimates."""
        legacy = getattr(self.discriminator, "separate_batches", False)
        if not legacy and (not split or self.discriminator.sizes.get("spectral_norm")):
            return discriminate(self.discriminator, x, seed, labels, features=features)
        real = tf.stop_gradient(x[:n])
        if legacy:  # as TF1 code called it: one seed, no labels or features
            halves = [(self.discriminator(part, training=True, seed=seed), None)
                      for part in (real, x[n:])]
        else:
            fake_seed = tf.random.experimental.stateless_fold_in(seed, FAKE_HALF)
            real_labels, fake_labels = ((None, None) if labels is None
                                        else (labels[:n], labels[n:]))
            halves = [discriminate(self.discriminator, part, s, rows, features=features)
                      for part, s, rows in ((real, seed, real_labels),
                                            (x[n:], fake_seed, fake_labels))]
        (real_out, real_h), (fake_out, fake_h) = halves
        outs = tuple(tf.concat(pair, 0) for pair in zip(real_out, fake_out))
        return outs, None if real_h is None else tf.concat([real_h, fake_h], 0)

    def _lecam(self, real_logits, fake_logits):
        """--lecam_weight's term of D's loss (against the averages so far), then the
        averages moved toward this batch's mean logits; 0.0 when off."""
        if not self.config.lecam_weight:
            return 0.0
        averages = self.levers["lecam_averages"]
        real_logits, fake_logits = (tf.cast(v, tf.float32) for v in (real_logits, fake_logits))
        term = losses.lecam_penalty(real_logits, fake_logits, averages[0], averages[1],
                                    self.config.lecam_weight)
        means = tf.stop_gradient(tf.stack([tf.reduce_mean(real_logits),
                                           tf.reduce_mean(fake_logits)]))
        averages.assign(losses.moving_average(averages, means, LECAM_DECAY))
        return term

    def _consistency(self, x, logits, n, rand, seed, labels, split=False):
        """--bcr_weight's terms of D's loss: D's logits of the real and the fake half
        against those of the same images translated once more (T, 1/8 of the size),
        under the dropout masks of the main pass (`split` as it was); 0.0 when off."""
        if not self.config.bcr_weight:
            return 0.0
        (_, augmented), _ = self._d_pass(augmentations.translation(x, rand.local_seed()), n,
                                         seed, labels, split=split)
        weight = self.config.bcr_weight
        return (losses.consistency_penalty(logits[:n], augmented[:n], weight)
                + losses.consistency_penalty(logits[n:], augmented[n:], weight))

    def _adapt_augmentation(self, real_logits):
        """ADA: after each D pass, the augmentation probability moved by the sign of
        E sign(D(real)) - --augment_target (off without it)."""
        if self.config.augment_target:
            p = self.levers["augment_p"]
            p.assign(schedules.ada_probability(p, tf.stop_gradient(real_logits),
                                               self.config.augment_target,
                                               self.config.batch_size))

    def _g_loss(self, fake_logits):
        """G's loss of --loss on its batch's logits: over the top k of them with
        --topk_gamma."""
        if not self.config.topk_gamma:
            return self.g_loss_fn(fake_logits)
        k = schedules.top_k_count(self.step, self.local_batch, self.steps_per_epoch,
                                  self.config.topk_gamma)
        return self.g_loss_fn(fake_logits, weights=losses.top_k_weights(fake_logits, k))

    def _mode_seeking(self, metrics, fake, z):
        """--mode_seeking_weight's term of G's loss on a fake batch drawn from z (in pairs
        of adjacent rows, `_fake_labels`), logged unweighted as mode_seeking_loss; 0.0
        when off. Under several replicas the uncapped form's mean distances are averaged
        over them first, so that the term is the one device's."""
        if not self.config.mode_seeking_weight:
            return 0.0
        if self.config.mode_seeking_cap:
            # A mean over the pairs: each replica's over its equal share is averaged as
            # every other loss is, so no all-reduce is needed (tested).
            metrics["mode_seeking_loss"] = losses.capped_mode_seeking_loss(
                fake, z, self.config.mode_seeking_cap, 1.0)
            return self.config.mode_seeking_weight * metrics["mode_seeking_loss"]
        distances = losses.mode_seeking_distances(fake, z)
        if self.replicas > 1:
            distances = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.MEAN, list(distances))
        metrics["mode_seeking_loss"] = losses.mode_seeking_from_distances(*distances, 1.0)
        return self.config.mode_seeking_weight * metrics["mode_seeking_loss"]

    def _coverage(self, metrics, real, fake, rand):
        """--coverage_weight's term of G's loss: each real image's nearest fake pulled
        toward it (`losses.coverage_loss`), logged unweighted as coverage_loss; 0.0 when
        off. The fakes are the step's batch, or with --coverage_pool a pool of their own
        (`_pool`). Under several replicas each replica's real images look among the fakes
        of all of them, as on one device."""
        if not self.config.coverage_weight:
            return 0.0
        if real is None:
            raise ValueError("--coverage_weight's term needs the step's real batch")
        if self.config.coverage_pool:
            fake = self._pool(rand)
        fake = tf.cast(fake, tf.float32)
        if self.replicas > 1:
            fake = tf.distribute.get_replica_context().all_gather(fake, axis=0)
        metrics["coverage_loss"] = losses.coverage_loss(real, fake, 1.0)
        return self.config.coverage_weight * metrics["coverage_loss"]

    def _pool(self, rand):
        """IMLE's pool (--coverage_pool): this replica's rows of a fresh global pool of G's
        samples, (pool / replicas, ...) images, drawn with the gradient. The real images
        choose among the very images that are pulled: a second pass over the chosen codes
        alone would normalise them with other batch statistics (G's batch norm) and pull
        other images than those chosen."""
        local = self.config.coverage_pool // self.replicas
        z = rand.z(local, self.config.z_dim, self.config.z_distribution)  # (local pool, z_dim)
        width = self.generator.label_width
        labels = rand.labels(local, width) if width else None  # (local pool,) codes
        pool, _ = self.generator(z, training=True, update_stats=False, labels=labels)
        return pool

    def _regularization(self, metrics, role):
        """The `role` ("g" or "d") network's regularization loss (its legacy regularizers'
        sum), logged as g_reg_loss / d_reg_loss and returned for its objective; 0.0 for
        a network without (logged as 0 when the other has some)."""
        if not self.regularized:
            return 0.0
        network = self.regularized.get(role)
        metrics[f"{role}_reg_loss"] = (network.regularization_loss() if network is not None
                                       else tf.constant(0.0))
        return metrics[f"{role}_reg_loss"]

    def _code_loss(self, metrics, h, codes, z):
        """InfoGAN's weighted losses of the codes (categorical `codes`, continuous the first
        entries of `z`) of fake images of features h (gan_tf.training.steps)."""
        return (add_code_loss(metrics, self.discriminator, h, codes, self.config.info_weight)
                + add_continuous_code_loss(metrics, self.discriminator, h, z,
                                           self.config.info_continuous_weight))

    def _rotation_loss(self, metrics, key, images, seed, weight):
        """SS-GAN: `weight` times the rotation head's cross-entropy on `images` (as D sees
        them), image i turned by i mod 4 quarter turns, logged under `key`; 0.0 when off."""
        if not weight:
            return 0.0
        turned, turns = augmentations.rotation_batch(images)
        h = self.discriminator.features(turned, training=True, seed=seed)
        metrics[key] = losses.rotation_loss(self.discriminator.rotation_logits(h), turns)
        return weight * metrics[key]

    def _d_loss(self, real_logits, fake_logits, rand):
        """(d_loss, d_loss_real, d_loss_fake) of --loss, with --label_flip's flips (the
        non-saturating loss's; config refuses them with another)."""
        c = self.config
        real_flipped, fake_flipped = [
            augmentations.label_flips(rand.local_seed(), tf.shape(real_logits)[0], c.label_flip)
            if c.label_flip else None for _ in range(2)]
        return self.d_loss_fn(real_logits, fake_logits, real_flipped=real_flipped,
                              fake_flipped=fake_flipped)

    def _penalty(self, real, fake, rand, seed, real_labels):
        """D's gradient penalties on its inputs as it saw them (after translation and
        noise), with the main pass's dropout seed; 0.0 when off. WGAN-GP's interpolates
        take the real images' labels (conditional models)."""
        c = self.config
        if not (c.r1_gamma or c.gradient_penalty):
            return 0.0
        legacy = dict(update_stats=False) if getattr(self.discriminator, "separate_batches",
                                                     False) else {}

        def critic(x):
            return self.discriminator(x, training=True, seed=seed, labels=real_labels,
                                      **legacy)[1]
        penalty = 0.0
        if c.r1_gamma:
            penalty += losses.r1_penalty(critic, real, c.r1_gamma)
        if c.gradient_penalty:
            penalty += losses.gradient_penalty(critic, real, fake, rand.local_seed(),
                                               c.gradient_penalty)
        return penalty

    def _random(self):
        return StepRandom(self.config.seed, self.step, self.replicas)

    def _z(self, rand):
        return rand.z(self.local_batch, self.config.z_dim, self.config.z_distribution)

    def _fake_labels(self, rand):
        """Classes (conditional models) or codes (InfoGAN) for a fake batch; else None.
        With --mode_seeking_weight each odd row repeats the row before it."""
        width = self.generator.label_width
        if not width:
            return None
        labels = rand.labels(self.local_batch, width)
        if self.config.mode_seeking_weight:  # MSGAN's pairs (rows 2i, 2i+1) differ in z alone
            labels = tf.repeat(labels[0::2], 2, axis=0)
        return labels

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
            metrics, _, objective = self._discriminate(real, fake, rand, real_labels, fake_labels,
                                                       fake_z=z)
            loss = self._scaled(objective, self.d_optimizer)
        self._apply_gradients(tape, self.d_optimizer, loss, self.d_vars)
        return metrics

    def generator_step(self, rand=None, real=None):
        """One update of G's variables through D's verdict on a fresh fake batch (`real`,
        a real batch, is read by --coverage_weight's term alone)."""
        rand = rand or self._random()
        real = self._real(real)[0] if real is not None else None
        z, labels = self._z(rand), self._fake_labels(rand)
        seed = rand.local_seed()
        with tf.GradientTape() as tape:
            fake, _ = self.generator(z, training=True, labels=labels)
            x = self._d_input(fake, rand)
            (_, fake_logits), h = discriminate(
                self.discriminator, x, seed, labels if self.num_classes else None,
                features=self.q_heads)
            metrics = dict(g_loss=self._g_loss(fake_logits))
            objective = (metrics["g_loss"] + self._code_loss(metrics, h, labels, z)
                         + self._mode_seeking(metrics, fake, z)
                         + self._coverage(metrics, real, fake, rand)
                         + self._rotation_loss(metrics, "g_rotation_loss", x, seed,
                                               self.config.g_rotation_weight)
                         + self._regularization(metrics, "g"))
            loss = self._scaled(objective, self.g_optimizer)
        self._apply_gradients(tape, self.g_optimizer, loss, self.g_vars)
        return metrics

    def joint_step(self, real, rand=None):
        """The last D update and the G update from one forward pass, as the TensorFlow
        DCGAN tutorial does: one fake batch, two tapes, G's gradient through D's
        weights before D's update. One generator forward pass instead of two."""
        rand = rand or self._random()
        real, real_labels = self._real(real)
        z, fake_labels = self._z(rand), self._fake_labels(rand)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake, _ = self.generator(z, training=True, labels=fake_labels)
            metrics, fake_logits, objective = self._discriminate(
                real, fake, rand, real_labels, fake_labels, g_rotation=True, fake_z=z,
                split=True)
            metrics["g_loss"] = self._g_loss(fake_logits)
            d_loss = self._scaled(objective, self.d_optimizer)
            g_rotation = (self.config.g_rotation_weight * metrics["g_rotation_loss"]
                          if "g_rotation_loss" in metrics else 0.0)
            g_loss = self._scaled(metrics["g_loss"] + weighted_info_loss(
                metrics, self.config.info_weight) + weighted_continuous_code_loss(
                metrics, self.config.info_continuous_weight) + g_rotation
                + self._mode_seeking(metrics, fake, z) + self._coverage(metrics, real, fake, rand)
                + self._regularization(metrics, "g"), self.g_optimizer)
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
        """EMA generator <- decay * EMA + (1 - decay) * generator, computed as TF1's
        tf.train.ExponentialMovingAverage does, EMA -= (1 - decay) * (EMA - generator):
        fewer passes over the weights than the sum (benchmarks/ema_cost.py: 1.9x faster
        for the wide MLP's G on one thread). Batch-norm statistics, themselves averages,
        are copied."""
        rate = 1.0 - self.config.g_ema
        for ema, v in self._ema_pairs:
            if v.trainable:
                ema.assign_sub(rate * (ema - v))
            else:
                ema.assign(v)

    def train_step(self, real_batches):
        """On one replica: d_steps_per_g_step D updates (one per real batch), then one G
        update. Returns the step's metrics in `metric_keys` order (this replica's means;
        info_loss that of the G update's fake batch)."""
        rand = self._random()
        if resolve_option(self.config, "joint_updates"):
            for real in real_batches[:-1]:
                self.discriminator_step(real, rand)
            metrics = self.joint_step(real_batches[-1], rand)
        else:
            for real in real_batches:
                d_metrics = self.discriminator_step(real, rand)
            metrics = {**d_metrics, **self.generator_step(rand, real_batches[-1])}
        if self.config.augment_target:
            metrics["augment_p"] = self.levers["augment_p"].read_value()
        return tf.stack([metrics[name] for name in self.metric_keys])

    @tf.function
    def train_steps(self, iterator, num_steps):
        """Runs `num_steps` steps in one graph call (Python runs once, not per step).

        `iterator` yields global real batches (data.make_dataset, distributed by the
        strategy). Returns the metrics of every step, means over the global batch,
        (num_steps, len(metric_keys)) float32, and whether every variable is still
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


def _state_variable(value, name):
    """A lever's float32 state: not trained, averaged over replicas when written."""
    return tf.Variable(value, dtype=tf.float32, trainable=False, name=name,
                       aggregation=tf.VariableAggregation.MEAN)


def resolve_option(config, name):
    """A speed option's flag value, or its per-architecture default (SPEED_DEFAULTS,
    docs/performance.md)."""
    value = getattr(config, name)
    if value is not None:
        return value
    if name == "jit_compile" and config.model == "mlp" and config.batch_size <= MLP_XLA_MAX_BATCH:
        return True
    return SPEED_DEFAULTS[name][config.model]


code_loss = losses.info_loss  # gan_tf.info.code_loss of gan_tf 0.2 (the loss lives in losses)


# InfoGAN's categorical code (Chen et al. 2016): the training step's part of it (the
# loss is losses.info_loss; the networks' parts are gan_tf.models').



def discriminate(discriminator, x, seed, labels=None, features=False):
    """((probs, logits), h) of D on training images x (dropout `seed`, a conditional D's
    `labels`): h, D's last features for the Q head, only with `features` (else None, and
    D called as a whole, as a legacy D must be)."""
    if not features:
        return discriminator(x, training=True, seed=seed, labels=labels), None
    h = discriminator.features(x, training=True, seed=seed)
    return discriminator.logits_from_features(h, labels, training=True), h


def add_code_loss(metrics, discriminator, h, codes, weight):
    """What the code adds to a network's objective: `weight` times losses.info_loss of Q
    on features h of images drawn with `codes`, which goes into `metrics` as info_loss;
    0.0 (and no metric) when the run has no code (h None)."""
    if h is None or not discriminator.num_codes:
        return 0.0
    metrics["info_loss"] = losses.info_loss(discriminator.code_logits(h), codes)
    return weighted_info_loss(metrics, weight)


def add_continuous_code_loss(metrics, discriminator, h, z, weight):
    """As add_code_loss, for InfoGAN's continuous codes, the first entries of z: `weight`
    times losses.info_continuous_loss, into `metrics` as info_continuous_loss; 0.0 (and no
    metric) when the run has none."""
    n = getattr(discriminator, "continuous_codes", 0)
    if h is None or not n:
        return 0.0
    metrics["info_continuous_loss"] = losses.info_continuous_loss(
        discriminator.continuous_code_values(h), z[:, :n])
    return weighted_continuous_code_loss(metrics, weight)


def weighted_continuous_code_loss(metrics, weight):
    """The continuous codes' term in an objective (0.0 when there is none)."""
    return (weight * metrics["info_continuous_loss"] if "info_continuous_loss" in metrics
            else 0.0)


def weighted_info_loss(metrics, weight):
    """The code's term in an objective: `weight` times the info_loss in `metrics` (0.0
    when there is none), the one place it is weighted."""
    return weight * metrics["info_loss"] if "info_loss" in metrics else 0.0
