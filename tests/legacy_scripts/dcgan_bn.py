"""A TF1 DCGAN training script with tf.layers.batch_normalization, written as TF1 code
wrote it (a `training` placeholder, each network's UPDATE_OPS run with its optimizer, a
full Saver), with one line changed for gan_tf: the import. Sized small for the tests; it
reads mnist_images.npy ((N, 784) in [0, 1]) from the working directory."""
import numpy as np

from gan_tf import tf1 as tf  # was: import tensorflow as tf


def generator(z, training, reuse=False):
    with tf.variable_scope("generator", reuse=reuse):
        h = tf.layers.dense(z, 7 * 7 * 8)
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
        h = tf.reshape(h, [-1, 7, 7, 8])
        h = tf.layers.conv2d_transpose(h, 4, 5, strides=2, padding="same")
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
        return tf.tanh(tf.layers.conv2d_transpose(h, 1, 5, strides=2, padding="same"))


def discriminator(x, training, reuse=False):
    with tf.variable_scope("discriminator", reuse=reuse):
        h = tf.nn.leaky_relu(tf.layers.conv2d(x, 4, 5, strides=2, padding="same"))
        h = tf.layers.conv2d(h, 8, 5, strides=2, padding="same")
        h = tf.nn.leaky_relu(tf.layers.batch_normalization(h, training=training))
        return tf.layers.dense(tf.layers.flatten(h), 1)


if __name__ == "__main__":
    tf.set_random_seed(0)
    real = tf.placeholder(tf.float32, [None, 28, 28, 1], name="real")
    z = tf.placeholder(tf.float32, [None, 16], name="z")
    training = tf.placeholder_with_default(True, [], name="training")
    fake = generator(z, training)
    d_real = discriminator(real, training)
    d_fake = discriminator(fake, training, reuse=True)
    xent = tf.nn.sigmoid_cross_entropy_with_logits
    d_loss = (tf.reduce_mean(xent(logits=d_real, labels=tf.ones_like(d_real) * 0.9))
              + tf.reduce_mean(xent(logits=d_fake, labels=tf.zeros_like(d_fake))))
    g_loss = tf.reduce_mean(xent(logits=d_fake, labels=tf.ones_like(d_fake)))
    t_vars = tf.trainable_variables()
    d_vars = [v for v in t_vars if v.name.startswith("discriminator")]
    g_vars = [v for v in t_vars if v.name.startswith("generator")]
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "discriminator")):
        d_opt = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(d_loss, var_list=d_vars)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "generator")):
        g_opt = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(g_loss, var_list=g_vars)
    images = np.load("mnist_images.npy").reshape(-1, 28, 28, 1) * 2 - 1
    rng = np.random.RandomState(0)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(20):
            batch = images[(step * 16) % len(images):][:16]
            noise = rng.uniform(-1, 1, (16, 16)).astype(np.float32)
            sess.run(d_opt, {real: batch, z: noise})
            sess.run(g_opt, {z: noise})
        moving = [v for v in tf.global_variables() if "moving_mean" in v.name]
        print("moving_mean_abs_sum", float(sum(np.abs(sess.run(v)).sum() for v in moving)))
        sample_z = np.linspace(-1, 1, 4 * 16, dtype=np.float32).reshape(4, 16)
        np.save("samples.npy", sess.run(fake, {z: sample_z, training: False}))
        saver.save(sess, "./checkpoints/model.ckpt", global_step=20)
