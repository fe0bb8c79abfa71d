"""A legacy GAN written as template-based TF1 code was: the generator a
`tf.make_template` built at import, the discriminator with `reuse=tf.AUTO_REUSE` and
`scope.reuse_variables()` (issue 27's second family, without slim's layers)."""
from gan_tf import tf1 as tf


def _generator(z, training, units=16):
    h = tf.layers.dense(z, units, activation=tf.nn.relu)
    return tf.tanh(tf.layers.dense(h, 784))


generator = tf.make_template("generator", _generator, units=12)


def discriminator(x, training):
    with tf.variable_scope("discriminator", reuse=tf.AUTO_REUSE) as scope:
        flat = tf.reshape(x, [-1, 784])
        h = tf.layers.dense(flat, 16, activation=tf.nn.leaky_relu, name="hidden")
        scope.reuse_variables()  # TF1 code called it before a second tower
        h = tf.layers.dense(flat, 16, activation=tf.nn.leaky_relu, name="hidden")
        return tf.layers.dense(h, 1, name="logit")


def template_generator(z, training):
    return generator(z, training)
