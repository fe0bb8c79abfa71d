"""The small-data levers in the trainer (issue 28): each trains in graph with both update
orders, ADA's probability and LeCam's averages are a run's state (logged, checkpointed,
resumed exactly), top-k and the learning-rate decay do what their schedules say."""

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, errors, losses, models
from gan_tf.training import schedules
from gan_tf.training.steps import GANTrainer
from tests.helpers import changed
from tests.helpers import resumed_and_straight, small_config, snapshot

LEVERS = {
    "ada": dict(diffaugment="translation,cutout", augment_target=0.6),
    "lecam": dict(lecam_weight=0.3),
    "bcr": dict(bcr_weight=10.0),
    "topk": dict(topk_gamma=0.5),
    "mode_seeking": dict(mode_seeking_weight=1.0),
    "mode_seeking_capped": dict(mode_seeking_weight=1.0, mode_seeking_cap=0.3),
    "coverage": dict(coverage_weight=1.0),
    "coverage_pool": dict(coverage_weight=1.0, coverage_pool=40),
    "lr_decay": dict(lr_decay="linear", max_steps=4),
    "all": dict(diffaugment="color,translation,cutout", augment_target=0.6, lecam_weight=0.3,
                bcr_weight=10.0, topk_gamma=0.9, lr_decay="linear", max_steps=4,
                mode_seeking_weight=1.0, coverage_weight=1.0, coverage_pool=24),
}


def images(n=64):
    return np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_every_lever_trains_both_networks_in_graph(lever, kind):
    # Alternate and joint updates in turn, so each lever meets both D updates; the MLP
    # XLA-compiled (--jit_compile, no longer its default), the DCGAN not.
    joint = (sorted(LEVERS).index(lever) + (kind == "dcgan")) % 2 == 1
    config = small_config(kind, joint_updates=joint, jit_compile=kind == "mlp",
                          **LEVERS[lever]).validate()
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d, steps_per_epoch=1)
    g_before, d_before = snapshot(g), snapshot(d)
    history, finite = trainer.train_steps(iter(data.make_dataset(images(), 16, seed=0)),
                                          tf.constant(3, tf.int64))
    assert bool(finite) and np.isfinite(history.numpy()).all()
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)
    assert {v.name for v in trainer.d_vars if "kernel" in v.name} <= changed(d_before, d)


def test_ada_starts_unaugmented_and_raises_p_while_d_is_sure_of_the_reals():
    rows = []
    for extra in ({}, LEVERS["ada"]):
        config = small_config(jit_compile=False, **extra)
        tf.random.set_seed(0)
        trainer = GANTrainer(config, *models.build(config))
        real = tf.random.stateless_uniform([16, 28, 28, 1], [0, 1], -1, 1)
        rows.append(trainer._compiled_step([real]).numpy())
    # p = 0 at the first step: D sees the images as without DiffAugment.
    np.testing.assert_array_equal(rows[0][:3], rows[1][:3])
    assert trainer.metric_keys[-1] == "augment_p"
    # A target D beats from the start (r_t > -0.99) moves p up by a batch's share a step.
    config = small_config(diffaugment="cutout", augment_target=1e-9, jit_compile=False)
    trainer = GANTrainer(config, *models.build(config))
    trainer.levers["augment_p"].assign(0.5)
    real = tf.ones([16, 28, 28, 1])
    p = trainer._compiled_step([real]).numpy()[-1]
    assert p in (pytest.approx(0.5 + 16 / schedules.ADA_IMAGES_TO_FULL),
                 pytest.approx(0.5 - 16 / schedules.ADA_IMAGES_TO_FULL))


