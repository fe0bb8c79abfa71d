"""InfoGAN's continuous codes (--latent_continuous): the first entries of z, which a second
head on D's features predicts from G's image; both losses carry half its squared error
(logged as info_continuous_loss), with or without the categorical code."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import losses, models
from gan_tf.applications import sampling
from gan_tf.runs.restore import restore_models
from gan_tf.training.steps import METRIC_KEYS, GANTrainer
from tests.helpers import (assert_config_refuses, changed, resumed_and_straight, small_config,
                           snapshot)

N = 2
IMAGES = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
HEAD = {"discriminator/info_continuous/kernel:0", "discriminator/info_continuous/bias:0"}


def build(config):
    tf.random.set_seed(config.seed)
    return models.build(config)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("batch,n", [(1, 1), (7, 2), (32, 5)])
def test_loss_is_half_the_squared_error_summed_over_codes(batch, n, compiled):
    rng = np.random.default_rng(batch)
    predicted = rng.normal(size=(batch, n)).astype(np.float32)
    codes = rng.uniform(-1, 1, (batch, n)).astype(np.float32)
    fn = tf.function(losses.info_continuous_loss) if compiled else losses.info_continuous_loss
    expected = np.mean(0.5 * np.sum((predicted - codes) ** 2, axis=1))
    np.testing.assert_allclose(fn(predicted, codes).numpy(), expected, rtol=1e-6)
    assert float(fn(codes, codes)) == 0.0


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_d_gets_a_head_and_g_is_unchanged(kind):
    plain_g, plain_d = build(small_config(kind))
    g, d = build(small_config(kind, latent_continuous=N))
    assert [v.name for v in g.variables] == [v.name for v in plain_g.variables]
    assert [tuple(v.shape) for v in g.variables] == [tuple(v.shape) for v in plain_g.variables]
    assert [v.name for v in d.variables if v.name not in HEAD] == \
        [v.name for v in plain_d.variables]
    features = int(d.features(tf.zeros([1, 28, 28, 1])).shape[-1])
    assert {v.name: tuple(v.shape) for v in d.variables if v.name in HEAD} == {
        "discriminator/info_continuous/kernel:0": (features, N),
        "discriminator/info_continuous/bias:0": (N,)}


def one_step(config, compiled=True):
    """(the step's metric row, trainer) of one step from the seed's weights on IMAGES."""
    g, d = build(config)
    trainer = GANTrainer(config, g, d)
    real = tf.constant(IMAGES[:config.batch_size])
    real = [(real, tf.range(config.batch_size) % 10) if config.conditional else real] \
        * config.d_steps_per_g_step
    step = trainer._compiled_step if compiled else trainer.train_step
    return dict(zip(trainer.metric_keys, step(real).numpy())), trainer


@pytest.mark.parametrize("kind,joint,options", [
    ("mlp", False, {}), ("dcgan", True, {}), ("dcgan", False, dict(latent_categories=10)),
    ("mlp", True, dict(latent_categories=10)), ("mlp", False, dict(conditional=True)),
    ("dcgan", True, dict(rotation_weight=1.0, mixed_precision="bfloat16"))])
def test_the_loss_trains_the_head_and_reaches_g_and_d(kind, joint, options):
    config = small_config(kind, latent_continuous=N, dropout=0.0, joint_updates=joint,
                          jit_compile=False, **options)
    codes = config.latent_categories
    g, d = build(config)
    before = {**snapshot(g), **snapshot(d)}
    row, trainer = one_step(config)
    assert list(row)[:len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert ("info_loss" in row) == bool(codes) and "info_continuous_loss" in row
    assert HEAD <= changed(before, trainer.discriminator)  # D's optimizer trains the head
    assert {v.name for v in trainer.g_vars} <= changed(before, trainer.generator)
    # Without the weight the head has no gradient (Adam leaves it).
    plain_row, plain = one_step(dataclasses.replace(config, info_continuous_weight=0.0))
    assert not HEAD & changed(before, plain.discriminator)
    if joint:  # one forward pass either way: the same logged value
        np.testing.assert_allclose(plain_row["info_continuous_loss"],
                                   row["info_continuous_loss"], rtol=1e-6)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_g_update_alone_carries_the_term(kind):
    """G's own update (the alternating order's), from the same G and D: with the weight it
    moves G otherwise than without, and leaves D (the head included) alone."""
    updated = []
    for weight in (0.0, 1.0):
        config = small_config(kind, latent_continuous=N, dropout=0.0, joint_updates=False,
                              jit_compile=False, info_continuous_weight=weight)
        g, d = build(config)
        trainer = GANTrainer(config, g, d)
        d_before = snapshot(d)
        row = {k: float(v) for k, v in trainer.generator_step(trainer._random()).items()}
        assert "info_continuous_loss" in row and not changed(d_before, d)
        updated.append(snapshot(g))
    assert any(not np.array_equal(updated[0][name], updated[1][name]) for name in updated[0])


def test_a_discriminator_without_the_head_is_refused():
    config = small_config(latent_continuous=N)
    g, _ = build(config)
    _, plain_d = build(small_config())
    with pytest.raises(ValueError, match="--latent_continuous=2 needs a discriminator"):
        GANTrainer(config, g, plain_d)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_the_logged_loss_is_the_heads_error_on_the_first_entries_of_z(kind):
    """The joint step's value, recomputed from its own draws: Q's prediction on the fake
    batch's features against z[:, :N] (not another slice of z, not the codes)."""
    config = small_config(kind, latent_continuous=N, dropout=0.0, joint_updates=True,
                          jit_compile=False)
    g, d = build(config)
    trainer = GANTrainer(config, g, d)
    rand = trainer._random()  # the draws the step's first StepRandom makes
    z = trainer._z(rand)
    fake, _ = g(z, training=True, update_stats=False)
    h = d.features(fake, training=True)
    predicted = d.continuous_code_values(h)
    row = dict(zip(trainer.metric_keys,
                   trainer._compiled_step([tf.constant(IMAGES[:16])]).numpy()))
    expected = float(losses.info_continuous_loss(predicted, z[:, :N]))
    assert row["info_continuous_loss"] == pytest.approx(expected, rel=1e-4)
    assert expected != pytest.approx(float(losses.info_continuous_loss(predicted, z[:, -N:])),
                                     rel=1e-3)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_graph_and_eager_steps_give_the_same_losses(kind):
    config = small_config(kind, latent_continuous=N, latent_categories=4, jit_compile=False,
                          dropout=0.0)
    graph, _ = one_step(config)
    eager, _ = one_step(config, compiled=False)
    assert list(graph) == list(METRIC_KEYS) + ["info_loss", "info_continuous_loss"]
    for name in graph:
        np.testing.assert_allclose(eager[name], graph[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("overrides,field,message", [
    (dict(latent_continuous=-1), "latent_continuous", "0 (off) to 1000"),
    (dict(latent_continuous=True), "latent_continuous", "0 (off) to 1000"),
    (dict(latent_continuous=1.5), "latent_continuous", "0 (off) to 1000"),
    (dict(latent_continuous=100, z_dim=100), "latent_continuous", "fewer than --z_dim=100"),
    (dict(latent_continuous=2, info_continuous_weight=-1.0), "info_continuous_weight", ">= 0"),
    (dict(latent_continuous=2, info_continuous_weight=float("inf")), "info_continuous_weight",
     ">= 0"),
    (dict(info_continuous_weight=2.0), "info_continuous_weight", "which are off"),
    (dict(model="tf1", generator_fn="a:g", discriminator_fn="a:d", latent_continuous=2),
     "latent_continuous", "legacy D has no head"),
])
def test_config_refuses_what_makes_no_sense(overrides, field, message):
    assert_config_refuses(overrides, field, message)


def test_a_resumed_run_matches_an_uninterrupted_one(tmp_path):
    """The head is D's: checkpointed with it, so a resumed run logs what a straight one does."""
    resumed, straight = resumed_and_straight(
        small_config(latent_continuous=N, latent_categories=4), tmp_path)
    assert [r["step"] for r in resumed] == [r["step"] for r in straight] == list(range(10, 90, 10))
    for key in ("info_continuous_loss", "info_loss", "g_loss", "d_loss"):
        np.testing.assert_allclose([r[key] for r in resumed], [r[key] for r in straight],
                                   rtol=1e-4, err_msg=key)
    assert json.loads((tmp_path / "split" / "config.json").read_text())["latent_continuous"] == N
    # The tools take the run as any other: G is unchanged, the codes are in z.
    config, generator, discriminator, _ = restore_models(str(tmp_path / "split"))
    assert discriminator.continuous_codes == N
    images = sampling.draw(generator, 5, config.z_dim, config.z_distribution, seed=1)
    assert images.shape == (5, 28, 28) and np.isfinite(images).all()
