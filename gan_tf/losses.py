"""GAN losses: pure functions of discriminator logits, one signature per family (as
TF-GAN's losses_impl and compare_gan's loss_lib), and gradient penalties of D.

Every discriminator loss takes (real_logits, fake_logits, real_flipped=None,
fake_flipped=None), the flips by keyword, and returns (d_loss, d_loss_real, d_loss_fake) with
d_loss = d_loss_real + d_loss_fake (the flips, the label-flipping trick, are the
non-saturating family's; the others refuse them); every generator loss takes
fake_logits (and, by keyword, 0/1 `weights` shaped like them: top-k training's mask,
`top_k_weights`) and returns a scalar. InfoGAN's term, `info_loss`, is here too. The logits are D's raw,
unbounded outputs; the trainer logs the means of their sigmoids as D(x) and D(G(z))
(d_real, d_fake) whatever the family: a probability for the non-saturating loss, for
the others just a monotone squashing of D's score (0.5 at score 0).

`LOSSES` maps a family's name (`--loss`) to its (discriminator_loss, generator_loss);
`family(name, label_smoothing)` gives the pair a run uses, the non-saturating loss's
smoothing bound, so that the trainer calls every family the same way.
"""
import functools

import tensorflow as tf


def _sigmoid_xent(labels, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def _mean(terms, weights=None):
    """The mean of per-example terms, over the examples `weights` (0/1) keeps if given."""
    if weights is None:
        return tf.reduce_mean(terms)
    weights = tf.cast(weights, terms.dtype)
    return tf.reduce_sum(terms * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def _no_flips(real_flipped, fake_flipped, family):
    if real_flipped is not None or fake_flipped is not None:
        raise ValueError(f"label flips belong to the non_saturating loss, not {family}")


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.9, real_flipped=None,
                       fake_flipped=None):
    """The non-saturating family's D loss (Goodfellow et al. 2014), as in the TF1 MNIST
    notebook: mean sigmoid cross-entropy, real labels smoothed to `label_smoothing`,
    fake labels 0. Returns (d_loss, d_loss_real, d_loss_fake).

    `real_flipped` / `fake_flipped` (0/1 floats shaped like the logits; the label-flipping
    trick) give those examples the other side's label: 0 for a real one, the
    smoothed real label for a fake one."""
    real_labels = tf.ones_like(real_logits) * label_smoothing
    fake_labels = tf.zeros_like(fake_logits)
    if real_flipped is not None:
        real_labels = real_labels * (1.0 - real_flipped)
    if fake_flipped is not None:
        fake_labels = fake_flipped * label_smoothing
    d_loss_real = _sigmoid_xent(real_labels, real_logits)
    d_loss_fake = _sigmoid_xent(fake_labels, fake_logits)
    return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake


def generator_loss(fake_logits, weights=None):
    """The non-saturating family's G loss: cross-entropy of D(G(z)) against ones."""
    if weights is None:
        return _sigmoid_xent(tf.ones_like(fake_logits), fake_logits)
    return _mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.ones_like(fake_logits), logits=fake_logits), weights)


