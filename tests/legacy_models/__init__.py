"""Legacy TF1 GAN model files, each changed only in its import line (gan_tf.tf1 for
tensorflow), and wrappers.py, the (inputs, training) functions --generator_fn and
--discriminator_fn name (tests/tf1/test_network.py)."""
