"""gan_tf.sample's latent interpolation: straight lines between random codes."""
import numpy as np
import pytest

from gan_tf.applications import sampling
from gan_tf.runs.restore import restore_models
from tests.helpers import cli_errors


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_interpolation_rows_are_straight_lines_between_two_codes(distribution):
    z = sampling.interpolation_z(rows=4, columns=6, z_dim=5, distribution=distribution, seed=3)
    assert z.shape == (24, 5) and z.dtype == np.float32
    rows = z.reshape(4, 6, 5)
    steps = np.diff(rows, axis=1)  # equal steps along each row
    np.testing.assert_allclose(steps, np.repeat(steps[:, :1], 5, axis=1), atol=1e-5)
    assert not np.allclose(rows[:, 0], rows[:, -1])  # the ends differ
    assert not np.allclose(rows[0], rows[1])  # each row its own pair
    np.testing.assert_array_equal(z, sampling.interpolation_z(4, 6, 5, distribution, seed=3))
    if distribution == "uniform":
        assert np.abs(z).max() <= 1.0


def test_interpolation_images_follow_the_codes():
    calls = []

    def generator(z, training=False):
        import tensorflow as tf
        calls.append(training)
        images = tf.reshape(tf.tile(z[:, :1], [1, 784]), (-1, 28, 28, 1))
        return images, images

    generator.num_classes = 0  # unconditional
    images = sampling.interpolate(generator, rows=2, columns=3, z_dim=4, seed=1)
    assert images.shape == (6, 28, 28) and calls == [False]
    z = sampling.interpolation_z(2, 3, 4, seed=1)
    np.testing.assert_allclose(images[:, 0, 0], z[:, 0], rtol=1e-6)


@pytest.mark.parametrize("compute,atol", [("off", 1e-6), ("bfloat16", 5e-3)])
def test_the_runs_seed_redraws_its_last_sample_grid(tmp_path, compute, atol):
    """`gan_tf.sample --seed=<the run's seed>`: its first images are the run's fixed-z grid
    (the codes come from gan_tf.randomness, as the run's do); the tools compute in
    float32, so a run that computed in bfloat16 gets its grid to bfloat16's rounding."""
    import pickle

    from gan_tf.config import TrainConfig
    from gan_tf.training import loop
    loop.train(TrainConfig(dataset="mnist_5k", output_dir=str(tmp_path), batch_size=16, z_dim=8,
                            g_hidden=(16,), d_hidden=(16,), max_steps=10, sample_every=10,
                            num_samples=9, seed=7, eval_samples=0, mixed_precision=compute))
    with open(tmp_path / "train_samples.pkl", "rb") as f:
        last_grid = pickle.load(f)[-1]
    config, generator, _, _ = restore_models(str(tmp_path))
    images = sampling.draw(generator, 20, config.z_dim, config.z_distribution, seed=config.seed)
    np.testing.assert_allclose(images[:9], last_grid, atol=atol)
    other = sampling.draw(generator, 9, config.z_dim, config.z_distribution, seed=0)
    assert not np.allclose(other, last_grid, atol=1e-3)


# --- sample sizes -------------------------------------------------------------------

def test_memory_estimate_grows_with_samples_and_z_dim():
    small = sampling.memory_needed(16, 100)
    assert small < 200e6
    assert sampling.memory_needed(10 ** 9, 100) > 1e12
    assert sampling.memory_needed(16, 10 ** 9, first_width=128) > 1e11


def test_huge_sample_requests_are_one_line(small_run, tmp_path):
    out = tmp_path / "s.npy"
    flags = ["--num_samples=1000000000000", "--interpolation_rows=100000000"]
    results = cli_errors("gan_tf.sample", *[[f"--run_dir={small_run}", f"--out={out}", flag]
                                            for flag in flags])
    for flag, (code, stderr) in zip(flags, results):
        assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr[-2000:]
        assert "memory" in stderr and flag.split("=")[0] in stderr
    assert not out.exists()


@pytest.mark.parametrize("field,huge", [("z_dim", "10000000000"), ("d_hidden", "[1000000000]")])
def test_a_runs_huge_sizes_are_refused_before_building_the_model(small_run, tmp_path, field,
                                                                 huge):
    """A huge z_dim, or (issue 25, 20) a huge layer of D, which the guard of G's first
    layer missed: ResourceExhaustedError while building."""
    import json
    import shutil
    path = tmp_path / "run"
    shutil.copytree(small_run, path)
    stored = json.loads((path / "config.json").read_text())
    stored[field] = json.loads(huge)
    (path / "config.json").write_text(json.dumps(stored))
    [(code, stderr)] = cli_errors("gan_tf.sample", [f"--run_dir={path}", f"--out={tmp_path}/s.npy"])
    assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr[-2000:]
    assert "memory" in stderr and "z_dim" in stderr
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("tool,args", [
    ("gan_tf.export", ["--export_dir={tmp}/export"]),
    ("gan_tf.anomaly", ["--out={tmp}/a.csv", "--num_images=10"]),
    ("gan_tf.augment", ["--out={tmp}/aug.json"]),
])
def test_every_tool_refuses_a_runs_huge_sizes_before_building_the_model(small_run, tmp_path,
                                                                        tool, args):
    """The check gan_tf.sample makes before building, in restore_models for every tool: a
    foreign run's config.json with layers of a billion units is one line, not an attempt
    to allocate them."""
    import json
    import shutil
    path = tmp_path / "run"
    shutil.copytree(small_run, path)
    stored = json.loads((path / "config.json").read_text())
    stored["g_hidden"] = [1000000000]
    (path / "config.json").write_text(json.dumps(stored))
    [(code, stderr)] = cli_errors(tool, [f"--run_dir={path}"] +
                                  [a.format(tmp=tmp_path) for a in args])
    assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr[-2000:]
    assert "memory" in stderr and "config.json" in stderr