def test_top_k_trains_g_on_the_samples_d_likes_best():
    rows = []
    for extra in ({}, dict(topk_gamma=0.5)):
        config = small_config(jit_compile=False, joint_updates=True, **extra)
        tf.random.set_seed(0)
        trainer = GANTrainer(config, *models.build(config), steps_per_epoch=1)
        trainer.step.assign(5)  # epoch 5: k = max(0.5^5, 0.5) * 16 = 8
        real = tf.random.stateless_uniform([16, 28, 28, 1], [0, 1], -1, 1)
        rows.append(dict(zip(trainer.metric_keys, trainer._compiled_step([real]).numpy())))
    assert rows[0]["d_loss"] == rows[1]["d_loss"]  # the same D pass
    assert rows[1]["g_loss"] < rows[0]["g_loss"]  # the mean over D's favourite half


def term_of(config, fake, z):
    """The unweighted mode-seeking term `config` asks for, on a fake batch."""
    if config.mode_seeking_cap:
        return float(losses.capped_mode_seeking_loss(fake, z, config.mode_seeking_cap, 1.0))
    return float(losses.mode_seeking_loss(fake, z, 1.0))


def g_update(trainer, joint):
    """One G update on a random real batch: the whole step if `joint` (its joint update
    draws first), else G's update alone on a fresh StepRandom (in a step D's update draws
    first) with that real batch. Returns (the real images, the update's fake batch and
    z, recomputed from the same draws, and the logged metrics)."""
    images = tf.random.stateless_uniform([16, 28, 28, 1], [0, 1], -1, 1)
    real = (images, tf.zeros([16], tf.int32)) if trainer.config.conditional else images
    rand = trainer._random()
    z, labels = trainer._z(rand), trainer._fake_labels(rand)  # the update's first draws
    fake, _ = trainer.generator(z, training=True, update_stats=False, labels=labels)
    if joint:
        row = dict(zip(trainer.metric_keys, trainer._compiled_step([real]).numpy()))
    else:
        row = {k: float(v) for k, v in trainer.generator_step(trainer._random(), real).items()}
    return images, fake, z, row


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("kind,options", [("dcgan", dict(latent_categories=10)),
                                          ("mlp", dict(conditional=True)),
                                          ("dcgan", dict(latent_categories=10,
                                                         mode_seeking_cap=0.3))])
def test_mode_seeking_pairs_rows_by_code_and_trains_g_on_its_term(joint, kind, options):
    updated, codes = [], []
    for weight in (0.0, 2.0):
        cap = options.get("mode_seeking_cap", 0.0) if weight else 0.0
        config = small_config(kind, jit_compile=False, joint_updates=joint,
                              mode_seeking_weight=weight, **{**options, "mode_seeking_cap": cap})
        tf.random.set_seed(0)
        trainer = GANTrainer(config, *models.build(config))
        codes.append(trainer._fake_labels(trainer._random()).numpy())
        _, fake, z, row = g_update(trainer, joint)
        if weight:  # the logged term is the loss of the step's fake batch
            assert row["mode_seeking_loss"] == pytest.approx(term_of(config, fake, z), rel=1e-4)
        else:
            assert "mode_seeking_loss" not in row
        updated.append(snapshot(trainer.generator))
    # A pair (rows 2i, 2i+1) shares its code, the even rows' draw as without the term.
    np.testing.assert_array_equal(codes[1][1::2], codes[1][0::2])
    np.testing.assert_array_equal(codes[1][0::2], codes[0][0::2])
    assert not np.array_equal(codes[0][1::2], codes[0][0::2])
    # The term reaches G's update: the same start, another G after one step.
    assert any(not np.array_equal(updated[0][name], updated[1][name]) for name in updated[0])


@pytest.mark.parametrize("cap", [0.0, 10.0])
def test_mode_seeking_moves_g_toward_diverse_images(cap):
    """With G's adversarial loss zeroed, one G update on the term alone lowers the term
    (raises the paired samples' distance) on the step's own z; capped too, with every
    pair under the cap."""
    config = small_config("dcgan", jit_compile=False, joint_updates=False,
                          mode_seeking_weight=1.0, g_learning_rate=0.01, mode_seeking_cap=cap)
    tf.random.set_seed(0)
    trainer = GANTrainer(config, *models.build(config))
    trainer.g_loss_fn = lambda logits: tf.constant(0.0)
    z = trainer._z(trainer._random())  # the draw generator_step makes with a fresh StepRandom

    def term():
        fake, _ = trainer.generator(z, training=True, update_stats=False)
        return term_of(config, fake, z)
    before = term()
    trainer.generator_step(trainer._random())
    assert term() < before


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("kind,options", [("dcgan", dict(latent_categories=10)),
                                          ("mlp", {})])