def hinge_discriminator_loss(real_logits, fake_logits, real_flipped=None, fake_flipped=None):
    """Hinge D loss (Lim & Ye 2017; SAGAN, BigGAN): E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    _no_flips(real_flipped, fake_flipped, "hinge")
    d_loss_real = tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
    d_loss_fake = tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
    return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake


def hinge_generator_loss(fake_logits, weights=None):
    """Hinge G loss: -E D(G(z)) (the same as the Wasserstein one)."""
    return -_mean(fake_logits, weights)


def least_squares_discriminator_loss(real_logits, fake_logits, real_flipped=None, fake_flipped=None):
    """Least-squares D loss (LSGAN, Mao et al. 2017, targets real 1, fake 0, with TF-GAN's
    factor 1/2): E (D(x) - 1)^2 / 2 + E D(G(z))^2 / 2."""
    _no_flips(real_flipped, fake_flipped, "least_squares")
    d_loss_real = 0.5 * tf.reduce_mean(tf.square(real_logits - 1.0))
    d_loss_fake = 0.5 * tf.reduce_mean(tf.square(fake_logits))
    return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake


def least_squares_generator_loss(fake_logits, weights=None):
    """Least-squares G loss: E (D(G(z)) - 1)^2 / 2."""
    return 0.5 * _mean(tf.square(fake_logits - 1.0), weights)


def wasserstein_discriminator_loss(real_logits, fake_logits, real_flipped=None, fake_flipped=None):
    """Wasserstein critic loss (Arjovsky et al. 2017): -E D(x) + E D(G(z)). Needs a
    Lipschitz constraint on D to mean anything: use it with --gradient_penalty."""
    _no_flips(real_flipped, fake_flipped, "wasserstein")
    d_loss_real = -tf.reduce_mean(real_logits)
    d_loss_fake = tf.reduce_mean(fake_logits)
    return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake


def wasserstein_generator_loss(fake_logits, weights=None):
    """Wasserstein G loss: -E D(G(z))."""
    return -_mean(fake_logits, weights)


LOSSES = {
    "non_saturating": (discriminator_loss, generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "least_squares": (least_squares_discriminator_loss, least_squares_generator_loss),
    "wasserstein": (wasserstein_discriminator_loss, wasserstein_generator_loss),
}


def family(name, label_smoothing=0.9):
    """(discriminator_loss, generator_loss) of the family `name`, each called the same way
    whatever the family: the non-saturating loss's real label `label_smoothing` bound."""
    d_loss, g_loss = LOSSES[name]
    if name == "non_saturating":
        d_loss = functools.partial(d_loss, label_smoothing=label_smoothing)
    return d_loss, g_loss


def _categorical_xent(labels, logits):
    """Mean over the batch of the softmax cross-entropy of logits (batch, K) against
    labels (batch,) ints."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32)))


def info_loss(code_logits, codes):
    """InfoGAN's term: the mean over the batch of the softmax cross-entropy of Q's logits
    (batch, K) against the codes G was given (batch,) ints, the negative of InfoGAN's
    bound less H(c). Both networks add info_weight times it to their losses."""
    return _categorical_xent(codes, code_logits)


def info_continuous_loss(predicted, codes):
    """InfoGAN's term for continuous codes: the mean over the batch of half the squared
    error of Q's predictions (batch, n) against the codes G was given (batch, n), summed
    over the codes: a Gaussian of unit variance's negative log-likelihood less its
    constant (InfoGAN's fixed-variance factored Gaussian)."""
    error = tf.cast(predicted, tf.float32) - tf.cast(codes, tf.float32)
    return tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(error), axis=1))


def rotation_loss(rotation_logits, turns):
    """SS-GAN's term (Chen et al. 2019): the mean softmax cross-entropy of D's rotation
    head (batch, 4) against the quarter turns each image was rotated by (batch,) ints.
    D adds rotation_weight times it on real images, G g_rotation_weight times it on its
    own."""
    return _categorical_xent(turns, rotation_logits)


def _input_gradient_norms_squared(discriminator, x):
    """||d D(x_i) / d x_i||^2 per example; `discriminator` maps a batch to (n, 1) logits,
    each depending only on its own example. Differentiable in D's variables."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(discriminator(x))
    grads = tape.gradient(total, x)
    return tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(x)[0], -1]), axis=1)


def r1_penalty(discriminator, real, gamma):
    """The R1 penalty on real images (Mescheder et al. 2018): gamma / 2 * E ||grad_x D(x)||^2,
    added to D's loss. `discriminator`: a callable from a batch to its logits."""
    return 0.5 * gamma * tf.reduce_mean(_input_gradient_norms_squared(discriminator, real))


