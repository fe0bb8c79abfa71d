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

from gan_tf import data as data_lib
from gan_tf import inference, runs
from gan_tf.errors import DataError


def q_marginal(discriminator, images, batch=500):
    """(K,) float64 mean over `images` (N, 28, 28, 1) of Q(c | x): the share of the images
    the run's own D reads as each code value."""
    total = np.zeros([discriminator.num_codes], np.float64)
    for part in inference.batches(len(images), batch):
        h = discriminator.features(tf.constant(images[part], tf.float32), training=False)
        total += tf.reduce_sum(tf.nn.softmax(discriminator.code_logits(h)), axis=0).numpy()
    return total / len(images)


def _learned(config):
    return config.code_prior == "learned" and bool(config.latent_categories)


def served_prior(config, discriminator, train_images):
    """The code prior a run's samples are drawn from: None (uniform) unless the run has
    --code_prior=learned, then q_marginal of its D on the training images."""
    if not _learned(config):
        return None
    return q_marginal(discriminator, train_images)


def run_prior(config, discriminator, run_dir, data_dir=None):
    """served_prior for a finished run (gan_tf.sample, gan_tf.export): its training images
    loaded again, only when needed, from `data_dir` (a tool's --data_dir) or where the run
    read them (runs.data_dir_of), without the classes it left out. DataError if they are
    not the images the run trained on (its config.json's fingerprint): the prior of other
    images is not the one its evaluations drew from."""
    if not _learned(config):
        return None
    all_data = data_lib.load(config.dataset, runs.data_dir_of(run_dir, config, data_dir))
    recorded, found = runs.read_data_record(run_dir), all_data.record()
    keys = ("dataset", "train_images", "fingerprint")
    if recorded is not None and any(recorded.get(k) != found[k] for k in keys):
        raise DataError(f"{all_data.source} is not the data the run in {run_dir} trained on "
                        f"(its config.json records {recorded.get('train_images')!r} "
                        f"training images from {recorded.get('source')!r}); "
                        "--code_prior=learned reads "
                        "its code prior from them: pass --data_dir with the run's data")
    data = data_lib.without_classes(all_data, config.exclude_classes)
    return served_prior(config, discriminator, data.train_images)