def test_coverage_logs_the_term_of_the_steps_batches_and_trains_g_on_it(joint, kind, options):
    updated = []
    for weight in (0.0, 2.0):
        config = small_config(kind, jit_compile=False, joint_updates=joint,
                              coverage_weight=weight, **options)
        tf.random.set_seed(0)
        trainer = GANTrainer(config, *models.build(config))
        images, fake, _, row = g_update(trainer, joint)
        if weight:  # the unweighted term of the step's real images and fake batch
            assert row["coverage_loss"] == pytest.approx(
                float(losses.coverage_loss(images, fake, 1.0)), rel=1e-4)
        else:
            assert "coverage_loss" not in row
        updated.append(snapshot(trainer.generator))
    # The term reaches G's update: the same start, another G after one step.
    assert any(not np.array_equal(updated[0][name], updated[1][name]) for name in updated[0])


def pool_draws(trainer, pool):
    """The pool's z and codes that generator_step draws with a fresh StepRandom: after
    the batch's z, codes and dropout seed."""
    rand = trainer._random()
    trainer._z(rand), trainer._fake_labels(rand), rand.local_seed()
    width = trainer.generator.label_width
    return (rand.z(pool, trainer.config.z_dim, trainer.config.z_distribution),
            rand.labels(pool, width) if width else None)


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("kind,options", [("dcgan", dict(latent_categories=10)),
                                          ("mlp", dict(g_batchnorm=True))])
def test_coverage_pool_has_each_real_image_choose_among_a_pool_of_its_own(joint, kind, options):
    """The logged term is the real batch's against a fresh pool of G's samples (batch
    norm over the pool, as they were chosen), not against the step's fake batch; the
    update it gives G is another than without the pool."""
    updated = []
    for pool in (0, 48):
        config = small_config(kind, jit_compile=False, joint_updates=joint, coverage_weight=1.0,
                              coverage_pool=pool, **options)
        tf.random.set_seed(0)
        trainer = GANTrainer(config, *models.build(config))
        if pool and not joint:  # generator_step alone: its draws are known (pool_draws)
            z, labels = pool_draws(trainer, pool)
            images, _ = trainer.generator(z, training=True, update_stats=False, labels=labels)
            expected = float(losses.coverage_loss(
                tf.random.stateless_uniform([16, 28, 28, 1], [0, 1], -1, 1), images, 1.0))
        real, fake, _, row = g_update(trainer, joint)
        if pool and not joint:
            assert row["coverage_loss"] == pytest.approx(expected, rel=1e-4)
        if pool:
            assert row["coverage_loss"] != pytest.approx(
                float(losses.coverage_loss(real, fake, 1.0)), rel=1e-3)
        updated.append(snapshot(trainer.generator))
    assert any(not np.array_equal(updated[0][name], updated[1][name]) for name in updated[0])


@pytest.mark.parametrize("pool", [0, 64])
def test_coverage_moves_g_toward_the_real_batch(pool):
    """With G's adversarial loss zeroed, one G update on the term alone lowers it: the
    fakes nearest the real images (of the batch, or of the pool) come nearer."""
    config = small_config("dcgan", jit_compile=False, joint_updates=False,
                          coverage_weight=1.0, coverage_pool=pool, g_learning_rate=0.01)
    tf.random.set_seed(0)
    trainer = GANTrainer(config, *models.build(config))
    trainer.g_loss_fn = lambda logits: tf.constant(0.0)
    # The draws generator_step makes with a fresh StepRandom: the batch's z, or the pool's.
    z = pool_draws(trainer, pool)[0] if pool else trainer._z(trainer._random())
    real = tf.random.stateless_uniform([16, 28, 28, 1], [0, 2], -1, 1)

    def term():
        fake, _ = trainer.generator(z, training=True, update_stats=False)
        return float(losses.coverage_loss(real, fake, 1.0))
    before = term()
    trainer.generator_step(trainer._random(), real)
    assert term() < before
    with pytest.raises(ValueError, match="coverage_weight.*real batch"):
        trainer.generator_step(trainer._random())


