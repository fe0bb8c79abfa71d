"""A legacy GAN in the style of TF-GAN's MNIST example networks: tf.contrib.layers under
nested arg_scopes, batch norm as the normalizer of G's layers, layer norm in D, L2 weight
decay on every layer (issue 27's first family). Sized small for the tests."""
from gan_tf import tf1 as tf

layers = tf.contrib.layers
framework = tf.contrib.framework
WEIGHT_DECAY = 2.5e-3


def _leaky_relu(net):
    return tf.nn.leaky_relu(net, alpha=0.01)


def generator(noise, training, weight_decay=WEIGHT_DECAY):
    with tf.variable_scope("generator"):
        with framework.arg_scope(
                [layers.fully_connected, layers.conv2d_transpose],
                activation_fn=tf.nn.relu, normalizer_fn=layers.batch_norm,
                weights_regularizer=layers.l2_regularizer(weight_decay)):
            with framework.arg_scope([layers.batch_norm], is_training=training):
                net = layers.fully_connected(noise, 64)
                net = layers.fully_connected(net, 7 * 7 * 16)
                net = tf.reshape(net, [-1, 7, 7, 16])
                net = layers.conv2d_transpose(net, 8, [4, 4], stride=2)
                net = layers.conv2d_transpose(net, 4, [4, 4], stride=2)
                # The last layer: no normalizer, tanh, as TF-GAN's example ends.
                return layers.conv2d(net, 1, [4, 4], normalizer_fn=None, activation_fn=tf.tanh)


def discriminator(img, training, weight_decay=WEIGHT_DECAY):
    with tf.variable_scope("discriminator"):
        with framework.arg_scope(
                [layers.conv2d, layers.fully_connected],
                activation_fn=_leaky_relu, normalizer_fn=None,
                weights_regularizer=layers.l2_regularizer(weight_decay),
                biases_regularizer=layers.l2_regularizer(weight_decay)):
            net = layers.conv2d(img, 8, [4, 4], stride=2)
            net = layers.conv2d(net, 16, [4, 4], stride=2)
            net = layers.flatten(net)
            net = layers.fully_connected(net, 32, normalizer_fn=layers.layer_norm)
            return layers.linear(net, 1)
