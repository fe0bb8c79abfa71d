"""Issue 19's hostile inputs to the tools and the data and config checks: each is refused
with one line before anything is written, and nothing the user had is overwritten."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from gan_tf import anomaly, data, errors, export, runs, sample, train
from gan_tf.config import TrainConfig
from tests.test_robustness import MAIN, ROOT, SMALL, one_error_line, small_config


def tool(module, *args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=str(cwd),
                          env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished 10-step run, shared read-only by the tool tests."""
    path = tmp_path_factory.mktemp("hostile") / "run"
    train.train(small_config(path, max_steps=10))
    return path


# --- item 6: export must not rewrite a run's checkpoint index ------------------

def test_export_into_the_runs_checkpoint_folder_is_refused(run_dir):
    index = run_dir / "checkpoints" / "checkpoint"
    before = index.read_bytes()
    names = sorted(os.listdir(run_dir / "checkpoints"))
    for extra in ([], ["--overwrite"]):
        result = tool("gan_tf.export", f"--run_dir={run_dir}",
                      f"--tf1_checkpoint_out={run_dir}/checkpoints/legacy.ckpt", *extra)
        assert result.returncode == 2, result.stderr[-2000:]
        line = one_error_line(result)
        assert "--tf1_checkpoint_out" in line and "checkpoints" in line
        assert len(result.stderr.strip().splitlines()) == 1
    assert index.read_bytes() == before
    assert sorted(os.listdir(run_dir / "checkpoints")) == names
    assert runs.restore_models(str(run_dir))[3].endswith("ckpt-10")


def test_export_refuses_a_folder_whose_checkpoint_index_names_other_checkpoints(run_dir, tmp_path):
    other = tmp_path / "legacy"
    other.mkdir()
    (other / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-7"\n'
                                      'all_model_checkpoint_paths: "model.ckpt-7"\n')
    with pytest.raises(errors.OutputError, match="model.ckpt-7"):
        export.check_tf1_checkpoint_out(str(other / "g.ckpt"), str(run_dir), overwrite=False)
    # --overwrite lets the index point at the export (legacy code then finds it), and a
    # folder that holds only an earlier export of its own is fine.
    export.check_tf1_checkpoint_out(str(other / "g.ckpt"), str(run_dir), overwrite=True)
    (other / "checkpoint").write_text(f'model_checkpoint_path: "{other}/g.ckpt"\n')
    export.check_tf1_checkpoint_out(str(other / "g.ckpt"), str(run_dir), overwrite=False)
    # Through a symbolic link to the run's own folder: refused even with --overwrite.
    link = tmp_path / "link"
    link.symlink_to(run_dir / "checkpoints")
    with pytest.raises(errors.OutputError, match="checkpoints folder"):
        export.check_tf1_checkpoint_out(str(link / "g.ckpt"), str(run_dir), overwrite=True)


# --- item 7: plot_losses --out ----------------------------------------------------

def test_plot_losses_refuses_to_overwrite_unless_asked_and_never_its_input(tmp_path):
    pkl = tmp_path / "tl.pkl"
    pkl.write_bytes(pickle.dumps([(np.float32(1.0), np.float32(2.0))] * 3))
    original = pkl.read_bytes()
    for args in ([f"--out={pkl}"], [f"--out={pkl}", "--overwrite"]):
        result = tool("gan_tf.plot_losses", str(pkl), *args)
        assert result.returncode == 2 and "--out" in one_error_line(result)
        assert len(result.stderr.strip().splitlines()) == 1
    assert pkl.read_bytes() == original
    png = tmp_path / "tl.png"
    png.write_bytes(b"mine")
    result = tool("gan_tf.plot_losses", str(pkl))
    assert result.returncode == 2 and "--overwrite" in one_error_line(result)
    assert png.read_bytes() == b"mine"
    result = tool("gan_tf.plot_losses", str(pkl), "--overwrite")
    assert result.returncode == 0, result.stderr[-2000:]
    assert png.read_bytes().startswith(b"\x89PNG")


# --- item 12: config values TensorFlow cannot take ----------------------------------

@pytest.mark.parametrize("field,value", [
    ("seed", 2 ** 63), ("seed", 2 ** 64),
    ("d_learning_rate", float("inf")), ("g_learning_rate", float("nan")),
    ("g_beta1", float("nan")), ("leak", float("inf")), ("label_smoothing", float("nan")),
    ("instance_noise", float("inf")), ("instance_noise", float("nan")),
    ("g_ema", float("nan")), ("max_seconds", float("inf")), ("label_flip", float("nan")),
    ("dropout", float("nan")), ("bn_momentum", float("inf")),
])
def test_config_refuses_values_tensorflow_cannot_take(field, value):
    with pytest.raises(errors.ConfigError, match=f"--{field}"):
        TrainConfig(**{field: value}).validate()


