"""A legacy MLP GAN whose weights carry TF1 regularizers, written as TF1 code wrote them
(`tf.contrib.layers.l2_regularizer` on tf.layers, `get_variable(regularizer=...)`)."""
from gan_tf import tf1 as tf

G_SCALE, D_SCALE = 0.5, 0.1


def generator(z, training):
    with tf.variable_scope("generator"):
        h = tf.layers.dense(z, 16, activation=tf.nn.relu,
                            kernel_regularizer=tf.contrib.layers.l2_regularizer(G_SCALE))
        return tf.tanh(tf.layers.dense(h, 784))


def discriminator(x, training):
    with tf.variable_scope("discriminator"):
        w = tf.get_variable("w", [784, 1], regularizer=tf.contrib.layers.l1_regularizer(D_SCALE))
        b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
        logits = tf.matmul(tf.reshape(x, [-1, 784]), w) + b
        return tf.sigmoid(logits), logits
