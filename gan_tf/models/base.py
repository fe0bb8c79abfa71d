"""What every architecture's Generator and Discriminator share: the call contract
(labels, dtypes, output functions), the size defaults, and the projection output.

A subclass sets DEFAULTS, builds its layers in `build_layers` (inside its scope, so
its variables read `generator/dense/kernel`, ...) and computes in `logits` (G) or
`features` (D); `config_sizes(config)` reads its sizes from a TrainConfig.
"""
import tensorflow as tf

from gan_tf import data
from gan_tf.models import layers

QUARTER_TURNS = 4  # a self-supervised D's rotations: 0, 90, 180 and 270 degrees


def resolve_sizes(cls, overrides):
    """cls.DEFAULTS updated with the non-None `overrides`; unknown names refused."""
    sizes = dict(cls.DEFAULTS)
    unknown = set(overrides) - set(sizes)
    if unknown:
        raise TypeError(f"{cls.__module__}.{cls.__name__} got unknown sizes {sorted(unknown)}; "
                        f"it takes {sorted(sizes)}")
    sizes.update({name: v for name, v in overrides.items() if v is not None})
    return sizes


class Generator(tf.Module):
    """z (batch, z_dim) -> (images (batch, *image_shape) in [-1, 1], logits)."""

    DEFAULTS = {}

    def __init__(self, image_shape=data.IMAGE_SHAPE, name="generator", compute_dtype="float32",
                 num_classes=0, num_codes=0, **sizes):
        """`num_classes`: a conditional generator's classes; `num_codes`: the values of an
        InfoGAN generator's categorical code (not classes: G decides what each draws).
        Either one arrives as `labels` and joins z as a one-hot vector."""
        super().__init__(name=name)
        self.compute_dtype, self.num_classes, self.num_codes = compute_dtype, num_classes, num_codes
        self.image_shape = tuple(image_shape)
        self.sizes = resolve_sizes(type(self), sizes)
        with self.name_scope:
            self.build_layers(self.sizes, layers.LayerNames())

    def build_layers(self, sizes, names):
        raise NotImplementedError

    def logits(self, z, training, update):
        """Pre-tanh images (batch, *image_shape) from z (with its one-hot label appended)."""
        raise NotImplementedError

    def __call__(self, z, training=False, update_stats=True, labels=None):
        """`update_stats=False` uses batch statistics without moving the averages
        (the discriminator's step must not change generator variables). `labels`
        (batch,) ints: the classes to draw (conditional generator) or the code values
        (InfoGAN generator); for those only."""
        z = _with_labels(z, labels, self.label_width, self.name, codes=bool(self.num_codes))
        z = tf.cast(z, self.compute_dtype)
        logits = self.logits(z, training, training and update_stats)
        logits = tf.cast(logits, tf.float32)  # outputs are float32 under mixed precision too
        return tf.tanh(logits), logits

    @property
    def label_width(self):
        """Columns of the one-hot `labels` appended to z: classes or code values (or 0)."""
        return self.num_classes or self.num_codes


