"""The MNIST file formats, read and checked: the four IDX files (optionally gzipped) and
Keras' mnist.npz. Anything a file holds that is not 28x28 pixels 0-255 with labels
0-9 is a DataError naming the file, before any training."""
import gzip
import math
import os
import struct
import zipfile
import zlib

import numpy as np

from gan_tf import fileio
from gan_tf.errors import DataError

IDX_FILES = {  # split -> (images, labels) file stems
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGE_SHAPE = (28, 28, 1)  # every dataset here: 28x28 grey images ...
NUM_CLASSES = 10  # ... with labels 0-9
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a .npz is a zip archive (the second: empty)


def _range(array):
    return (array.min(), array.max()) if array.size else (0, 0)


def check_pixels(images, path):
    """Refuses pixels that are not real numbers 0 to 255 (NaN pixels would train into
    a divergence blamed on the learning rates; strings or complex numbers into a traceback)."""
    if images.dtype.kind not in "uif":
        raise DataError(f"{path}: pixels must be real numbers 0 to 255, not {images.dtype}")
    if images.dtype == np.uint8:
        return
    lo, hi = _range(images)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo and hi <= 255):
        raise DataError(f"{path}: pixels must be finite numbers 0 to 255, found {lo:g} to {hi:g}")


def check_labels(labels, path):
    """Refuses labels that are not the integers 0 to 9 (a class 12 would silently train
    a conditional GAN on a label its one-hot input cannot hold)."""
    bad = labels.dtype.kind not in "uif" or (
        labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))))
    if bad:
        raise DataError(f"{path}: labels must be integers 0 to {NUM_CLASSES - 1}"
                        f" ({labels.dtype} values found)")
    lo, hi = _range(labels)
    if lo < 0 or hi >= NUM_CLASSES:
        raise DataError(f"{path}: labels must be 0 to {NUM_CLASSES - 1}, found {lo:g} to {hi:g}")


# The most pixel or label bytes one IDX file or .npy array may hold: full MNIST's training
# images are 47 MB; 1 GiB holds 1.3 million 28x28 images.
MAX_ARRAY_BYTES = 1 << 30


