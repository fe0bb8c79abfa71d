"""A legacy GAN in TF-Slim style (issue 27's second family): `slim = tf.contrib.slim`,
slim.arg_scope over slim's layers, batch norm with scale and decay 0.9, the generator a
`tf.make_template` built at import time, the discriminator with `reuse=tf.AUTO_REUSE`.
Sized small for the tests."""
from gan_tf import tf1 as tf

slim = tf.contrib.slim


def _generator(z, training):
    with slim.arg_scope([slim.fully_connected, slim.conv2d_transpose],
                        normalizer_fn=slim.batch_norm,
                        normalizer_params={"is_training": training, "scale": True,
                                           "decay": 0.9},
                        weights_regularizer=slim.l2_regularizer(1e-3)):
        net = slim.fully_connected(z, 7 * 7 * 8)
        net = tf.reshape(net, [-1, 7, 7, 8])
        net = slim.conv2d_transpose(net, 4, 5, stride=2)
        net = slim.conv2d_transpose(net, 1, 5, stride=2, normalizer_fn=None,
                                    activation_fn=tf.tanh)
        return net


generator_template = tf.make_template("generator", _generator)


def generator(z, training):
    return generator_template(z, training)


def discriminator(x, training):
    with tf.variable_scope("discriminator", reuse=tf.AUTO_REUSE):
        with slim.arg_scope([slim.conv2d], activation_fn=tf.nn.leaky_relu, kernel_size=5,
                            stride=2, weights_regularizer=slim.l1_regularizer(1e-4)):
            net = slim.conv2d(x, 8)
            net = slim.conv2d(net, 16, normalizer_fn=slim.batch_norm,
                              normalizer_params={"is_training": training, "scale": True,
                                                 "decay": 0.9})
        net = slim.flatten(net)
        net = slim.dropout(net, keep_prob=0.8, is_training=training)
        return slim.fully_connected(net, 1, activation_fn=None)
