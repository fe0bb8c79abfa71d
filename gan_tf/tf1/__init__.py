"""gan_tf.tf1: legacy TF1 model code under TF2 (work in progress: the variable store)."""