def test_coverage_weight_is_checked():
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(errors.ConfigError, match="coverage_weight"):
            small_config(coverage_weight=bad).validate()
    # A real image would choose a fake of another class: against the conditioning.
    with pytest.raises(errors.ConfigError, match="coverage_weight.*--conditional"):
        small_config(coverage_weight=1.0, conditional=True).validate()
    for bad in (-1, 1, 1.5, True, 4097):  # 1: every real image would choose the same one
        with pytest.raises(errors.ConfigError, match="coverage_pool"):
            small_config(coverage_weight=1.0, coverage_pool=bad).validate()
    with pytest.raises(errors.ConfigError, match="coverage_pool.*give --coverage_weight"):
        small_config(coverage_pool=64).validate()
    small_config(coverage_weight=1.0, coverage_pool=4096).validate()


def test_mode_seeking_cap_needs_the_term():
    with pytest.raises(errors.ConfigError, match="mode_seeking_cap.*give --mode_seeking_weight"):
        small_config(mode_seeking_cap=0.3).validate()
    for bad in (-0.1, float("nan")):
        with pytest.raises(errors.ConfigError, match="mode_seeking_cap"):
            small_config(mode_seeking_weight=1.0, mode_seeking_cap=bad).validate()


def test_mode_seeking_needs_an_even_batch():
    with pytest.raises(errors.ConfigError, match="mode_seeking_weight.*even --batch_size"):
        small_config(mode_seeking_weight=1.0, batch_size=15).validate()


def test_linear_decay_sets_both_learning_rates_from_the_step():
    config = small_config(lr_decay="linear", max_steps=200, g_learning_rate=0.004)
    trainer = GANTrainer(config, *models.build(config), steps_per_epoch=10)
    for step, factor in ((0, 1.0), (50, 0.75), (200, 0.0)):
        trainer.step.assign(step)
        assert float(trainer.g_optimizer.learning_rate) == pytest.approx(0.004 * factor)
        assert float(trainer.d_optimizer.learning_rate) == pytest.approx(0.002 * factor)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        GANTrainer(config, *models.build(config))
    config = small_config(lr_decay="linear", lr_decay_steps=100, max_steps=200)
    trainer = GANTrainer(config, *models.build(config), steps_per_epoch=10)
    trainer.step.assign(50)
    assert float(trainer.g_optimizer.learning_rate) == pytest.approx(0.001)
    with pytest.raises(errors.ConfigError, match="lr_decay_steps.*--lr_decay=linear"):
        small_config(lr_decay_steps=100).validate()


def test_ada_without_diffaugment_is_refused():
    with pytest.raises(errors.ConfigError, match="augment_target.*--diffaugment"):
        small_config(augment_target=0.6).validate()


def test_a_resumed_run_with_the_levers_matches_an_uninterrupted_one(tmp_path):
    levers = {k: v for k, v in LEVERS["all"].items() if k not in ("lr_decay", "max_steps")}
    resumed, straight = resumed_and_straight(small_config(**levers), tmp_path)
    assert [r["step"] for r in resumed] == [r["step"] for r in straight] == list(range(10, 90, 10))
    for key in ("g_loss", "d_loss", "augment_p"):
        np.testing.assert_allclose([r[key] for r in resumed], [r[key] for r in straight],
                                   rtol=1e-4, err_msg=key)
    assert resumed[-1]["augment_p"] > 0  # it moved, so the checkpoint had to carry it
