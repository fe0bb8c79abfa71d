"""The TF1 MNIST notebook's MLP GAN: G z -> 128 -> 784, D 784 -> 128 -> 1, Leaky ReLU
0.01, optional batch norm in G's hidden layers, optional dropout in D."""
import numpy as np
import tensorflow as tf

from gan_tf.models import base, layers


class Generator(base.Generator):
    """Dense hidden layers (Leaky ReLU), then a dense layer to every pixel."""

    DEFAULTS = dict(hidden=(128,), leak=0.01, batchnorm=False, bn_momentum=0.99, init="glorot")

    @staticmethod
    def config_sizes(config):
        return dict(hidden=config.g_hidden, leak=config.leak, batchnorm=config.g_batchnorm,
                    bn_momentum=config.bn_momentum, init=config.init)

    @staticmethod
    def first_layer_width(sizes, image_shape):
        """Units of the layer that reads z (its kernel is z_dim x this)."""
        return sizes["hidden"][0] if sizes["hidden"] else int(np.prod(image_shape))

    def build_layers(self, s, names):
        self.hidden = [layers.Dense(u, name=names("dense"), init=s["init"]) for u in s["hidden"]]
        self.norms = ([layers.BatchNorm(s["bn_momentum"], name=names("batch_normalization"))
                       for _ in s["hidden"]] if s["batchnorm"] else [])
        self.out = layers.Dense(int(np.prod(self.image_shape)), name=names("dense"), init=s["init"])

    def logits(self, z, training, update):
        h = z
        for i, dense in enumerate(self.hidden):
            h = dense(h)
            if self.norms:
                h = self.norms[i](h, training, update)
            h = tf.nn.leaky_relu(h, self.sizes["leak"])
        return tf.reshape(self.out(h), (-1,) + self.image_shape)


class Discriminator(base.Discriminator):
    """The flattened image through dense hidden layers (Leaky ReLU, dropout)."""

    DEFAULTS = dict(hidden=(128,), leak=0.01, dropout=0.0, init="glorot", spectral_norm=False)

    @staticmethod
    def config_sizes(config):
        return dict(hidden=config.d_hidden, leak=config.leak, dropout=config.dropout,
                    init=config.init, spectral_norm=config.spectral_norm)

    def build_layers(self, s, names):
        self.hidden = [layers.Dense(u, name=names("dense"), init=s["init"],
                                    spectral_norm=s["spectral_norm"]) for u in s["hidden"]]

    def features(self, x, training=False, seed=None):
        x = tf.cast(x, self.compute_dtype)
        return self.leaky_dropout(tf.reshape(x, (tf.shape(x)[0], -1)), self.hidden, training, seed)
