"""Generator and Discriminator pairs, one module per architecture, behind a registry.

    generator, discriminator = models.build(config)   # the TrainConfig's architecture
    images, logits = G(z, training=...)   # images = tanh(logits), shaped like the data
    probs, logits = D(x, training=...)    # probs = sigmoid(logits), logits (batch, 1)
    G(z, labels=y), D(x, labels=y)        # class-conditional models (num_classes > 0)

Each network is a tf.Module whose name is its variable scope; variables are created
on the first call and read like TF1's `tf.layers`: `generator/dense/kernel`,
`discriminator/dense_1/bias`, ... One Discriminator object scores both real and fake
batches (TF1's reuse=True).

Architectures (`--model`): `mlp` (gan_tf/models/mlp.py) and `dcgan`
(gan_tf/models/dcgan.py). Another plugs in with a module defining a
base.Generator / base.Discriminator pair and one `register` call below. `tf1` is a
legacy TF1 model's own functions, --generator_fn and --discriminator_fn
(gan_tf/models/network.py).

InfoGAN (--latent_categories=K, no labels): G takes a categorical code as its `labels`
(one-hot with z, as a conditional G takes classes); D stays unconditional and has a
head `discriminator/info` that predicts the code from its last features (gan_tf.training.steps).

Class-conditional models (--conditional): G takes the label as a one-hot vector
concatenated to z (the conditional GAN of Mirza & Osindero); D is a projection
discriminator (Miyato & Koyama 2018): logit = dense(h) + <embedding[y], h> over its
last features h. Projection rather than feeding the label into D's input: it adds one
(num_classes, features) variable, leaves D's layers as they are, and trained better
than concatenation in that paper.
"""
import collections
import warnings

import numpy as np
import tensorflow as tf

from gan_tf import data
from gan_tf.models import dcgan, mlp
from gan_tf.tf1 import network

Architecture = collections.namedtuple("Architecture", "generator discriminator")
ARCHITECTURES = {}  # --model name -> Architecture (the two network classes)


def register(name, generator, discriminator):
    """Makes `--model=name` build these Generator and Discriminator classes."""
    ARCHITECTURES[name] = Architecture(generator, discriminator)


register("mlp", mlp.Generator, mlp.Discriminator)
register("dcgan", dcgan.Generator, dcgan.Discriminator)


def architecture(name):
    """The registered Architecture called `name`."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose from {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def num_classes(config, dataset_classes=data.NUM_CLASSES):
    """Classes a config's networks take: the dataset's when conditional, else 0."""
    return dataset_classes if config.conditional else 0


def grid_labels(n, num_classes):
    """Labels 0, 1, ..., num_classes - 1, 0, ... of n samples, (n,) int32: every class
    equally often (one per column of a num_classes-wide grid). None when unconditional."""
    return np.arange(n, dtype=np.int32) % num_classes if num_classes else None


def first_layer_width(config, image_shape=data.IMAGE_SHAPE):
    """Units of the layer that reads z in a config's generator (its kernel is z_dim x
    this); 0 for an unknown architecture (restoring it will say what is wrong)."""
    arch = ARCHITECTURES.get(config.model)
    if arch is None:
        return 0
    return arch.generator.first_layer_width(_sizes(arch.generator, config), image_shape)


def _sizes(cls, config):
    """A network class's sizes for a config: its defaults, overridden by those set."""
    return {**cls.DEFAULTS, **{name: size for name, size in cls.config_sizes(config).items()
                               if size}}


def widest_hidden(config):
    """Units of the widest hidden layer of an MLP config's generator and discriminator
    (their defaults where unset); 0 for another architecture."""
    return _widest(config, "mlp", "hidden")


def widest_channels(config):
    """Channels of the widest convolution of a DCGAN config's generator and discriminator
    (their defaults where unset); 0 for another architecture."""
    return _widest(config, "dcgan", "channels")


def _widest(config, model, sizes):
    if config.model != model:
        return 0
    arch = ARCHITECTURES[model]
    return max(width for network in (arch.generator, arch.discriminator)
               for width in _sizes(network, config)[sizes])