class Discriminator(tf.Module):
    """x (batch, *image_shape) -> (probs (batch, 1), logits (batch, 1)).

    Conditional (num_classes > 0): a projection discriminator (Miyato & Koyama 2018),
    logit = dense(h) + <embedding[y], h> over the last features h. Sizes take
    `spectral_norm`: every dense and convolution kernel (not the embedding) spectrally
    normalised, with one power iteration per training call (gan_tf.models.layers).

    InfoGAN (num_codes > 0): `code_logits(h)` is the head Q that reads G's categorical code
    back from the same features, `discriminator/info/kernel`: a variable of D, trained by
    D's optimizer; D's verdict stays unconditional. With continuous_codes > 0,
    `continuous_code_values(h)` (`discriminator/info_continuous/kernel`) predicts the first
    entries of G's z the same way.

    Self-supervised (rotations=True, SS-GAN): `rotation_logits(h)` is a head
    `discriminator/rotation/kernel` that reads from the same features by how many quarter
    turns (0-3) an image was rotated (gan_tf.training.steps trains it, gan_tf.anomaly
    scores with it)."""

    DEFAULTS = {}

    def __init__(self, name="discriminator", compute_dtype="float32", num_classes=0, num_codes=0,
                 rotations=False, continuous_codes=0, **sizes):
        super().__init__(name=name)
        self.compute_dtype, self.num_classes, self.num_codes = compute_dtype, num_classes, num_codes
        self.continuous_codes = continuous_codes
        self.rotations = bool(rotations)
        self.sizes = resolve_sizes(type(self), sizes)
        s, names = self.sizes, layers.LayerNames()
        with self.name_scope:
            self.build_layers(s, names)
            self.out = layers.Dense(1, name=names("dense"), init=s["init"],
                                    spectral_norm=s["spectral_norm"])
            if num_classes:
                self.embedding = layers.Embedding(num_classes, names("embedding"), s["init"])
            if num_codes:  # not spectrally normalised: a classifier, not a critic
                self.info = layers.Dense(num_codes, name="info", init=s["init"])
            if continuous_codes:  # a regressor: not spectrally normalised either
                self.info_continuous = layers.Dense(continuous_codes, name="info_continuous",
                                                    init=s["init"])
            if rotations:  # a classifier too: not spectrally normalised
                self.rotation = layers.Dense(QUARTER_TURNS, name="rotation", init=s["init"])

    def build_layers(self, sizes, names):
        raise NotImplementedError

    def features(self, x, training=False, seed=None):
        """h (batch, features): the last hidden layer, which the output layer reads
        (the feature-matching space of gan_tf.anomaly). `seed`: as in __call__."""
        raise NotImplementedError

    def __call__(self, x, training=False, seed=None, labels=None):
        """`seed` (int64 [2]) makes dropout stateless and so reproducible. `labels`
        (batch,) ints: the classes the images claim, for a conditional D only."""
        _check_labels(labels, self.num_classes, self.name)
        return self.logits_from_features(self.features(x, training, seed), labels, training)

    def logits_from_features(self, h, labels=None, training=False):
        """(probs, logits) (batch, 1) from features(x); `labels` as in __call__."""
        logits = self.out(h, training)
        if self.num_classes:  # projection: <embedding[y], h>
            projection = self.embedding(labels, int(h.shape[-1]))
            logits += tf.reduce_sum(tf.cast(projection, h.dtype) * h, axis=1, keepdims=True)
        logits = tf.cast(logits, tf.float32)
        return tf.sigmoid(logits), logits

    def code_logits(self, h):
        """(batch, num_codes) float32 logits of the categorical code Q reads in features h
        (InfoGAN's Q(c | x))."""
        return tf.cast(self.info(h), tf.float32)

    def continuous_code_values(self, h):
        """(batch, continuous_codes) float32: the continuous codes (the first entries of z)
        Q predicts from features h (the means of InfoGAN's fixed-variance Gaussian)."""
        return tf.cast(self.info_continuous(h), tf.float32)

    def rotation_logits(self, h):
        """(batch, 4) float32 logits of the quarter turns (0-3) the images of features h
        were rotated by (SS-GAN's rotation classifier)."""
        return tf.cast(self.rotation(h), tf.float32)

    def logits_of_every_class(self, h):
        """(batch, num_classes) logits of features h claimed as each class (conditional D:
        the logits_from_features of every label at once)."""
        projection = tf.matmul(h, tf.cast(self.embedding.embeddings, h.dtype), transpose_b=True)
        return tf.cast(self.out(h) + projection, tf.float32)

    def leaky_dropout(self, h, stack, training, seed, first_index=0):
        """h through each layer of `stack`, then Leaky ReLU and dropout; layer i's dropout
        seed is folded from `seed` with first_index + i."""
        s = self.sizes
        for i, layer in enumerate(stack):
            h = tf.nn.leaky_relu(layer(h, training), s["leak"])
            layer_seed = (None if seed is None else
                          tf.random.experimental.stateless_fold_in(seed, first_index + i))
            h = layers.dropout(h, s["dropout"], training, layer_seed)
        return h


def _check_labels(labels, num_classes, name, what="is class-conditional"):
    if num_classes and labels is None:
        raise ValueError(f"{name} {what}: pass labels=")
    if not num_classes and labels is not None:
        raise ValueError(f"{name} is not class-conditional: it takes no labels")


def _with_labels(z, labels, width, name, codes=False):
    """z, with the labels' one-hot vectors (`width` columns) appended for a conditional
    generator (the conditional GAN of Mirza & Osindero) or, with `codes`, an InfoGAN one."""
    _check_labels(labels, width, name, "takes InfoGAN's categorical code" if codes else
                  "is class-conditional")
    if not width:
        return z
    return tf.concat([z, tf.one_hot(labels, width, dtype=z.dtype)], axis=1)
