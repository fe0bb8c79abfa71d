"""What changes with the step in training (issue 28's small-data levers): the learning
rate's decay, top-k training's kept count, and ADA's augmentation probability.

Pure functions of the step (or of D's verdicts), so they run inside the train step's
tf.function, are tested against numpy, and give the same numbers when a run resumes
(the step and ADA's probability are in the checkpoint).
"""
import tensorflow as tf

# Top-k training (Sinha et al. 2020): the kept fraction falls by --topk_gamma a epoch,
# to at least this fraction of the batch (gan_tf's choice, the middle of the paper's range).
TOPK_MIN_FRACTION = 0.5
# ADA (Karras et al. 2020): the augmentation probability can go from 0 to 1 in this many
# real images shown to D (the paper's 500k), moved by the sign of r_t - target each step.
ADA_IMAGES_TO_FULL = 500_000


def learning_rate_factor(step, total_steps, decay):
    """The factor on the learning rates at `step` of `total_steps`: 1 with decay "none";
    with "linear", 1 at step 0 falling linearly to 0 at total_steps (and staying there
    after it, when a resumed run raises --max_steps past it)."""
    if decay == "none":
        return tf.constant(1.0)
    left = 1.0 - tf.cast(step, tf.float32) / float(total_steps)
    return tf.clip_by_value(left, 0.0, 1.0)


def top_k_count(step, batch, steps_per_epoch, gamma, minimum=TOPK_MIN_FRACTION):
    """How many of a fake batch of `batch` G learns from at `step` (int32): all of it in
    the first epoch, then gamma^epoch of it, never under `minimum` of it (Sinha et al.
    2020's annealing, k <- max(gamma k, nu B) once an epoch)."""
    epoch = tf.cast(step // steps_per_epoch, tf.float32)
    fraction = tf.maximum(tf.pow(gamma, epoch), minimum)
    return tf.cast(tf.math.ceil(fraction * batch - 1e-4), tf.int32)


def ada_probability(probability, real_logits, target, images, images_to_full=ADA_IMAGES_TO_FULL):
    """ADA's update (Karras et al. 2020) of the probability of each augmentation: r_t =
    E sign(D(x)) on a real batch (1 when D is sure of every real image, the sign of
    overfitting), and the probability moves up when r_t > target and down otherwise, by
    `images` / `images_to_full`, clipped to [0, 1]."""
    r_t = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
    step = tf.sign(r_t - target) * (float(images) / images_to_full)
    return tf.clip_by_value(probability + step, 0.0, 1.0)
