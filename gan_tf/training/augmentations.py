"""The augmentations of the images D sees: the training tricks (instance noise, label
flips, translation) and DiffAugment (Zhao et al. 2020: colour, translation, cutout).

Pure functions of a batch and a stateless seed (int64 [2]), so they run inside the train
step's tf.function and a run draws the same numbers when resumed. Each is the identity
(or None) when its setting is off.

DiffAugment: DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"): random colour, translation and cutout applied to every image D sees, real
or fake, in D's update and G's, so D cannot memorise a small training set and G still
learns through the augmentation (each op is differentiable in the images).

Ported from the paper's code (DiffAugment_pytorch.py) for images (n, h, w, c) in
[-1, 1], with stateless seeds (int64 [2]) so a run draws the same numbers under
tf.function and when resumed. Each image draws its own parameters; one call on real
and fake images together draws independently for each, as the paper's two calls do.
Where the paper's code fills with zeros (translation's padding, cutout's square) this
fills with 0 too: the middle grey of [-1, 1], not the black background.
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


def rot90(x, k):
    """Every square image of x (n, h, h, c) rotated counter-clockwise by k (a Python int)
    quarter turns, as np.rot90 turns an (h, h) image; transposes and reversals only (no
    shape assertions in the graph, unlike tf.image.rot90)."""
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return tf.reverse(x, [1, 2])
    return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), [1 if k == 1 else 2])


def quarter_turns(x, turns):
    """Each square image of x (n, h, h, c) rotated counter-clockwise by its own number of
    quarter turns, turns (n,) ints in 0-3 (np.rot90's direction). Differentiable in x."""
    rotated = tf.stack([rot90(x, k) for k in range(4)], 1)  # (n, 4, h, h, c)
    return tf.gather(rotated, tf.cast(turns, tf.int32), axis=1, batch_dims=1)


def rotation_batch(x):
    """(images, turns): image i of x turned by i mod 4 quarter turns, SS-GAN's
    self-supervised task on one batch at the cost of one more pass (a quarter of it
    at each rotation) rather than four."""
    turns = tf.range(tf.shape(x)[0]) % 4
    return quarter_turns(x, turns), turns


def label_flips(seed, n, probability):
    """(n, 1) floats, 1 with `probability` (the examples whose label D's loss swaps);
    None when off."""
    if probability <= 0:
        return None
    return tf.cast(tf.random.stateless_uniform([n, 1], seed) < probability, tf.float32)


# DiffAugment.
TRANSLATION_RATIO = 0.125  # the paper's: shift up to 1/8 of the image size each way
CUTOUT_RATIO = 0.5  # the paper's: a square of half the image size


def _per_image(x, seed, low, high):
    """(n, 1, 1, 1) uniform draws in [low, high), one per image."""
    return tf.random.stateless_uniform([tf.shape(x)[0], 1, 1, 1], seed, low, high, x.dtype)


def brightness(x, seed):
    """x + b, b uniform in [-0.5, 0.5) per image."""
    return x + _per_image(x, seed, -0.5, 0.5)


def saturation(x, seed):
    """Each pixel's channels pushed from (or toward) their mean by a factor in [0, 2) per
    image. The identity on one channel (grayscale: the mean is the pixel), so MNIST's
    `color` policy is brightness and contrast (skipped there: the same numbers, less
    work); kept for images with colour."""
    if x.shape[3] == 1:
        return x
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * _per_image(x, seed, 0.0, 2.0) + mean


def contrast(x, seed):
    """Each image's pixels pushed from (or toward) its mean by a factor in [0.5, 1.5)."""
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _per_image(x, seed, 0.5, 1.5) + mean


def translation(x, seed):
    """Each image shifted by up to round(size / 8) pixels each way (4 on 28 x 28), the
    uncovered border filled with 0 as the paper's code pads. Square images."""
    return translate(x, seed, int(x.shape[1] * TRANSLATION_RATIO + 0.5), background=0.0)


def cutout(x, seed):
    """Each image multiplied by a 0/1 mask that is 0 on a square of round(size / 2)
    pixels (14 on 28 x 28) centred at a random pixel, clipped at the border as in the
    paper's code (its centre ranges over 0..size, so the square may hang off the edge)."""
    n, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    top = tf.random.stateless_uniform([n, 1], seeds[0], 0, h + 1 - size_h % 2, tf.int32) - size_h // 2
    left = tf.random.stateless_uniform([n, 1], seeds[1], 0, w + 1 - size_w % 2, tf.int32) - size_w // 2
    rows, cols = tf.range(h)[None, :], tf.range(w)[None, :]
    in_rows = (rows >= top) & (rows < top + size_h)  # (n, h)
    in_cols = (cols >= left) & (cols < left + size_w)  # (n, w)
    inside = in_rows[:, :, None] & in_cols[:, None, :]  # (n, h, w)
    return x * tf.cast(~inside, x.dtype)[..., None]


# The paper's policy names and the ops each applies, in order.
POLICIES = {"color": (brightness, saturation, contrast), "translation": (translation,),
            "cutout": (cutout,)}


def augment(x, policy, seed, probability=None):
    """x through the ops of `policy`, POLICIES' names joined by commas and applied in
    that order (the paper's default is color,translation,cutout); x itself when ''.

    `probability` (a scalar, ADA's p): each op is applied to each image with this
    probability, drawn per image and op; None applies every op to every image."""
    ops = [op for name in policy.split(",") if name for op in POLICIES[name]]
    if not ops:
        return x
    seeds = tf.random.experimental.stateless_split(seed, len(ops))
    for i, op in enumerate(ops):
        if probability is None:
            x = op(x, seeds[i])
        else:
            op_seed, draw_seed = tf.unstack(tf.random.experimental.stateless_split(seeds[i], 2))
            applied = _per_image(x, draw_seed, 0.0, 1.0) < tf.cast(probability, x.dtype)
            x = tf.where(applied, op(x, op_seed), x)
    return x