def gradient_penalty(discriminator, real, fake, seed, weight):
    """The WGAN-GP penalty (Gulrajani et al. 2017): weight * E (||grad D(x_hat)|| - 1)^2 at
    x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1) per example from the stateless `seed`
    (int64 [2]), added to D's loss. `discriminator`: a callable from a batch to its logits."""
    shape = tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], 0)
    eps = tf.random.stateless_uniform(shape, seed, dtype=real.dtype)
    interpolates = eps * real + (1.0 - eps) * fake
    norms = tf.sqrt(_input_gradient_norms_squared(discriminator, interpolates) + 1e-12)
    return weight * tf.reduce_mean(tf.square(norms - 1.0))


# The small-data levers' terms (issue 28): pure functions of D's logits, weighted by the
# caller's flag; their state (moving averages, the kept count) is the trainer's.


def top_k_weights(fake_logits, k):
    """Top-k training of G (Sinha et al. 2020): (n, 1) 0/1 weights keeping the `k` fake
    examples D scores as most real (ties broken by position), for a generator loss's
    `weights`: G learns from its best samples only. `k` may be a tensor (XLA-friendly:
    a mask of ranks, not a slice of dynamic size)."""
    flat = tf.reshape(fake_logits, [-1])
    # Each example's rank (0 = most real) by counting who beats it: O(n^2) comparisons,
    # cheaper on a CPU than a sort (3.3x the MLP's step under XLA with tf.argsort).
    n = tf.shape(flat)[0]
    position = tf.range(n)
    beats = (flat[None, :] > flat[:, None]) | (
        (flat[None, :] == flat[:, None]) & (position[None, :] < position[:, None]))
    ranks = tf.reduce_sum(tf.cast(beats, tf.int32), axis=1)  # (n,)
    keep = ranks < tf.cast(k, tf.int32)
    return tf.reshape(tf.cast(keep, fake_logits.dtype), tf.shape(fake_logits))


def lecam_penalty(real_logits, fake_logits, real_average, fake_average, weight):
    """The LeCam regularizer (Tseng et al. 2021), added to D's loss: weight * (E relu(D(x) -
    a_fake)^2 + E relu(a_real - D(G(z)))^2), with a_real and a_fake the moving averages of
    D's mean logits on real and fake batches (`moving_average`): D's verdicts are kept
    near the other side's running mean, which bounds how far it can separate a small
    training set from G's samples (the official code's one-sided form)."""
    real = tf.square(tf.nn.relu(real_logits - fake_average))
    fake = tf.square(tf.nn.relu(real_average - fake_logits))
    return weight * (tf.reduce_mean(real) + tf.reduce_mean(fake))


def moving_average(average, value, decay):
    """decay * average + (1 - decay) * value: LeCam's averages of D's mean logits."""
    return decay * average + (1.0 - decay) * value


def mode_seeking_distances(images, z):
    """(mean |G(z_a) - G(z_b)|, mean |z_a - z_b|) over the pairs of a fake batch: rows 0 and
    1, 2 and 3, ... (pairs of adjacent rows, so that a batch split evenly over replicas
    splits no pair). `images` (n, ...) and `z` (n, z_dim), n even; float32."""
    images, z = tf.cast(images, tf.float32), tf.cast(z, tf.float32)
    return (tf.reduce_mean(tf.abs(images[0::2] - images[1::2])),
            tf.reduce_mean(tf.abs(z[0::2] - z[1::2])))


def mode_seeking_from_distances(image_distance, z_distance, weight, eps=1e-5):
    """weight / (image_distance / z_distance + eps): MSGAN's term from the pairs' mean
    distances (`mode_seeking_distances`, averaged over replicas by the caller)."""
    return weight / (image_distance / z_distance + eps)


