"""The random numbers of runs and tools: latent codes and step seeds, as pure functions
of (seed, stream), so that a resumed run draws what an uninterrupted one would and a
tool given a run's seed draws what the run drew.

Streams of a seed (each use its own, so that no two share numbers):
  GRID_STREAM           the fixed-z sample grids of a run, and `gan_tf.sample`'s codes
                        (`--seed=<the run's seed>` redraws the run's grid as its first images)
  EVAL_STREAM           the fixed codes of a run's evaluations
  STEP_STREAM           a train step's numbers, folded with the step (StepRandom)
  INTERPOLATION_STREAM  the ends of `gan_tf.sample`'s interpolation rows
  INVERSION_STREAM      the starting codes of `gan_tf.anomaly`'s inversion
An InfoGAN run's categorical codes (random_codes) go with the z of the same stream.
"""
import numpy as np
import tensorflow as tf

GRID_STREAM = 20140610
EVAL_STREAM = 1
STEP_STREAM = 2
INTERPOLATION_STREAM = 3
INVERSION_STREAM = 4
# An InfoGAN run's categorical codes of a stream are drawn with its seed folded with this,
# so that they are numbers of their own, not z's.
CODE_FOLD = 7


def sample_z(shape, seed, distribution):
    """Latent codes, a pure function of a stateless seed: uniform in [-1, 1] or standard
    normal."""
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
    return tf.random.stateless_normal(shape, seed)


def latent_codes(num, z_dim, distribution, seed, stream=GRID_STREAM):
    """(num, z_dim) float32 codes of `seed`'s `stream`. The rows do not depend on `num`:
    the first n of a larger draw are the n of a smaller one."""
    return sample_z([num, z_dim], tf.constant([seed, stream], tf.int64), distribution)


def fixed_z(config, num=None, stream=GRID_STREAM):
    """The same latent codes for every sample grid (or evaluation) of a run: a function
    of the run's seed and `stream`."""
    return latent_codes(num or config.num_samples, config.z_dim, config.z_distribution,
                        config.seed, stream)


def random_codes(num, num_codes, seed, stream=GRID_STREAM, prior=None):
    """(num,) int32 categorical codes of an InfoGAN generator for the latent codes of
    (seed, stream): drawn from its prior, uniform unless `prior` (num_codes weights, a
    --code_prior=learned run's) is given, not cycled through the values (the metrics are
    then those of an unconditional model, which must learn the classes). The same uniform
    numbers go through either prior, so the two draws differ only where the priors do.
    Row i does not depend on `num`, as in latent_codes."""
    key = tf.random.experimental.stateless_fold_in(tf.constant([seed, stream], tf.int64),
                                                   CODE_FOLD)
    u = tf.random.stateless_uniform([num], key, dtype=tf.float64).numpy()  # one per row
    if prior is not None:
        return codes_from_prior(u, prior)
    return np.minimum((u * num_codes).astype(np.int32), num_codes - 1)


def codes_from_prior(u, prior):
    """(n,) int32 code values for uniform numbers u (n,) in [0, 1) through the CDF of
    `prior` (K,) (weights, normalised here): value k for u in [cdf[k-1], cdf[k])."""
    cdf = np.cumsum(np.asarray(prior, np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1).astype(np.int32)


def fixed_codes(config, num=None, stream=GRID_STREAM, prior=None):
    """The codes that go with fixed_z(config, num, stream): None unless the run has
    --latent_categories; from `prior` as random_codes draws them."""
    if not config.latent_categories:
        return None
    return random_codes(num or config.num_samples, config.latent_categories, config.seed, stream,
                        prior)


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
            tf.constant([seed, STEP_STREAM], tf.int64), step)
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