def weight_bytes(config, image_shape=data.IMAGE_SHAPE):
    """Rough bytes of the float32 weights of a config's generator and discriminator, from
    its sizes alone (nothing is built): huge sizes in a config.json are refused before
    building them exhausts memory. 0 for a legacy or unknown architecture."""
    arch = ARCHITECTURES.get(config.model)
    if arch is None:
        return 0
    g, d = _sizes(arch.generator, config), _sizes(arch.discriminator, config)
    pixels = int(np.prod(image_shape))
    z = config.z_dim + config.latent_categories + (data.NUM_CLASSES if config.conditional else 0)
    if config.model == "mlp":
        layers = [[z, *g["hidden"], pixels], [pixels, *d["hidden"], 1]]
        count = sum(a * b for widths in layers for a, b in zip(widths, widths[1:]))
    else:  # dcgan: 7x7 at G's first layer, D's strided convolutions halve the side
        gk, dk, gc, dc = g["kernel_size"] ** 2, d["kernel_size"] ** 2, g["channels"], d["channels"]
        side = image_shape[0] // 2 ** len(dc) + 1
        count = (z * 7 * 7 * gc[0] + sum(gk * a * b for a, b in zip(gc, gc[1:])) + gk * gc[-1]
                 + dk * dc[0] + sum(dk * a * b for a, b in zip(dc, dc[1:])) + side * side * dc[-1])
    return 4 * int(count)


def training_bytes(config, image_shape=data.IMAGE_SHAPE):
    """Rough bytes a training run of `config` needs before its first step, from sizes
    alone: the weights four times over (with their gradients and Adam's two slots; five
    with --g_ema), a batch's codes and images, and --num_samples's fixed z and one grid
    of its samples. So that training refuses sizes no machine holds instead of dying for
    memory while it builds them."""
    pixels = int(np.prod(image_shape))
    weights = (5 if config.g_ema else 4) * weight_bytes(config, image_shape)
    return weights + 4 * (config.batch_size + config.num_samples) * (config.z_dim + pixels)


def build_generator(config, name="generator", compute_dtype="float32",
                    image_shape=data.IMAGE_SHAPE, dataset_classes=data.NUM_CLASSES):
    """A Generator for a TrainConfig, variables created (e.g. a second one for the EMA;
    a legacy function's is named after its own scope, `generator`, either way)."""
    if config.model == "tf1":
        return network.build(config, "generator", image_shape)
    cls = architecture(config.model).generator
    generator = cls(image_shape, name=name, compute_dtype=compute_dtype,
                    num_classes=num_classes(config, dataset_classes),
                    num_codes=config.latent_categories, **cls.config_sizes(config))
    generator(tf.zeros([1, config.z_dim]), labels=grid_labels(1, generator.label_width))
    return generator


def build(config, compute_dtype="float32", image_shape=data.IMAGE_SHAPE,
          dataset_classes=data.NUM_CLASSES):
    """Generator and Discriminator for a TrainConfig and a dataset's image shape and
    class count, variables created (float32; they compute in `compute_dtype`,
    bfloat16 or float16 under mixed precision)."""
    generator = build_generator(config, compute_dtype=compute_dtype, image_shape=image_shape,
                                dataset_classes=dataset_classes)
    if config.model == "tf1":
        return generator, network.build(config, "discriminator", image_shape)
    cls = architecture(config.model).discriminator
    discriminator = cls(compute_dtype=compute_dtype, num_classes=generator.num_classes,
                        num_codes=generator.num_codes, rotations=config.rotation_weight > 0,
                        continuous_codes=config.latent_continuous,
                        **cls.config_sizes(config))
    labels = grid_labels(1, generator.num_classes)
    x = tf.zeros((1,) + generator.image_shape)
    discriminator(x, labels=labels)
    build_heads(discriminator, x)
    return generator, discriminator


def build_heads(discriminator, x):
    """Creates the variables of D's heads on its features, InfoGAN's Qs and SS-GAN's
    rotation classifier, where it has them (D itself built by a call on x)."""
    if discriminator.num_codes:
        discriminator.code_logits(discriminator.features(x))
    if getattr(discriminator, "continuous_codes", 0):
        discriminator.continuous_code_values(discriminator.features(x))
    if discriminator.rotations:
        discriminator.rotation_logits(discriminator.features(x))


# --- deprecated names -------------------------------------------------------------------

def _deprecated(kind, name, args, sizes):
    """models.Generator(architecture, ...) as gan_tf 0.1's first releases took it: the
    registered architecture's class, with a DeprecationWarning (removed in 0.3)."""
    warnings.warn(f"gan_tf.models.{kind}(architecture=...) is deprecated (removed in 0.3); "
                  f"use gan_tf.models.{name}.{kind}(...) or models.build(config)",
                  DeprecationWarning, stacklevel=3)
    return getattr(architecture(name), kind.lower())(*args, **sizes)


def Generator(architecture="mlp", *args, **sizes):  # noqa: N802 - the old class name
    """Deprecated: gan_tf.models.mlp.Generator / dcgan.Generator (see CHANGELOG.md)."""
    return _deprecated("Generator", architecture, args, sizes)


def Discriminator(architecture="mlp", *args, **sizes):  # noqa: N802 - the old class name
    """Deprecated: gan_tf.models.mlp.Discriminator / dcgan.Discriminator (see CHANGELOG.md)."""
    return _deprecated("Discriminator", architecture, args, sizes)
