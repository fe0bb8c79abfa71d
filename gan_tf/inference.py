"""Running networks over many inputs within the machine's memory: the one way gan_tf cuts
n items into calls (`batches`), and refusing work that would need more memory than the
machine has before it starts (an out-of-memory kill loses everything since the last save)."""
import os

import numpy as np
import tensorflow as tf


def batches(n, size):
    """Slices covering range(n) in order, each at most `size` long (the last shorter)."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def map_batches(fn, images, size):
    """`fn` (float32 batch -> a tuple of tensors) over `images` in batches of at most
    `size`: each of its outputs concatenated over the batches, as numpy arrays."""
    outputs = [fn(tf.constant(images[part], tf.float32)) for part in batches(len(images), size)]
    return tuple(np.concatenate([out[i].numpy() for out in outputs])
                 for i in range(len(outputs[0])))


SHARE = 0.75  # of the machine's memory one request may need


def machine_bytes():
    """The machine's physical memory in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: no cap
        return None


def gigabytes(n):
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def check_memory(needed, what, error):
    """Raises `error` (an exception class) when `needed` bytes exceed SHARE of the
    machine's memory, saying `what` would need them."""
    total = machine_bytes()
    if total is not None and needed > SHARE * total:
        raise error(f"{what} would need about {gigabytes(needed)} of memory; this machine "
                    f"has {gigabytes(total)}")
