"""The TF1 notebook's last cell as a script: rebuild the generator, restore the newest
generator checkpoint in checkpoints/ with a Saver over the generator's variables, and
draw from it; with its import line changed for gan_tf. Writes samples.npy for the z in
sample_z.npy (both in the working directory)."""
import numpy as np

from gan_tf import tf1 as tf  # was: import tensorflow as tf
from tests.legacy_scripts.notebook_gan import (g_hidden_size, generator, input_size,
                                               model_inputs, z_size)

if __name__ == "__main__":
    _, input_z = model_inputs(input_size, z_size)
    samples, _ = generator(input_z, input_size, g_hidden_size)
    g_vars = [v for v in tf.trainable_variables() if v.name.startswith("generator")]
    saver = tf.train.Saver(var_list=g_vars)
    with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint("checkpoints"))
        np.save("samples.npy", sess.run(samples, feed_dict={input_z: np.load("sample_z.npy")}))
