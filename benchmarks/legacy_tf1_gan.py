"""The TF1 MNIST notebook's MLP GAN as its users wrote it, for porting tests.

Graph mode through tf.compat.v1: placeholders, variable_scope with reuse,
AdamOptimizer.minimize over scope-filtered tf.trainable_variables(), Session.run
and Saver. `tf.layers.dense` is gone under Keras 3, so `dense` below creates
exactly the variables it created (`<name>/kernel`, `<name>/bias`, Glorot-uniform
and zeros) with get_variable.
"""
import os

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1


def dense(x, units, name):
    with v1.variable_scope(name):
        kernel = v1.get_variable("kernel", [int(x.shape[-1]), units],
                                 initializer=v1.glorot_uniform_initializer())
        bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
    return tf.matmul(x, kernel) + bias


def model_inputs(real_dim, z_dim):
    inputs_real = v1.placeholder(tf.float32, (None, real_dim), name="input_real")
    inputs_z = v1.placeholder(tf.float32, (None, z_dim), name="input_z")
    return inputs_real, inputs_z


def generator(z, out_dim, n_units=128, reuse=False, alpha=0.01, scope="generator"):
    with v1.variable_scope(scope, reuse=reuse):
        h1 = dense(z, n_units, "dense")
        h1 = tf.maximum(alpha * h1, h1)
        logits = dense(h1, out_dim, "dense_1")
        return tf.tanh(logits), logits


def discriminator(x, n_units=128, reuse=False, alpha=0.01, scope="discriminator"):
    with v1.variable_scope(scope, reuse=reuse):
        h1 = dense(x, n_units, "dense")
        h1 = tf.maximum(alpha * h1, h1)
        logits = dense(h1, 1, "dense_1")
        return tf.sigmoid(logits), logits


class LegacyGAN:
    """Builds, trains, saves and restores the legacy graph in its own tf.Graph."""

    def __init__(self, z_size=100, n_units=128, smooth=0.1, learning_rate=0.002,
                 scopes=("generator", "discriminator"), seed=0, inputs=None,
                 session_config=None):
        """`inputs`: a function building (real, z) tensors in the graph, e.g. from a
        tf.data iterator, instead of the notebook's two placeholders; `session_config`:
        the Session's tf.compat.v1.ConfigProto (None: TensorFlow's defaults)."""
        self.z_size, self.scopes = z_size, scopes
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            self.input_real, self.input_z = (inputs or (lambda: model_inputs(784, z_size)))()
            self.g_model, _ = generator(self.input_z, 784, n_units, scope=scopes[0])
            self.d_model_real, self.d_logits_real = discriminator(self.input_real, n_units,
                                                                  scope=scopes[1])
            _, self.d_logits_fake = discriminator(self.g_model, n_units, reuse=True,
                                                  scope=scopes[1])
            xent = tf.nn.sigmoid_cross_entropy_with_logits
            d_loss_real = tf.reduce_mean(xent(logits=self.d_logits_real,
                                              labels=tf.ones_like(self.d_logits_real) * (1 - smooth)))
            d_loss_fake = tf.reduce_mean(xent(logits=self.d_logits_fake,
                                              labels=tf.zeros_like(self.d_logits_real)))
            self.d_loss = d_loss_real + d_loss_fake
            self.g_loss = tf.reduce_mean(xent(logits=self.d_logits_fake,
                                              labels=tf.ones_like(self.d_logits_fake)))
            t_vars = v1.trainable_variables()
            self.g_vars = [var for var in t_vars if var.name.startswith(scopes[0])]
            self.d_vars = [var for var in t_vars if var.name.startswith(scopes[1])]
            self.d_train_opt = v1.train.AdamOptimizer(learning_rate).minimize(
                self.d_loss, var_list=self.d_vars)
            self.g_train_opt = v1.train.AdamOptimizer(learning_rate).minimize(
                self.g_loss, var_list=self.g_vars)
            self.saver_g = v1.train.Saver(var_list=self.g_vars)
            self.saver_all = v1.train.Saver()
            self.sess = v1.Session(graph=self.graph, config=session_config)
            self.sess.run(v1.global_variables_initializer())

    def train(self, steps, batch_size=16, seed=0):
        """The legacy loop: feed_dict batches, one D and one G minimize per step."""
        rng = np.random.default_rng(seed)
        losses = []
        for _ in range(steps):
            batch_images = rng.uniform(-1, 1, (batch_size, 784)).astype(np.float32)
            batch_z = rng.uniform(-1, 1, size=(batch_size, self.z_size))
            feed = {self.input_real: batch_images, self.input_z: batch_z}
            self.sess.run(self.d_train_opt, feed_dict=feed)
            self.sess.run(self.g_train_opt, feed_dict={self.input_z: batch_z})
            losses.append(tuple(self.sess.run([self.d_loss, self.g_loss], feed_dict=feed)))
        return losses

    def save(self, directory, generator_only=True):
        os.makedirs(directory, exist_ok=True)
        saver = self.saver_g if generator_only else self.saver_all
        with self.graph.as_default():
            return saver.save(self.sess, os.path.join(directory, "generator.ckpt"))

    def restore_generator(self, directory):
        """The legacy sampling code: restore G from the latest checkpoint of a directory."""
        with self.graph.as_default():
            self.saver_g.restore(self.sess, tf.train.latest_checkpoint(directory))

    def generate(self, z):
        return self.sess.run(self.g_model, feed_dict={self.input_z: z})

    def discriminate(self, x):
        return self.sess.run(self.d_logits_real, feed_dict={self.input_real: x.reshape(-1, 784)})
