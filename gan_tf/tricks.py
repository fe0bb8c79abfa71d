"""Training tricks on D's inputs and labels (instance noise, label flipping, and
DiffAugment's translation).

Pure functions of a batch and a stateless seed (int64 [2]), so they run inside
the train step's tf.function and a run draws the same numbers when resumed.
Each is the identity (or None) when its setting is off.
"""
import tensorflow as tf


def instance_noise(x, seed, step, sigma, decay_steps):
    """x + N(0, s^2) noise, s falling linearly from `sigma` at step 0 to 0 at `decay_steps`:
    real and fake inputs overlap early, when D would otherwise win outright."""
    if sigma <= 0:
        return x
    left = 1.0 - tf.cast(step, tf.float32) / float(decay_steps)
    return x + sigma * tf.maximum(left, 0.0) * tf.random.stateless_normal(tf.shape(x), seed)


def translate(x, seed, pixels, background=-1.0):
    """Each image (n, h, w, c) shifted by its own random offset of up to `pixels` each
    way, the uncovered border filled with `background`. Differentiable in x, so G
    learns through it (DiffAugment, Zhao et al. 2020): D cannot memorise a small
    training set when it never sees the same crop twice."""
    if not pixels:
        return x
    n, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    padded = tf.pad(x, [[0, 0], [pixels, pixels], [pixels, pixels], [0, 0]],
                    constant_values=background)
    dy, dx = tf.unstack(tf.random.stateless_uniform([2, n], seed, 0, 2 * pixels + 1, tf.int32))
    rows = dy[:, None] + tf.range(h)[None, :]  # (n, h)
    cols = dx[:, None] + tf.range(w)[None, :]  # (n, w)
    x = tf.gather(padded, rows, axis=1, batch_dims=1)  # (n, h, w + 2 pixels, c)
    return tf.gather(x, cols, axis=2, batch_dims=1)  # (n, h, w, c)


def label_flips(seed, n, probability):
    """(n, 1) floats, 1 with `probability` (the examples whose label D's loss swaps);
    None when off."""
    if probability <= 0:
        return None
    return tf.cast(tf.random.stateless_uniform([n, 1], seed) < probability, tf.float32)
