"""A DCGAN in the style of the DCGAN-tensorflow repository: its own ops (linear, conv2d,
deconv2d on get_variable, tf.contrib.layers.batch_norm), sized for 28x28. As there, the
generator's batch size is fixed in deconv2d's output shapes (gan_tf.tf1.nn.conv2d_transpose
takes the input's)."""
from gan_tf import tf1 as tf


class batch_norm(object):
    def __init__(self, epsilon=1e-5, momentum=0.9, name="batch_norm"):
        with tf.variable_scope(name):
            self.epsilon = epsilon
            self.momentum = momentum
            self.name = name

    def __call__(self, x, train=True):
        return tf.contrib.layers.batch_norm(x, decay=self.momentum, updates_collections=None,
                                            epsilon=self.epsilon, scale=True,
                                            is_training=train, scope=self.name)


def lrelu(x, leak=0.2, name="lrelu"):
    return tf.maximum(x, leak * x)


def linear(input_, output_size, scope=None, stddev=0.02, bias_start=0.0):
    shape = input_.get_shape().as_list()
    with tf.variable_scope(scope or "Linear"):
        matrix = tf.get_variable("Matrix", [shape[1], output_size], tf.float32,
                                 tf.random_normal_initializer(stddev=stddev))
        bias = tf.get_variable("bias", [output_size],
                               initializer=tf.constant_initializer(bias_start))
        return tf.matmul(input_, matrix) + bias


def conv2d(input_, output_dim, k_h=5, k_w=5, d_h=2, d_w=2, stddev=0.02, name="conv2d"):
    with tf.variable_scope(name):
        w = tf.get_variable('w', [k_h, k_w, input_.get_shape()[-1], output_dim],
                            initializer=tf.truncated_normal_initializer(stddev=stddev))
        conv = tf.nn.conv2d(input_, w, strides=[1, d_h, d_w, 1], padding='SAME')
        biases = tf.get_variable('biases', [output_dim], initializer=tf.constant_initializer(0.0))
        return tf.nn.bias_add(conv, biases)


def deconv2d(input_, output_shape, k_h=5, k_w=5, d_h=2, d_w=2, stddev=0.02, name="deconv2d"):
    with tf.variable_scope(name):
        w = tf.get_variable('w', [k_h, k_w, output_shape[-1], input_.get_shape()[-1]],
                            initializer=tf.random_normal_initializer(stddev=stddev))
        deconv = tf.nn.conv2d_transpose(input_, w, output_shape=output_shape,
                                        strides=[1, d_h, d_w, 1])
        biases = tf.get_variable('biases', [output_shape[-1]],
                                 initializer=tf.constant_initializer(0.0))
        return tf.nn.bias_add(deconv, biases)


def generator(z, train=True, gf_dim=64, batch_size=64):
    with tf.variable_scope("generator"):
        g_bn0, g_bn1 = batch_norm(name='g_bn0'), batch_norm(name='g_bn1')
        z_ = linear(z, gf_dim * 2 * 7 * 7, 'g_h0_lin')
        h0 = tf.nn.relu(g_bn0(tf.reshape(z_, [-1, 7, 7, gf_dim * 2]), train=train))
        h1 = deconv2d(h0, [batch_size, 14, 14, gf_dim], name="g_h1")
        h1 = tf.nn.relu(g_bn1(h1, train=train))
        h2 = deconv2d(h1, [batch_size, 28, 28, 1], name="g_h2")
        return tf.nn.tanh(h2)


def discriminator(image, reuse=False, train=True, df_dim=64):
    with tf.variable_scope("discriminator") as scope:
        if reuse:
            scope.reuse_variables()
        d_bn1 = batch_norm(name='d_bn1')
        h0 = lrelu(conv2d(image, df_dim, name='d_h0_conv'))
        h1 = lrelu(d_bn1(conv2d(h0, df_dim * 2, name='d_h1_conv'), train=train))
        h2 = linear(tf.reshape(h1, [-1, 7 * 7 * df_dim * 2]), 1, 'd_h2_lin')
        return tf.nn.sigmoid(h2), h2
