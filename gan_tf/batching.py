"""Inference in batches: the one way gan_tf cuts n items into calls of at most `size`."""


def batches(n, size):
    """Slices covering range(n) in order, each at most `size` long (the last shorter)."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def map_batches(fn, images, size):
    """`fn` (float32 batch -> a tuple of tensors) over `images` in batches of at most
    `size`: each of its outputs concatenated over the batches, as numpy arrays."""
    import numpy as np
    import tensorflow as tf
    outputs = [fn(tf.constant(images[part], tf.float32)) for part in batches(len(images), size)]
    return tuple(np.concatenate([out[i].numpy() for out in outputs])
                 for i in range(len(outputs[0])))
