"""Anomaly scores (gan_tf.anomaly), --exclude_classes, and the command's outputs."""
import csv
import os
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, errors
from gan_tf.applications import anomaly
from gan_tf.evaluation import metrics
from gan_tf.models import mlp
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop
from tests.helpers import cli_errors, run_module, small_config

LEFT_OUT = 7


def test_feature_score_is_the_mean_cosine_distance_to_the_k_nearest_references():
    rng = np.random.default_rng(0)
    features, reference = rng.normal(size=(7, 5)), rng.normal(size=(30, 5))
    cos = (features / np.linalg.norm(features, axis=1, keepdims=True)) @ (
        reference / np.linalg.norm(reference, axis=1, keepdims=True)).T
    expected = np.sort(1 - cos, axis=1)[:, :3].mean(axis=1)
    np.testing.assert_allclose(anomaly.feature_scores_from_features(
        features, reference, neighbours=3, batch_size=4), expected, atol=1e-12)
    # A point of the reference set skips its own (zero) distance when told it is there.
    own = anomaly.feature_scores_from_features(reference[:4], reference, neighbours=3,
                                               in_reference=[True, True, False, False])
    all_d = np.sort(1 - (reference[:4] / np.linalg.norm(reference[:4], axis=1, keepdims=True))
                    @ (reference / np.linalg.norm(reference, axis=1, keepdims=True)).T, axis=1)
    np.testing.assert_allclose(own, np.r_[all_d[:2, 1:4].mean(1), all_d[2:, :3].mean(1)],
                               atol=1e-12)
    with pytest.raises(ValueError, match="more than neighbours=5"):
        anomaly.feature_scores_from_features(features, reference[:5])


def test_without_classes_removes_them_from_both_splits_only():
    full = data.load_mnist_5k()
    kept = data.without_classes(full, (3, LEFT_OUT))
    assert not np.isin(kept.train_labels, (3, LEFT_OUT)).any()
    assert not np.isin(kept.test_labels, (3, LEFT_OUT)).any()
    assert len(kept.train_labels) == np.isin(full.train_labels, (3, LEFT_OUT), invert=True).sum()
    assert kept.name == full.name and data.without_classes(full, ()) is full


@pytest.fixture(scope="module")
def run_without_seven(tmp_path_factory):
    """A small MLP GAN trained on the digits other than 7."""
    run_dir = tmp_path_factory.mktemp("without_seven")
    with mock.patch.object(data, "make_dataset", wraps=data.make_dataset) as make_dataset:
        loop.train(small_config(output_dir=str(run_dir), exclude_classes=(LEFT_OUT,),
                                 max_steps=400, batch_size=32, eval_samples=0))
    SEEN[run_dir] = make_dataset.call_args.args[0]  # the images the trainer drew batches from
    return str(run_dir)


SEEN = {}


def foreign_images(digits):
    """Uniform noise, and the digits inverted (white background)."""
    noise = np.random.default_rng(0).uniform(-1, 1, digits.shape).astype(np.float32)
    return np.concatenate([noise, -digits])


def test_run_trains_only_on_the_kept_classes(run_without_seven):
    config, _, _, _ = restore_models(run_without_seven)
    assert config.exclude_classes == (LEFT_OUT,)
    seen = SEEN[[d for d in SEEN if str(d) == run_without_seven][0]]
    full = data.load_mnist_5k()
    kept = full.train_images[full.train_labels != LEFT_OUT]
    assert len(seen) == len(kept) == len(full.train_images) - np.sum(full.train_labels == LEFT_OUT)
    np.testing.assert_array_equal(seen, kept)


def test_scores_rank_foreign_images_above_held_out_digits(run_without_seven):
    config, g, d, _ = restore_models(run_without_seven)
    full = data.load_mnist_5k()
    digits = full.test_images[full.test_labels != LEFT_OUT][:100]
    images = np.concatenate([digits, foreign_images(digits)])
    reference = data.without_classes(full, (LEFT_OUT,)).train_images
    scores = anomaly.score(g, d, images, reference, config.z_dim, config.z_distribution,
                           options=anomaly.InversionOptions(steps=30))
    assert list(scores) == list(anomaly.BASE_SCORES)
    n = len(digits)
    noise, inverted = np.arange(n, 2 * n), np.arange(2 * n, 3 * n)
    for name, values in scores.items():
        assert values.shape == (len(images),) and np.all(np.isfinite(values))
        assert auroc_against(values, inverted, n) > 0.9, name
        if name != "inversion":  # a grey G(z) fits uniform noise closely in L1 (docstring)
            assert auroc_against(values, noise, n) > 0.9, name


def auroc_against(values, foreign, n):
    """AUROC of the `foreign` rows against the first n (the digits)."""
    rows = np.r_[np.arange(n), foreign]
    return metrics.auroc(values[rows], rows >= n)


