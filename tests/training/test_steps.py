"""GANTrainer's D pass in joint_step: D on each half in its own call (gan_tf.training.steps
`_d_pass`'s split), which must give the one-call pass's numbers and cut the real half from
the gradient, so that G's tape does no backward work over it."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import models
from gan_tf.training import steps
from gan_tf.training.steps import GANTrainer
from tests.helpers import small_config, snapshot

N = 8  # real images in a pass of 2N


def trainer_and_batch(**options):
    config = small_config("dcgan", **options)
    tf.random.set_seed(0)
    g, d = models.build(config)
    x = tf.constant(np.random.default_rng(1).uniform(-1, 1, (2 * N, 28, 28, 1)), tf.float32)
    return GANTrainer(config, g, d), x


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("features", [False, True])
def test_the_split_pass_gives_the_one_call_numbers(dropout, features):
    """The real half keeps the one-call pass's dropout masks (a stateless stream's first
    rows); the fake half draws its own, from the seed folded with FAKE_HALF."""
    trainer, x = trainer_and_batch(dropout=dropout, latent_categories=4 if features else 0)
    seed = tf.constant([3, 4], tf.int64)
    (_, one), h_one = trainer._d_pass(x, N, seed, None, features=features)
    (probs, two), h_two = tf.function(
        lambda x: trainer._d_pass(x, N, seed, None, features=features, split=True))(x)
    np.testing.assert_allclose(two[:N], one[:N], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, tf.sigmoid(two), rtol=1e-6)
    fake_seed = tf.random.experimental.stateless_fold_in(seed, steps.FAKE_HALF)
    (_, fake), _ = steps.discriminate(trainer.discriminator, x[N:], fake_seed)
    np.testing.assert_allclose(two[N:], fake, rtol=1e-5, atol=1e-6)
    if dropout:
        assert not np.allclose(two[N:], one[N:], atol=1e-3)  # other masks
    else:
        np.testing.assert_allclose(two[N:], one[N:], rtol=1e-5, atol=1e-6)
    assert (h_two is None) is (not features)
    if features:
        np.testing.assert_allclose(h_two[:N], h_one[:N], rtol=1e-5, atol=1e-6)


def test_the_split_pass_cuts_the_real_half_from_the_gradient():
    """What makes joint_step faster: nothing flows back into the real images' rows, so
    a G tape skips D's backward pass over them (the one-call pass computes it)."""
    trainer, x = trainer_and_batch()
    seed = tf.constant([3, 4], tf.int64)
    for split, real_rows_reached in ((False, True), (True, False)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            (_, logits), _ = trainer._d_pass(x, N, seed, None, split=split)
            total = tf.reduce_sum(logits)
        grad = tape.gradient(total, x).numpy()
        assert np.abs(grad[:N]).max() > 0 if real_rows_reached else not grad[:N].any()
        assert np.abs(grad[N:]).max() > 0


@pytest.mark.parametrize("options", [
    {}, dict(bcr_weight=1.0), dict(latent_categories=4), dict(minibatch_stddev=True),
    dict(conditional=True), dict(r1_gamma=1.0), dict(diffaugment="translation,cutout"),
    dict(spectral_norm=True)])
def test_joint_step_updates_as_with_one_d_call(options, monkeypatch):
    """Without dropout a joint step's updates are those of the one-call pass (to float
    rounding): the split changes where the work goes, not what is learnt. Adam's moments
    are compared too (one update alone is about lr * sign(gradient)); a spectrally
    normalised D, whose every call steps its power iteration, keeps the one call."""
    images = np.random.default_rng(2).uniform(-1, 1, (N, 28, 28, 1)).astype(np.float32)
    batch = ((tf.constant(images), tf.range(N) % 10) if options.get("conditional")
             else tf.constant(images))
    after = []
    for split in (True, False):
        if not split:
            one_call = GANTrainer._d_pass
            monkeypatch.setattr(GANTrainer, "_d_pass", lambda self, *a, split=False, **k:
                                one_call(self, *a, **k))
        trainer, _ = trainer_and_batch(dropout=0.0, batch_size=N, joint_updates=True,
                                       **options)
        tf.function(trainer.train_step)([batch])
        moments = {f"{role}/{i}": v.numpy() for role, opt in (
            ("g", trainer.g_optimizer), ("d", trainer.d_optimizer))
            for i, v in enumerate(opt.variables)}
        after.append({**snapshot(trainer.generator), **snapshot(trainer.discriminator),
                      **moments})
    assert after[0].keys() == after[1].keys()
    for name, value in after[0].items():
        np.testing.assert_allclose(value, after[1][name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("d_steps,expect", [(1, [True]), (2, [False, True])])
def test_only_the_joint_steps_pass_is_split(d_steps, expect, monkeypatch):
    """joint_step asks for the split (its G tape records the pass); the D steps before it
    have no G tape and keep the one call."""
    asked = []
    real_pass = GANTrainer._d_pass

    def spy(self, *args, split=False, **kwargs):
        asked.append(split)
        return real_pass(self, *args, split=split, **kwargs)
    monkeypatch.setattr(GANTrainer, "_d_pass", spy)
    trainer, x = trainer_and_batch(batch_size=N, joint_updates=True, d_steps_per_g_step=d_steps)
    tf.function(trainer.train_step)([x[:N]] * d_steps)
    assert asked == expect
