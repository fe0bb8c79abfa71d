"""The TF1 MNIST GAN notebook as a script, written as its users wrote it, with one line
changed for gan_tf: `import tensorflow as tf` became `from gan_tf import tf1 as tf`.
Placeholders, variable scopes with reuse, tf.layers.dense, sigmoid cross-entropy with
the real labels smoothed to 0.9, two AdamOptimizers minimizing over variables filtered
by scope name from tf.trainable_variables(), a Session loop with feed_dict, a generator
Saver, and the pickled losses and samples. Sized small for the tests: it reads
mnist_images.npy ((N, 784) in [0, 1]) from the working directory."""
import pickle

import numpy as np

from gan_tf import tf1 as tf  # was: import tensorflow as tf


def model_inputs(real_dim, z_dim):
    inputs_real = tf.placeholder(tf.float32, (None, real_dim), name="input_real")
    inputs_z = tf.placeholder(tf.float32, (None, z_dim), name="input_z")
    return inputs_real, inputs_z


def generator(z, out_dim, n_units=128, reuse=False, alpha=0.01):
    with tf.variable_scope("generator", reuse=reuse):
        h1 = tf.layers.dense(z, n_units, activation=None)
        h1 = tf.maximum(alpha * h1, h1)
        logits = tf.layers.dense(h1, out_dim, activation=None)
        out = tf.tanh(logits)
        return out, logits


def discriminator(x, n_units=128, reuse=False, alpha=0.01):
    with tf.variable_scope("discriminator", reuse=reuse):
        h1 = tf.layers.dense(x, n_units, activation=None)
        h1 = tf.maximum(alpha * h1, h1)
        logits = tf.layers.dense(h1, 1, activation=None)
        out = tf.sigmoid(logits)
        return out, logits


input_size = 784
z_size = 100
g_hidden_size = 16
d_hidden_size = 16
alpha = 0.01
smooth = 0.1
learning_rate = 0.002
batch_size = 20
epochs = 2

if __name__ == "__main__":
    tf.reset_default_graph()
    tf.set_random_seed(0)
    input_real, input_z = model_inputs(input_size, z_size)
    g_model, g_logits = generator(input_z, input_size, g_hidden_size, reuse=False, alpha=alpha)
    d_model_real, d_logits_real = discriminator(input_real, d_hidden_size, reuse=False,
                                                alpha=alpha)
    d_model_fake, d_logits_fake = discriminator(g_model, d_hidden_size, reuse=True, alpha=alpha)

    d_loss_real = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_logits_real, labels=tf.ones_like(d_logits_real) * (1 - smooth)))
    d_loss_fake = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_logits_fake, labels=tf.zeros_like(d_logits_real)))
    d_loss = d_loss_real + d_loss_fake
    g_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_logits_fake, labels=tf.ones_like(d_logits_fake)))

    t_vars = tf.trainable_variables()
    g_vars = [var for var in t_vars if var.name.startswith("generator")]
    d_vars = [var for var in t_vars if var.name.startswith("discriminator")]
    d_train_opt = tf.train.AdamOptimizer(learning_rate).minimize(d_loss, var_list=d_vars)
    g_train_opt = tf.train.AdamOptimizer(learning_rate).minimize(g_loss, var_list=g_vars)

    images = np.load("mnist_images.npy")
    samples, losses = [], []
    saver = tf.train.Saver(var_list=g_vars)
    rng = np.random.RandomState(0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for e in range(epochs):
            for ii in range(len(images) // batch_size):
                batch_images = images[ii * batch_size:(ii + 1) * batch_size] * 2 - 1
                batch_z = rng.uniform(-1, 1, size=(batch_size, z_size))
                _ = sess.run(d_train_opt, feed_dict={input_real: batch_images, input_z: batch_z})
                _ = sess.run(g_train_opt, feed_dict={input_z: batch_z})
            train_loss_d = sess.run(d_loss, {input_z: batch_z, input_real: batch_images})
            train_loss_g = g_loss.eval({input_z: batch_z})
            print(f"Epoch {e + 1}/{epochs}... Discriminator Loss: {train_loss_d:.4f}... "
                  f"Generator Loss: {train_loss_g:.4f}")
            losses.append((train_loss_d, train_loss_g))
            sample_z = rng.uniform(-1, 1, size=(16, z_size))
            gen_samples = sess.run(generator(input_z, input_size, g_hidden_size, reuse=True,
                                             alpha=alpha), feed_dict={input_z: sample_z})
            samples.append(gen_samples)
            saver.save(sess, "./checkpoints/generator.ckpt")
    with open("train_samples.pkl", "wb") as f:
        pickle.dump(samples, f)
    with open("train_losses.pkl", "wb") as f:
        pickle.dump(losses, f)
