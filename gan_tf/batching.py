"""Inference in batches: the one way gan_tf cuts n items into calls of at most `size`."""


def batches(n, size):
    """Slices covering range(n) in order, each at most `size` long (the last shorter)."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]
