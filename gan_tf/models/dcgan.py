"""The DCGAN of the convolutional notebooks, sized for 28x28.

G projects z to (H/4)x(W/4)x256 (7x7 for MNIST), then transposed convolutions 128
(stride 1), 64 (stride 2), 1 (stride 2) with batch norm and ReLU; D strided
convolutions 64, 128 (stride 2 for the first two, 28 -> 14 -> 7, then stride 1) with
Leaky ReLU 0.2 and dropout 0.3. `hidden` adds dense layers: in G before the
projection (batch norm, ReLU), in D after the convolutions (Leaky ReLU, dropout), as
InfoGAN's MNIST nets.

Two architecture options (docs/quality.md, "Architecture options"): G's `upsample`
"resize" makes each stride-2 transposed convolution a nearest-neighbour x2 upsampling and
a stride-1 convolution (Odena et al. 2016: no checkerboard artefacts); D's
`minibatch_stddev` appends ProGAN's minibatch standard-deviation feature map (Karras et al.
2018) before the flatten, so that D can see a batch's lack of variety.
"""
import numpy as np
import tensorflow as tf

from gan_tf.models import base, layers

STDDEV_GROUP = 4  # ProGAN's group size for the minibatch standard deviation
STDDEV_EPSILON = 1e-8  # inside the square root: its gradient at 0 stays finite


class ResizeConv2D(layers.Conv2D):
    """Nearest-neighbour upsampling by `scale`, then a stride-1 SAME convolution: the
    output size of a stride-`scale` transposed convolution. Kernel (k, k, in, filters) and
    TF1's name `conv2d`, as tf.layers.conv2d after tf.image.resize_nearest_neighbor."""

    def __init__(self, filters, kernel_size, scale, use_bias=True, name="conv2d", init="glorot"):
        super().__init__(filters, kernel_size, 1, use_bias, name, init)
        self.scale = scale

    def apply(self, x, kernel):
        # tf.image.resize: faster on CPU than tf.repeat twice (docs/quality.md).
        size = (x.shape[1] * self.scale, x.shape[2] * self.scale)
        up = tf.image.resize(x, size, method="nearest")
        return tf.nn.conv2d(up, kernel, 1, "SAME")


def generator_layer(sizes, filters, stride, use_bias, names):
    """One of G's transposed convolutions; one of stride 2 is a ResizeConv2D instead with
    sizes' upsample="resize"."""
    if stride == 2 and sizes["upsample"] == "resize":
        return ResizeConv2D(filters, sizes["kernel_size"], 2, use_bias, names("conv2d"),
                            sizes["init"])
    return layers.Conv2DTranspose(filters, sizes["kernel_size"], stride, use_bias,
                                  names("conv2d_transpose"), sizes["init"])