def mode_seeking_loss(images, z, weight, eps=1e-5):
    """Mode-seeking regularization (MSGAN, Mao et al. 2019), added to G's loss: with the
    fake batch in pairs of adjacent rows, r = mean|G(z_a) - G(z_b)| / mean|z_a - z_b| and the
    term is weight / (r + eps) (the paper's form and eps): G is paid for images that
    differ as much as their z do, against drawing one image for many z."""
    return mode_seeking_from_distances(*mode_seeking_distances(images, z), weight, eps)


def mode_seeking_pair_ratios(images, z):
    """Each pair's ratio mean |G(z_a) - G(z_b)| / mean |z_a - z_b| (means over its pixels and
    its z's entries), for the pairs of adjacent rows of a fake batch (`mode_seeking_distances`'
    pairs): `images` (n, ...) and `z` (n, z_dim), n even; returns (n / 2,) float32."""
    images, z = tf.cast(images, tf.float32), tf.cast(z, tf.float32)
    pairs = tf.shape(images)[0] // 2
    image_distance = tf.reduce_mean(tf.reshape(tf.abs(images[0::2] - images[1::2]),
                                               [pairs, -1]), axis=1)
    return image_distance / tf.reduce_mean(tf.abs(z[0::2] - z[1::2]), axis=1)


def capped_mode_seeking_loss(images, z, cap, weight):
    """Mode seeking with each pair's ratio capped (DSGAN's diversity-sensitive term, Yang et
    al. 2019), added to G's loss: -weight * mean_i min(r_i, cap), r_i a pair's own image
    distance over its z distance. A pair already `cap` apart earns nothing more, so G is
    paid for pulling apart the pairs that are close, not for sending one image of an
    already distinct pair further (to another digit, say)."""
    return -weight * tf.reduce_mean(tf.minimum(mode_seeking_pair_ratios(images, z), cap))


def nearest_fakes(real, fake):
    """For each real image, the row of `fake` nearest to it in squared pixel distance:
    `real` (n, ...) and `fake` (m, ...) -> (n,) int32. The choice takes no gradient."""
    real = tf.reshape(tf.cast(real, tf.float32), [tf.shape(real)[0], -1])
    fake = tf.reshape(tf.cast(fake, tf.float32), [tf.shape(fake)[0], -1])
    # |r - f|^2 = |r|^2 - 2 r.f + |f|^2; |r|^2 is the same along a row, so left out.
    distances = tf.reduce_sum(tf.square(fake), axis=1)[None, :] - 2.0 * tf.matmul(
        real, fake, transpose_b=True)  # (n, m)
    return tf.argmin(tf.stop_gradient(distances), axis=1, output_type=tf.int32)


def coverage_loss(real, fake, weight):
    """IMLE's nearest-sample term (Li & Malik 2018), added to G's loss: weight * the mean
    over the real batch of each real image's mean squared pixel distance to the nearest
    image of the fake batch (`nearest_fakes`). Every training image asks for a sample near
    it, so G is paid for covering the data, the recall that a GAN's sharpening loses;
    only the chosen fakes get a gradient."""
    real = tf.reshape(tf.cast(real, tf.float32), [tf.shape(real)[0], -1])  # (n, pixels)
    fake = tf.reshape(tf.cast(fake, tf.float32), [tf.shape(fake)[0], -1])  # (m, pixels)
    # The choice as a one-hot product, not a gather: its gradient is a dense tensor,
    # which an all-gather of the fakes over replicas can pass back.
    chosen = tf.matmul(tf.one_hot(nearest_fakes(real, fake), tf.shape(fake)[0]), fake)
    return weight * tf.reduce_mean(tf.square(real - chosen))


def consistency_penalty(logits, augmented_logits, weight):
    """Consistency regularization (bCR, Zhao et al. 2020), added to D's loss once for the
    real and once for the fake batch: weight * E (D(x) - D(T(x)))^2, T an augmentation,
    so that D's verdict does not depend on what T changes."""
    return weight * tf.reduce_mean(tf.square(logits - augmented_logits))
