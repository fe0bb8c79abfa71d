"""Generator and Discriminator: tf.Modules whose names are their variable scopes.

    images, logits = G(z, training=...)   # images = tanh(logits), shaped like the data
    probs, logits = D(x, training=...)    # probs = sigmoid(logits), logits (batch, 1)
    G(z, labels=y), D(x, labels=y)        # class-conditional models (num_classes > 0)

One Discriminator object scores both real and fake batches (TF1's reuse=True).
Variables are created on the first call and read like TF1's `tf.layers`:
`generator/dense/kernel`, `discriminator/dense_1/bias`, ...

Architectures and their default sizes:
  mlp   (seed 004, the TF1 MNIST GAN): G z -> 128 -> 784, D 784 -> 128 -> 1,
        Leaky ReLU 0.01, optional batch norm in G, optional dropout in D.
  dcgan (seeds 001/003, sized for 28x28): G projects z to 7x7x256, then
        transposed convolutions 128 (stride 1), 64 (stride 2), 1 (stride 2) with
        batch norm and ReLU; D strided convolutions 64, 128 (stride 2 while the
        map is larger than 7x7, then stride 1) with Leaky ReLU 0.2 and dropout 0.3.
        `hidden` adds dense layers: in G before the projection (batch norm, ReLU),
        in D after the convolutions (Leaky ReLU, dropout), as InfoGAN's MNIST nets.

Class-conditional models (--conditional, num_classes > 0): G takes the label as
a one-hot vector concatenated to z (the conditional GAN of Mirza & Osindero);
D is a projection discriminator (Miyato & Koyama 2018): logit = dense(h) +
<embedding[y], h> over its last features h. Projection rather than feeding the
label into D's input: it adds one (num_classes, features) variable, leaves D's
layers as they are, and trained better than concatenation in that paper.
"""
import numpy as np
import tensorflow as tf

from gan_tf import layers

IMAGE_SHAPE = (28, 28, 1)

GENERATOR_DEFAULTS = {
    "mlp": dict(hidden=(128,), leak=0.01, batchnorm=False, bn_momentum=0.99, init="glorot"),
    "dcgan": dict(channels=(256, 128, 64), kernel_size=5, bn_momentum=0.99, init="glorot",
                  hidden=()),
}
DISCRIMINATOR_DEFAULTS = {
    "mlp": dict(hidden=(128,), leak=0.01, dropout=0.0, init="glorot"),
    "dcgan": dict(channels=(64, 128), kernel_size=5, leak=0.2, dropout=0.3, init="glorot",
                  hidden=()),
}


def _sizes(defaults, architecture, overrides, what):
    if architecture not in defaults:
        raise ValueError(f"unknown architecture {architecture!r}; choose from {sorted(defaults)}")
    sizes = dict(defaults[architecture])
    unknown = set(overrides) - set(sizes)
    if unknown:
        raise TypeError(f"{what}({architecture!r}) got unknown sizes {sorted(unknown)}; "
                        f"it takes {sorted(sizes)}")
    sizes.update({k: v for k, v in overrides.items() if v is not None})
    return sizes