class Generator(base.Generator):
    """[dense, BN, ReLU]*, projection to (H/4, W/4, channels[0]), transposed convolutions
    (the stride-2 ones resize-convolutions with upsample="resize")."""

    DEFAULTS = dict(channels=(256, 128, 64), kernel_size=5, bn_momentum=0.99, init="glorot",
                    hidden=(), upsample="transpose")

    @staticmethod
    def config_sizes(config):
        return dict(channels=config.g_channels, kernel_size=config.kernel_size,
                    bn_momentum=config.bn_momentum, init=config.init, hidden=config.g_hidden,
                    upsample=config.g_upsample)

    @staticmethod
    def first_layer_width(sizes, image_shape):
        """Units of the layer that reads z (its kernel is z_dim x this)."""
        if sizes["hidden"]:
            return sizes["hidden"][0]
        return (image_shape[0] // 4) * (image_shape[1] // 4) * sizes["channels"][0]

    def build_layers(self, s, names):
        channels = s["channels"]
        h, w = self.image_shape[0] // 4, self.image_shape[1] // 4
        self.start_shape = (h, w, channels[0])
        self.hidden = [layers.Dense(u, use_bias=False, name=names("dense"), init=s["init"])
                       for u in s["hidden"]]
        self.hidden_norms = [layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization"))
                             for _ in s["hidden"]]
        self.project = layers.Dense(h * w * channels[0], use_bias=False, name=names("dense"),
                                    init=s["init"])
        self.norms = [layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization"))]
        self.deconvs = []
        # The last two transposed convolutions upsample x2 each: 7 -> 14 -> 28.
        for i, c in enumerate(channels[1:]):
            stride = 2 if i == len(channels) - 2 else 1
            self.deconvs.append(generator_layer(s, c, stride, False, names))
            self.norms.append(layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization")))
        self.out = generator_layer(s, self.image_shape[-1], 2, True, names)

    def logits(self, z, training, update):
        h = z
        for dense, norm in zip(self.hidden, self.hidden_norms):
            h = tf.nn.relu(norm(dense(h), training, update))
        h = tf.reshape(self.project(h), (-1,) + self.start_shape)
        h = tf.nn.relu(self.norms[0](h, training, update))
        for deconv, norm in zip(self.deconvs, self.norms[1:]):
            h = tf.nn.relu(norm(deconv(h), training, update))
        return self.out(h)


def largest_divisor(n, cap):
    """The largest divisor of n that is <= cap: a Python int for an int n, else a tensor."""
    if isinstance(n, int):
        return max(d for d in range(1, cap + 1) if n % d == 0)
    candidates = tf.range(1, cap + 1, dtype=n.dtype)
    return tf.reduce_max(tf.where(n % candidates == 0, candidates, tf.ones_like(candidates)))


def stddev_group(config):
    """The minibatch-stddev group of a config (0: off): the largest divisor <= 4 of each
    replica's share of batch_size (the replicas of the strategy in whose scope the
    networks are built), so that on D's concatenated [real, fake] batch no group mixes the
    two halves, and the fakes of the G step group as in the D step."""
    if not config.minibatch_stddev:
        return 0
    per_replica = config.batch_size // tf.distribute.get_strategy().num_replicas_in_sync
    return largest_divisor(per_replica, STDDEV_GROUP)


def minibatch_stddev(x, group):
    """x (batch, H, W, C) with one more feature map: over each group of `group` consecutive
    images (fewer, the largest divisor of the batch, when `group` does not divide it), the
    standard deviation of every feature across the group, averaged over features and
    positions (Karras et al. 2018's minibatch_stddev_layer, sqrt(var + 1e-8), in float32).
    ProGAN groups images i, i + batch/group, ...; consecutive images here, so that groups
    of the trainer's [real, fake] batch stay all real or all fake. A batch of one: the
    feature is sqrt(1e-8), about 0, as for any group of equal images."""
    batch = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
    g = largest_divisor(batch, group)
    y = tf.reshape(tf.cast(x, tf.float32), tf.stack([-1, g, *x.shape[1:]]))
    variance = tf.reduce_mean(tf.square(y - tf.reduce_mean(y, 1, keepdims=True)), 1)
    stddev = tf.reduce_mean(tf.sqrt(variance + STDDEV_EPSILON), [1, 2, 3])  # (batch / g,)
    feature = tf.broadcast_to(tf.repeat(stddev, g)[:, None, None, None],
                              tf.stack([batch, x.shape[1], x.shape[2], 1]))
    return tf.concat([x, tf.cast(feature, x.dtype)], -1)


class Discriminator(base.Discriminator):
    """Strided convolutions, [the minibatch-stddev feature map], then optional dense layers
    (Leaky ReLU and dropout after each)."""

    DEFAULTS = dict(channels=(64, 128), kernel_size=5, leak=0.2, dropout=0.3, init="glorot",
                    hidden=(), spectral_norm=False, minibatch_stddev=0)

    @staticmethod
    def config_sizes(config):
        return dict(channels=config.d_channels, kernel_size=config.kernel_size, leak=config.leak,
                    dropout=config.dropout, init=config.init, hidden=config.d_hidden,
                    spectral_norm=config.spectral_norm, minibatch_stddev=stddev_group(config))

    def build_layers(self, s, names):
        # Stride 2 for the first two convolutions (28 -> 14 -> 7), then 1. (`hidden`, not
        # `convs`: attribute names are the paths of tf.train.Checkpoint's keys.)
        sn = s["spectral_norm"]
        self.hidden = [layers.Conv2D(c, s["kernel_size"], 2 if i < 2 else 1, name=names("conv2d"),
                                     init=s["init"], spectral_norm=sn)
                       for i, c in enumerate(s["channels"])]
        self.dense_hidden = [layers.Dense(u, name=names("dense"), init=s["init"], spectral_norm=sn)
                             for u in s["hidden"]]

    def features(self, x, training=False, seed=None):
        """Sizes' `minibatch_stddev`: the group size of minibatch_stddev (0: off)."""
        h = self.leaky_dropout(tf.cast(x, self.compute_dtype), self.hidden, training, seed)
        if self.sizes["minibatch_stddev"]:
            h = minibatch_stddev(h, self.sizes["minibatch_stddev"])
        h = tf.reshape(h, (tf.shape(h)[0], int(np.prod(h.shape[1:]))))
        return self.leaky_dropout(h, self.dense_hidden, training, seed, len(self.hidden))
