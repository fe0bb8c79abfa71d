"""The prior an InfoGAN run draws its categorical code from when it serves samples.

Trained, every code value is drawn equally often. But G decides what each value draws,
and with more values than digits some digits get two or three values and others one, so
uniform codes draw those digits more often than the data holds them. `--code_prior=learned`
serves the values as often as the data holds what they draw: the prior is the mean of
Q(c | x), InfoGAN's code head on D's features, over the training images (no labels: Q
learns from G's samples only). It changes which values are drawn, never the weights.
docs/quality.md ("Q's code prior") has its measured effect.
"""
import numpy as np
import tensorflow as tf

from gan_tf import inference

PRIORS = ("uniform", "learned")


def q_marginal(discriminator, images, batch=500):
    """(K,) float64 mean over `images` (N, 28, 28, 1) of Q(c | x): the share of the images
    the run's own D reads as each code value."""
    total = np.zeros([discriminator.num_codes], np.float64)
    for part in inference.batches(len(images), batch):
        h = discriminator.features(tf.constant(images[part], tf.float32), training=False)
        total += tf.reduce_sum(tf.nn.softmax(discriminator.code_logits(h)), axis=0).numpy()
    return total / len(images)


def served_prior(config, discriminator, train_images):
    """The code prior a run's samples are drawn from: None (uniform) unless the run has
    --code_prior=learned, then q_marginal of its D on the training images."""
    if getattr(config, "code_prior", "uniform") != "learned" or not config.latent_categories:
        return None
    return q_marginal(discriminator, train_images)


def run_prior(config, discriminator):
    """served_prior for a finished run (gan_tf.sample, gan_tf.export): its training images
    loaded again (those of its dataset, without the classes it left out), only when needed."""
    if getattr(config, "code_prior", "uniform") != "learned" or not config.latent_categories:
        return None
    from gan_tf import data as data_lib
    data = data_lib.without_classes(data_lib.load(config.dataset, config.data_dir),
                                    config.exclude_classes)
    return served_prior(config, discriminator, data.train_images)
