"""The DCGAN of the convolutional notebooks, sized for 28x28.

G projects z to (H/4)x(W/4)x256 (7x7 for MNIST), then transposed convolutions 128
(stride 1), 64 (stride 2), 1 (stride 2) with batch norm and ReLU; D strided
convolutions 64, 128 (stride 2 for the first two, 28 -> 14 -> 7, then stride 1) with
Leaky ReLU 0.2 and dropout 0.3. `hidden` adds dense layers: in G before the
projection (batch norm, ReLU), in D after the convolutions (Leaky ReLU, dropout), as
InfoGAN's MNIST nets.
"""
import numpy as np
import tensorflow as tf

from gan_tf import layers
from gan_tf.models import base


class Generator(base.Generator):
    """[dense, BN, ReLU]*, projection to (H/4, W/4, channels[0]), transposed convolutions."""

    DEFAULTS = dict(channels=(256, 128, 64), kernel_size=5, bn_momentum=0.99, init="glorot",
                    hidden=())

    @staticmethod
    def config_sizes(config):
        return dict(channels=config.g_channels, kernel_size=config.kernel_size,
                    bn_momentum=config.bn_momentum, init=config.init, hidden=config.g_hidden)

    @staticmethod
    def first_layer_width(sizes, image_shape):
        """Units of the layer that reads z (its kernel is z_dim x this)."""
        if sizes["hidden"]:
            return sizes["hidden"][0]
        return (image_shape[0] // 4) * (image_shape[1] // 4) * sizes["channels"][0]

    def build_layers(self, s, names):
        channels, kernel_size = s["channels"], s["kernel_size"]
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
            self.deconvs.append(layers.Conv2DTranspose(
                c, kernel_size, stride, use_bias=False, name=names("conv2d_transpose"),
                init=s["init"]))
            self.norms.append(layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization")))
        self.out = layers.Conv2DTranspose(self.image_shape[-1], kernel_size, 2,
                                          name=names("conv2d_transpose"), init=s["init"])

    def logits(self, z, training, update):
        h = z
        for dense, norm in zip(self.hidden, self.hidden_norms):
            h = tf.nn.relu(norm(dense(h), training, update))
        h = tf.reshape(self.project(h), (-1,) + self.start_shape)
        h = tf.nn.relu(self.norms[0](h, training, update))
        for deconv, norm in zip(self.deconvs, self.norms[1:]):
            h = tf.nn.relu(norm(deconv(h), training, update))
        return self.out(h)


class Discriminator(base.Discriminator):
    """Strided convolutions, then optional dense layers (Leaky ReLU and dropout after each)."""

    DEFAULTS = dict(channels=(64, 128), kernel_size=5, leak=0.2, dropout=0.3, init="glorot",
                    hidden=(), spectral_norm=False)

    @staticmethod
    def config_sizes(config):
        return dict(channels=config.d_channels, kernel_size=config.kernel_size, leak=config.leak,
                    dropout=config.dropout, init=config.init, hidden=config.d_hidden,
                    spectral_norm=config.spectral_norm)

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
        h = self.leaky_dropout(tf.cast(x, self.compute_dtype), self.hidden, training, seed)
        h = tf.reshape(h, (tf.shape(h)[0], int(np.prod(h.shape[1:]))))
        return self.leaky_dropout(h, self.dense_hidden, training, seed, len(self.hidden))
