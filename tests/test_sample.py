"""gan_tf.sample's latent interpolation: straight lines between random codes."""
import numpy as np
import pytest

from gan_tf import sample


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_interpolation_rows_are_straight_lines_between_two_codes(distribution):
    z = sample.interpolation_z(rows=4, columns=6, z_dim=5, distribution=distribution, seed=3)
    assert z.shape == (24, 5) and z.dtype == np.float32
    rows = z.reshape(4, 6, 5)
    steps = np.diff(rows, axis=1)  # equal steps along each row
    np.testing.assert_allclose(steps, np.repeat(steps[:, :1], 5, axis=1), atol=1e-5)
    assert not np.allclose(rows[:, 0], rows[:, -1])  # the ends differ
    assert not np.allclose(rows[0], rows[1])  # each row its own pair
    np.testing.assert_array_equal(z, sample.interpolation_z(4, 6, 5, distribution, seed=3))
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
    images = sample.interpolate(generator, rows=2, columns=3, z_dim=4, seed=1)
    assert images.shape == (6, 28, 28) and calls == [False]
    z = sample.interpolation_z(2, 3, 4, seed=1)
    np.testing.assert_allclose(images[:, 0, 0], z[:, 0], rtol=1e-6)


def test_the_runs_seed_redraws_its_last_sample_grid(tmp_path):
    """`gan_tf.sample --seed=<the run's seed>`: its first images are the run's fixed-z grid
    (the codes come from gan_tf.randomness, as the run's do)."""
    import pickle

    from gan_tf import runs, train
    from gan_tf.config import TrainConfig
    train.train(TrainConfig(dataset="mnist_5k", output_dir=str(tmp_path), batch_size=16, z_dim=8,
                            g_hidden=(16,), d_hidden=(16,), max_steps=10, sample_every=10,
                            num_samples=9, seed=7, eval_samples=0))
    with open(tmp_path / "train_samples.pkl", "rb") as f:
        last_grid = pickle.load(f)[-1]
    config, generator, _, _ = runs.restore_models(str(tmp_path))
    images = sample.draw(generator, 20, config.z_dim, config.z_distribution, seed=config.seed)
    np.testing.assert_allclose(images[:9], last_grid, atol=1e-6)
    other = sample.draw(generator, 9, config.z_dim, config.z_distribution, seed=0)
    assert not np.allclose(other, last_grid, atol=1e-3)