def _read_exactly(f, size):
    """`size` bytes from `f`, read in pieces (a claimed size is never allocated at once)."""
    pieces, left = [], size
    while left:
        piece = f.read(min(left, 1 << 22))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def read_idx(path):
    """Reads an IDX file (optionally gzipped) into a numpy uint8 array. The magic number
    and shape are checked from the first bytes, and no more than the shape says is ever
    read: a small .gz that inflates to gigabytes costs what its header claims, no more."""
    gzipped = path.endswith(".gz")
    try:
        with fileio.open_regular(path) as raw_file, (
                gzip.GzipFile(fileobj=raw_file) if gzipped else raw_file) as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataError(f"{path}: truncated IDX file ({len(head)} bytes)")
            zero, dtype_code, ndim = struct.unpack(">HBB", head)
            if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
                raise DataError(f"{path}: not an unsigned-byte IDX file (magic number "
                                f"0x{int.from_bytes(head, 'big'):08x})")
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX header")
            shape = struct.unpack(f">{ndim}I", dims)
            expected = math.prod(shape)
            if expected > MAX_ARRAY_BYTES:
                raise DataError(f"{path}: header says {shape}, {expected} bytes of data: more "
                                f"than the {MAX_ARRAY_BYTES >> 20} MiB one data file may hold")
            if not gzipped and os.fstat(f.fileno()).st_size - f.tell() != expected:
                found = os.fstat(f.fileno()).st_size - f.tell()
                raise DataError(f"{path}: truncated or oversized IDX file: header says {shape} "
                                f"({expected} bytes of data), found {found}")
            raw = _read_exactly(f, expected)
            extra = f.read(1)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, fileio.NotSmallFile) as e:
        raise DataError(f"{path}: cannot read IDX file ({e})") from None
    if len(raw) != expected or extra:
        found = f"{len(raw)}" if len(raw) != expected else "more"
        raise DataError(f"{path}: truncated or oversized IDX file: header says {shape} "
                        f"({expected} bytes of data), found {found}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def check_npy_header(f, path, size):
    """Reads a .npy header from the stream `f` whose whole length is `size` bytes, and
    checks that the data it claims is what follows (no more, no less, at most
    MAX_ARRAY_BYTES), before numpy allocates the shape a file claims."""
    try:
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(f)
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise DataError(f"{path}: not a readable .npy array ({one_line_error(e)})") from None
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != size - f.tell() or claimed > MAX_ARRAY_BYTES:
        raise DataError(f"{path}: the header claims shape {shape} of {dtype} ({claimed} bytes) "
                        f"but the file holds {size - f.tell()} bytes of data"
                        + (f" (at most {MAX_ARRAY_BYTES >> 20} MiB are read)"
                           if claimed > MAX_ARRAY_BYTES else ""))
    return shape, dtype


def one_line_error(e):
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__


def _find_idx(directory, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


def load_idx_dir(directory):
    """Loads the four MNIST-format IDX files from `directory`, or returns None if absent."""
    paths = {split: [_find_idx(directory, s) for s in stems] for split, stems in IDX_FILES.items()}
    found = [p for pair in paths.values() for p in pair if p]
    if not found:
        return None
    missing = [s for split, stems in IDX_FILES.items()
               for s, p in zip(stems, paths[split]) if p is None]
    if missing:
        raise DataError(f"{directory}: incomplete IDX set, missing {', '.join(missing)}(.gz)")
    arrays = {}
    for split, (img_path, lbl_path) in paths.items():
        images, labels = read_idx(img_path), read_idx(lbl_path)
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE[:2]:
            raise DataError(f"{img_path}: expected 28x28 images, got shape {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{lbl_path}: {len(labels)} labels for {len(images)} images")
        check_labels(labels, lbl_path)  # IDX pixels are unsigned bytes: always 0 to 255
        arrays[split] = (images, labels)
    return arrays


NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")  # what load_npz reads


def _check_npz_members(path, file):
    """Each .npy in the archive (`file`, the open `path`) holds what its header claims
    (zipfile never inflates a member past its recorded size), before np.load allocates
    the claimed shape: every .npy member, and a member named as an array without the
    suffix (np.load reads `x_train` for f["x_train"] too)."""
    try:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".npy") or info.filename in NPZ_ARRAYS:
                    with archive.open(info) as f:
                        check_npy_header(f, f"{path}: {info.filename}", info.file_size)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as e:
        raise DataError(f"{path}: cannot read .npz file ({one_line_error(e)})") from None


def load_npz(path):
    """Loads Keras' mnist.npz (x_train, y_train, x_test, y_test)."""
    try:
        with fileio.open_regular(path) as f:  # not a pipe or device: it would hang
            magic = f.read(4)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    except fileio.NotSmallFile as e:
        raise DataError(f"{path}: cannot read ({e.why})") from None
    if magic not in ZIP_MAGIC:
        raise DataError(f"{path}: not a .npz file (a zip archive of .npy arrays); it starts "
                        f"with {magic!r}")
    try:  # one open file for the check and the load: a file swapped in between is not read
        with fileio.open_regular(path) as file:
            _check_npz_members(path, file)
            file.seek(0)
            with np.load(file, allow_pickle=False) as f:
                arrays = {"train": (f["x_train"], f["y_train"]),
                          "test": (f["x_test"], f["y_test"])}
    except DataError:
        raise
    except KeyError as e:
        raise DataError(f"{path}: not an MNIST .npz file (no array {e})") from None
    except Exception as e:  # zipfile/np.load raise many types on corrupt files
        raise DataError(f"{path}: cannot read .npz file ({type(e).__name__}: {e})") from None
    for split, (images, labels) in arrays.items():
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE[:2] or labels.ndim != 1 \
                or len(labels) != len(images):
            raise DataError(f"{path}: unexpected {split} shapes {images.shape}, {labels.shape}")
        check_pixels(images, path)
        check_labels(labels, path)
    return arrays
