"""A DCGAN written with tf.layers (dense, batch norm, conv2d_transpose, conv2d, dropout),
as the TF1 DCGAN tutorials wrote it, sized for 28x28; its D has a tf.layers.dropout and a
tf.nn.dropout."""
from gan_tf import tf1 as tf


def generator(z, is_train, width=64, reuse=False, alpha=0.2):
    with tf.variable_scope('generator', reuse=reuse):
        x = tf.layers.dense(z, 7 * 7 * width * 2)
        x = tf.reshape(x, (-1, 7, 7, width * 2))
        x = tf.layers.batch_normalization(x, training=is_train)
        x = tf.maximum(alpha * x, x)
        x = tf.layers.conv2d_transpose(x, width, 5, strides=2, padding='same')
        x = tf.layers.batch_normalization(x, training=is_train)
        x = tf.maximum(alpha * x, x)
        logits = tf.layers.conv2d_transpose(x, 1, 5, strides=2, padding='same')
        out = tf.tanh(logits)
        return out, logits


def discriminator(images, is_train, width=64, reuse=False, alpha=0.2, rate=0.3):
    with tf.variable_scope('discriminator', reuse=reuse):
        x = tf.layers.conv2d(images, width, 5, strides=2, padding='same')
        x = tf.maximum(alpha * x, x)
        x = tf.layers.dropout(x, rate, training=is_train)
        x = tf.layers.conv2d(x, width * 2, 5, strides=2, padding='same')
        x = tf.layers.batch_normalization(x, training=is_train)
        x = tf.maximum(alpha * x, x)
        x = tf.nn.dropout(x, keep_prob=1 - rate if is_train else 1.0)
        flat = tf.reshape(x, (-1, 7 * 7 * width * 2))
        logits = tf.layers.dense(flat, 1)
        out = tf.sigmoid(logits)
        return out, logits