class Generator(tf.Module):
    """z (batch, z_dim) -> (images (batch, 28, 28, 1) in [-1, 1], logits)."""

    def __init__(self, architecture="mlp", image_shape=IMAGE_SHAPE, name="generator",
                 compute_dtype="float32", num_classes=0, **sizes):
        super().__init__(name=name)
        self.architecture, self.compute_dtype = architecture, compute_dtype
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        self.sizes = _sizes(GENERATOR_DEFAULTS, architecture, sizes, "Generator")
        s, names = self.sizes, layers.LayerNames()
        with self.name_scope:
            if architecture == "mlp":
                self.hidden = [layers.Dense(u, name=names("dense"), init=s["init"])
                               for u in s["hidden"]]
                self.norms = ([layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization"))
                               for _ in s["hidden"]] if s["batchnorm"] else [])
                self.out = layers.Dense(int(np.prod(self.image_shape)), name=names("dense"),
                                        init=s["init"])
            else:
                channels, k = s["channels"], s["kernel_size"]
                h, w = self.image_shape[0] // 4, self.image_shape[1] // 4
                self.start_shape = (h, w, channels[0])
                # Optional dense layers before the projection (InfoGAN's MNIST generator has one).
                self.hidden = [layers.Dense(u, use_bias=False, name=names("dense"), init=s["init"])
                               for u in s["hidden"]]
                self.hidden_norms = [layers.BatchNorm(s["bn_momentum"],
                                                      name=names("batch_normalization"))
                                     for _ in s["hidden"]]
                self.project = layers.Dense(h * w * channels[0], use_bias=False, name=names("dense"),
                                            init=s["init"])
                self.norms = [layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization"))]
                self.deconvs = []
                # The last two transposed convolutions upsample x2 each: 7 -> 14 -> 28.
                for i, c in enumerate(channels[1:]):
                    stride = 2 if i == len(channels) - 2 else 1
                    self.deconvs.append(layers.Conv2DTranspose(
                        c, k, stride, use_bias=False, name=names("conv2d_transpose"),
                        init=s["init"]))
                    self.norms.append(layers.BatchNorm(s["bn_momentum"],
                                                       name=names("batch_normalization")))
                self.out = layers.Conv2DTranspose(self.image_shape[-1], k, 2,
                                                  name=names("conv2d_transpose"), init=s["init"])

    def __call__(self, z, training=False, update_stats=True, labels=None):
        """`update_stats=False` uses batch statistics without moving the averages
        (the discriminator's step must not change generator variables). `labels`
        (batch,) ints: the classes to draw, for a conditional generator only."""
        s = self.sizes
        update = training and update_stats
        z = _with_labels(z, labels, self.num_classes, self.name)
        z = tf.cast(z, self.compute_dtype)
        if self.architecture == "mlp":
            h = z
            for i, dense in enumerate(self.hidden):
                h = dense(h)
                if self.norms:
                    h = self.norms[i](h, training, update)
                h = tf.nn.leaky_relu(h, s["leak"])
            logits = tf.reshape(self.out(h), (-1,) + self.image_shape)
        else:
            h = z
            for dense, norm in zip(self.hidden, self.hidden_norms):
                h = tf.nn.relu(norm(dense(h), training, update))
            h = tf.reshape(self.project(h), (-1,) + self.start_shape)
            h = tf.nn.relu(self.norms[0](h, training, update))
            for deconv, norm in zip(self.deconvs, self.norms[1:]):
                h = tf.nn.relu(norm(deconv(h), training, update))
            logits = self.out(h)
        logits = tf.cast(logits, tf.float32)  # outputs are float32 under mixed precision too
        return tf.tanh(logits), logits


class Discriminator(tf.Module):
    """x (batch, 28, 28, 1) -> (probs (batch, 1), logits (batch, 1))."""

    def __init__(self, architecture="mlp", name="discriminator", compute_dtype="float32",
                 num_classes=0, **sizes):
        super().__init__(name=name)
        self.architecture, self.compute_dtype = architecture, compute_dtype
        self.num_classes = num_classes
        self.sizes = _sizes(DISCRIMINATOR_DEFAULTS, architecture, sizes, "Discriminator")
        s, names = self.sizes, layers.LayerNames()
        with self.name_scope:
            if architecture == "mlp":
                self.hidden = [layers.Dense(u, name=names("dense"), init=s["init"])
                               for u in s["hidden"]]
            else:
                # Stride 2 for the first two convolutions (28 -> 14 -> 7), then 1.
                self.hidden = [layers.Conv2D(c, s["kernel_size"], 2 if i < 2 else 1,
                                             name=names("conv2d"), init=s["init"])
                               for i, c in enumerate(s["channels"])]
                # Optional dense layers after the convolutions (InfoGAN's MNIST discriminator).
                self.dense_hidden = [layers.Dense(u, name=names("dense"), init=s["init"])
                                     for u in s["hidden"]]
            self.out = layers.Dense(1, name=names("dense"), init=s["init"])
            if num_classes:
                self.embedding = layers.Embedding(num_classes, names("embedding"), s["init"])

    def __call__(self, x, training=False, seed=None, labels=None):
        """`seed` (int64 [2]) makes dropout stateless and so reproducible. `labels`
        (batch,) ints: the classes the images claim, for a conditional D only."""
        _check_labels(labels, self.num_classes, self.name)
        return self.logits_from_features(self.features(x, training, seed), labels)

    def features(self, x, training=False, seed=None):
        """h (batch, features): the last hidden layer, which the output layer reads
        (the feature-matching space of gan_tf.anomaly)."""
        s = self.sizes
        x = tf.cast(x, self.compute_dtype)
        h = tf.reshape(x, (tf.shape(x)[0], -1)) if self.architecture == "mlp" else x
        for i, layer in enumerate(self.hidden):
            h = tf.nn.leaky_relu(layer(h), s["leak"])
            layer_seed = None if seed is None else tf.random.experimental.stateless_fold_in(seed, i)
            h = layers.dropout(h, s["dropout"], training, layer_seed)
        if self.architecture != "mlp":
            h = tf.reshape(h, (tf.shape(h)[0], int(np.prod(h.shape[1:]))))
            for j, layer in enumerate(self.dense_hidden):
                h = tf.nn.leaky_relu(layer(h), s["leak"])
                layer_seed = (None if seed is None else
                              tf.random.experimental.stateless_fold_in(seed, len(self.hidden) + j))
                h = layers.dropout(h, s["dropout"], training, layer_seed)
        return h

    def logits_from_features(self, h, labels=None):
        """(probs, logits) (batch, 1) from features(x); `labels` as in __call__."""
        logits = self.out(h)
        if self.num_classes:  # projection: <embedding[y], h>
            projection = self.embedding(labels, int(h.shape[-1]))
            logits += tf.reduce_sum(tf.cast(projection, h.dtype) * h, axis=1, keepdims=True)
        logits = tf.cast(logits, tf.float32)
        return tf.sigmoid(logits), logits

    def logits_of_every_class(self, h):
        """(batch, num_classes) logits of features h claimed as each class (conditional D:
        the logits_from_features of every label at once)."""
        projection = tf.matmul(h, tf.cast(self.embedding.embeddings, h.dtype), transpose_b=True)
        return tf.cast(self.out(h) + projection, tf.float32)


def _check_labels(labels, num_classes, name):
    if num_classes and labels is None:
        raise ValueError(f"{name} is class-conditional: pass labels=")
    if not num_classes and labels is not None:
        raise ValueError(f"{name} is not class-conditional: it takes no labels")


def _with_labels(z, labels, num_classes, name):
    """z, with the labels' one-hot vectors appended for a conditional generator."""
    _check_labels(labels, num_classes, name)
    if not num_classes:
        return z
    return tf.concat([z, tf.one_hot(labels, num_classes, dtype=z.dtype)], axis=1)


NUM_CLASSES = 10  # the digits (and Fashion-MNIST's classes) of conditional models


def num_classes(config):
    return NUM_CLASSES if config.conditional else 0


def grid_labels(n, num_classes):
    """Labels 0, 1, ..., num_classes - 1, 0, ... of n samples, (n,) int32: every class
    equally often (one per column of a num_classes-wide grid). None when unconditional."""
    return np.arange(n, dtype=np.int32) % num_classes if num_classes else None


def build_generator(config, name="generator", compute_dtype="float32"):
    """A Generator for a TrainConfig, variables created (e.g. a second one for the EMA)."""
    return build(config, generator_name=name, compute_dtype=compute_dtype)[0]


def build(config, generator_name="generator", compute_dtype="float32"):
    """Generator and Discriminator for a TrainConfig, variables created (float32; they
    compute in `compute_dtype`, bfloat16 or float16 under mixed precision)."""
    if config.model == "mlp":
        g_sizes = dict(hidden=config.g_hidden, leak=config.leak, batchnorm=config.g_batchnorm,
                       bn_momentum=config.bn_momentum, init=config.init)
        d_sizes = dict(hidden=config.d_hidden, leak=config.leak, dropout=config.dropout,
                       init=config.init)
    else:
        g_sizes = dict(channels=config.g_channels, kernel_size=config.kernel_size,
                       bn_momentum=config.bn_momentum, init=config.init, hidden=config.g_hidden)
        d_sizes = dict(channels=config.d_channels, kernel_size=config.kernel_size,
                       leak=config.leak, dropout=config.dropout, init=config.init,
                       hidden=config.d_hidden)
    k = num_classes(config)
    generator = Generator(config.model, name=generator_name, compute_dtype=compute_dtype,
                          num_classes=k, **g_sizes)
    discriminator = Discriminator(config.model, compute_dtype=compute_dtype, num_classes=k,
                                  **d_sizes)
    labels = grid_labels(1, k)
    images, _ = generator(tf.zeros([1, config.z_dim]), labels=labels)  # creates the variables
    discriminator(images, labels=labels)
    return generator, discriminator