def test_largest_seed_is_accepted():
    TrainConfig(seed=2 ** 63 - 1).validate()


@pytest.mark.parametrize("flag", ["--seed=18446744073709551616", "--d_learning_rate=inf"])
def test_train_main_refuses_them_before_making_the_run_dir(tmp_path, flag):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, MAIN, *SMALL, "--eval_samples=0", "--max_steps=1",
                             f"--output_dir={out}", flag], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert flag.split("=")[0] in one_error_line(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


# --- item 12: data files ------------------------------------------------------------

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
    from tests.idx_files import write_idx, write_idx_set
    write_idx_set(str(tmp_path))
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte.gz"), np.full(10, 12, np.uint8))
    with pytest.raises(errors.DataError, match="t10k-labels-idx1-ubyte.gz.*labels"):
        data.load("fashion_mnist", str(tmp_path))


# --- item 13: anomaly --images --------------------------------------------------------

BAD_IMAGES = {
    "strings": np.full((3, 28, 28), "x"),
    "complex": np.ones((3, 28, 28), np.complex128),
    "bool": np.ones((3, 28, 28), bool),
    "int64 beyond 255": np.full((3, 28, 28), 1000, np.int64),
    "float beyond 1": np.full((3, 28, 28), 5.0, np.float32),
    "nan": np.full((3, 28, 28), np.nan, np.float32),
    "structured": np.zeros((3, 28, 28), [("a", "f4")]),
    "datetime": np.zeros((3, 28, 28), "datetime64[s]"),
}


@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_bad_image_arrays_are_refused_naming_the_file(tmp_path, kind):
    path = tmp_path / "x.npy"
    np.save(path, BAD_IMAGES[kind])
    with pytest.raises(errors.DataError, match="x.npy") as e:
        anomaly.load_images(str(path))
    assert "\n" not in str(e.value)


def test_npz_and_pickled_images_are_refused(tmp_path):
    np.savez(tmp_path / "x.npz", images=np.zeros((3, 28, 28), np.float32))
    with pytest.raises(errors.DataError, match="x.npz.*not a .npy"):
        anomaly.load_images(str(tmp_path / "x.npz"))
    np.save(tmp_path / "o.npy", np.array([None, 1], object), allow_pickle=True)
    with pytest.raises(errors.DataError, match="o.npy"):
        anomaly.load_images(str(tmp_path / "o.npy"))


def test_integer_pixels_are_scaled_like_uint8(tmp_path):
    pixels = np.arange(3 * 784).reshape(3, 28, 28) % 256
    np.save(tmp_path / "x.npy", pixels.astype(np.int64))
    np.testing.assert_array_equal(anomaly.load_images(str(tmp_path / "x.npy")),
                                  data.scale_images(pixels.astype(np.uint8)))


def test_anomaly_command_refuses_bad_images_in_one_line(run_dir, tmp_path):
    np.save(tmp_path / "x.npy", BAD_IMAGES["complex"])
    result = tool("gan_tf.anomaly", f"--run_dir={run_dir}", f"--images={tmp_path}/x.npy",
                  f"--out={tmp_path}/a.csv")
    assert result.returncode == 2 and "--images" in one_error_line(result)
    assert "x.npy" in one_error_line(result)
    assert sorted(os.listdir(tmp_path)) == ["x.npy"]


# --- item 13: sample sizes ----------------------------------------------------------

def test_memory_estimate_grows_with_samples_and_z_dim():
    small = sample.memory_needed(16, 100)
    assert small < 200e6
    assert sample.memory_needed(10 ** 9, 100) > 1e12
    assert sample.memory_needed(16, 10 ** 9, first_width=128) > 1e11


def test_huge_sample_requests_are_one_line(run_dir, tmp_path):
    out = tmp_path / "s.npy"
    for args in (["--num_samples=1000000000000"], ["--interpolation_rows=100000000"]):
        result = tool("gan_tf.sample", f"--run_dir={run_dir}", f"--out={out}", *args)
        assert result.returncode == 1, result.stderr[-2000:]
        line = one_error_line(result)
        assert "memory" in line and args[0].split("=")[0] in line
    assert not out.exists()


def test_a_runs_huge_z_dim_is_refused_before_building_the_model(run_dir, tmp_path):
    import shutil
    path = tmp_path / "run"
    shutil.copytree(run_dir, path)
    text = (path / "config.json").read_text()
    (path / "config.json").write_text(text.replace('"z_dim": 100', '"z_dim": 10000000000'))
    result = tool("gan_tf.sample", f"--run_dir={path}", f"--out={tmp_path}/s.npy")
    assert result.returncode == 1, result.stderr[-2000:]
    line = one_error_line(result)
    assert "memory" in line and "z_dim" in line
    assert not (tmp_path / "s.npy").exists()
