"""Writes small IDX files (the MNIST file format) for tests."""
import gzip
import os
import struct

import numpy as np

from gan_tf.data import files


def write_idx(path, array, magic=None):
    array = np.asarray(array, np.uint8)
    header = magic if magic is not None else struct.pack(">HBB", 0, 0x08, array.ndim)
    payload = header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


def write_idx_set(directory, n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        img_stem, lbl_stem = files.IDX_FILES[split]
        write_idx(os.path.join(directory, img_stem + ".gz"), images)
        write_idx(os.path.join(directory, lbl_stem + ".gz"), labels)
        arrays[split] = (images, labels)
    return arrays