def test_discriminator_score_is_minus_its_logit_in_graph_and_eagerly(run_without_seven):
    _, _, d, _ = restore_models(run_without_seven)
    x = data.load_mnist_5k().test_images[:7]
    scores, features = anomaly.discriminator_outputs(d, x, batch_size=3)
    np.testing.assert_allclose(scores, -d(tf.constant(x))[1].numpy()[:, 0], atol=1e-5)
    np.testing.assert_allclose(features, d.features(tf.constant(x)).numpy(), atol=1e-5)


def test_conditional_discriminator_scores_the_class_it_finds_most_real():
    d = mlp.Discriminator(num_classes=10, hidden=(16,))
    x = tf.random.stateless_uniform([5, 28, 28, 1], [3, 4], -1.0, 1.0)
    d(x, labels=tf.zeros([5], tf.int32))
    scores, _ = anomaly.discriminator_outputs(d, x.numpy())
    per_class = np.stack([d(x, labels=tf.fill([5], c))[1].numpy()[:, 0] for c in range(10)], 1)
    np.testing.assert_allclose(scores, -per_class.max(axis=1), atol=1e-5)


def test_inversion_fits_z_so_the_residual_falls_with_more_steps(run_without_seven):
    config, g, d, _ = restore_models(run_without_seven)
    x = data.load_mnist_5k().test_images[:20]
    short, long = [anomaly.inversion_scores(g, d, x, config.z_dim, config.z_distribution,
                                            anomaly.InversionOptions(steps=steps))
                   for steps in (1, 40)]
    assert np.mean(long) < np.mean(short)


def test_command_writes_ranked_csv_and_png(run_without_seven, tmp_path):
    full = data.load_mnist_5k()
    digits = full.test_images[full.test_labels != LEFT_OUT][:20]
    images = tmp_path / "mixed.npy"
    np.save(images, np.concatenate([digits, -digits[:5]]))  # 5 inverted digits last
    out = tmp_path / "scores.csv"
    np.save(tmp_path / "bad.npy", np.zeros((3, 32, 32)))
    done, again, bad = cli_errors(
        "gan_tf.anomaly",
        [f"--run_dir={run_without_seven}", f"--images={images}", "--inversion_steps=5",
         "--png_count=4", f"--out={out}"],
        [f"--run_dir={run_without_seven}", f"--images={images}", f"--out={out}"],
        [f"--run_dir={run_without_seven}", f"--images={tmp_path / 'bad.npy'}",
         f"--out={tmp_path / 'b.csv'}"])
    assert done[0] == 0, done[1][-2000:]
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, 26)]
    assert sorted(int(r["index"]) for r in rows) == list(range(25))
    ranked = [float(r["features"]) for r in rows]
    assert ranked == sorted(ranked, reverse=True)
    assert {int(r["index"]) for r in rows[:5]} == set(range(20, 25))  # the inverted ones first
    assert os.path.getsize(tmp_path / "scores.png") > 0
    assert again[0] == 2 and "pass --overwrite" in again[1].splitlines()[-1]
    assert bad[0] == 2 and "expected (N, 28, 28)" in bad[1].splitlines()[-1]
    assert not os.path.exists(tmp_path / "b.csv")


def test_held_out_split_by_default_with_labels(run_without_seven, tmp_path):
    out = tmp_path / "held_out.csv"
    done = run_module("gan_tf.anomaly", f"--run_dir={run_without_seven}", "--num_images=30",
                      "--scores=discriminator,features", f"--out={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    labels = data.load_mnist_5k().test_labels[:30]
    assert list(rows[0]) == ["rank", "index", "label", "discriminator", "features"]
    assert all(int(r["label"]) == labels[int(r["index"])] for r in rows)


# --- anomaly --images ---------------------------------------------------------------

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


def test_anomaly_command_refuses_bad_images_in_one_line(small_run, tmp_path):
    np.save(tmp_path / "x.npy", BAD_IMAGES["complex"])
    [(code, stderr)] = cli_errors("gan_tf.anomaly", [f"--run_dir={small_run}",
                                                     f"--images={tmp_path}/x.npy",
                                                     f"--out={tmp_path}/a.csv"])
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "--images" in stderr and "x.npy" in stderr
    assert sorted(os.listdir(tmp_path)) == ["x.npy"]


def test_the_images_loaded_are_those_whose_header_was_checked(tmp_path, monkeypatch):
    """A file replaced between the header check and the load (another process writing
    there) is not loaded unchecked: one open file serves both."""
    from gan_tf.data import files
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 28, 28), np.float32))
    real_check = files.check_npy_header

    def check_then_swap(f, name, size):
        out = real_check(f, name, size)
        np.save(tmp_path / "other.npy", np.ones((3, 28, 28), np.float32))
        os.replace(tmp_path / "other.npy", path)
        return out
    monkeypatch.setattr(anomaly, "check_npy_header", check_then_swap)
    assert anomaly.load_images(str(path)).shape == (2, 28, 28, 1)
