"""GAN losses: pure functions of discriminator logits.

Mean sigmoid cross-entropy as in the TF1 MNIST notebook's MLP GAN: real labels are
smoothed to `label_smoothing` (0.9), fake labels are 0, and the discriminator's
loss is the sum of its real and fake parts.
"""
import tensorflow as tf


def _sigmoid_xent(labels, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.9, real_flipped=None,
                       fake_flipped=None):
    """Returns (d_loss, d_loss_real, d_loss_fake); d_loss = d_loss_real + d_loss_fake.

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


def generator_loss(fake_logits):
    """Non-saturating generator loss: cross-entropy of D(G(z)) against ones."""
    return _sigmoid_xent(tf.ones_like(fake_logits), fake_logits)
