"""Losses against an independent numpy computation, eagerly and under tf.function."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import losses, models
from gan_tf.training.steps import METRIC_KEYS, GANTrainer
from tests.helpers import changed, small_config, snapshot


def np_sigmoid_xent(labels, logits):
    # Written from the definition: -[y log s(x) + (1 - y) log(1 - s(x))].
    s = 1.0 / (1.0 + np.exp(-logits))
    return np.mean(-(labels * np.log(s) + (1 - labels) * np.log(1 - s)))


@pytest.fixture
def logits():
    rng = np.random.default_rng(0)
    return (rng.normal(0, 2, (64, 1)).astype(np.float32),
            rng.normal(-1, 2, (64, 1)).astype(np.float32))


@pytest.mark.parametrize("smoothing", [0.9, 1.0, 0.7])
@pytest.mark.parametrize("compiled", [False, True])
def test_discriminator_loss_matches_numpy(logits, smoothing, compiled):
    real, fake = logits
    fn = tf.function(losses.discriminator_loss) if compiled else losses.discriminator_loss
    d_loss, d_real, d_fake = [float(v) for v in fn(real, fake, smoothing)]
    expected_real = np_sigmoid_xent(np.full_like(real, smoothing, dtype=np.float64), real.astype(np.float64))
    expected_fake = np_sigmoid_xent(np.zeros_like(fake, dtype=np.float64), fake.astype(np.float64))
    assert d_real == pytest.approx(expected_real, rel=1e-5)
    assert d_fake == pytest.approx(expected_fake, rel=1e-5)
    assert d_loss == pytest.approx(expected_real + expected_fake, rel=1e-5)


def test_default_label_smoothing_is_point_nine(logits):
    real, fake = logits
    assert float(losses.discriminator_loss(real, fake)[1]) == pytest.approx(
        float(losses.discriminator_loss(real, fake, 0.9)[1]))
    assert float(losses.discriminator_loss(real, fake)[1]) != pytest.approx(
        float(losses.discriminator_loss(real, fake, 1.0)[1]))


@pytest.mark.parametrize("compiled", [False, True])
def test_generator_loss_is_non_saturating_xent_against_ones(logits, compiled):
    _, fake = logits
    fn = tf.function(losses.generator_loss) if compiled else losses.generator_loss
    expected = np_sigmoid_xent(np.ones_like(fake, dtype=np.float64), fake.astype(np.float64))
    assert float(fn(fake)) == pytest.approx(expected, rel=1e-5)


def test_losses_at_known_points():
    # logits 0 -> sigmoid 0.5: every cross-entropy term is log 2.
    zeros = tf.zeros([4, 1])
    d_loss, d_real, d_fake = losses.discriminator_loss(zeros, zeros, 1.0)
    assert float(d_real) == pytest.approx(np.log(2)) and float(d_loss) == pytest.approx(2 * np.log(2))
    assert float(losses.generator_loss(zeros)) == pytest.approx(np.log(2))


def test_label_flips_swap_an_examples_target(logits):
    real, fake = logits
    flip_all, flip_none = np.ones_like(real), np.zeros_like(real)
    _, d_real, d_fake = losses.discriminator_loss(real, fake, 0.9, flip_all, flip_all)
    assert float(d_real) == pytest.approx(np_sigmoid_xent(np.zeros_like(real, np.float64), real), rel=1e-5)
    assert float(d_fake) == pytest.approx(np_sigmoid_xent(np.full_like(fake, 0.9, np.float64), fake), rel=1e-5)
    unflipped = losses.discriminator_loss(real, fake, 0.9, flip_none, flip_none)
    np.testing.assert_allclose([float(v) for v in unflipped],
                               [float(v) for v in losses.discriminator_loss(real, fake, 0.9)], rtol=1e-6)
    half = (np.arange(64) % 2).reshape(64, 1).astype(np.float32)
    targets = 0.9 * (1 - half)
    assert float(losses.discriminator_loss(real, fake, 0.9, half)[1]) == pytest.approx(
        np_sigmoid_xent(targets.astype(np.float64), real.astype(np.float64)), rel=1e-5)


# --- the loss families ------------------------------------------------------------------

def np_relu(x):
    return np.maximum(x, 0.0)


# family -> (d_loss_real, d_loss_fake, g_loss) in numpy, from each paper's definition.
NUMPY_FAMILIES = {
    "non_saturating": (lambda r: np_sigmoid_xent(np.full_like(r, 0.9), r),
                       lambda f: np_sigmoid_xent(np.zeros_like(f), f),
                       lambda f: np_sigmoid_xent(np.ones_like(f), f)),
    "hinge": (lambda r: np.mean(np_relu(1 - r)), lambda f: np.mean(np_relu(1 + f)),
              lambda f: -np.mean(f)),
    "least_squares": (lambda r: 0.5 * np.mean((r - 1) ** 2), lambda f: 0.5 * np.mean(f ** 2),
                      lambda f: 0.5 * np.mean((f - 1) ** 2)),
    "wasserstein": (lambda r: -np.mean(r), lambda f: np.mean(f), lambda f: -np.mean(f)),
}


def test_the_registry_holds_every_family_the_config_accepts():
    from gan_tf.config_checks import LOSS_FAMILIES
    assert tuple(losses.LOSSES) == LOSS_FAMILIES == tuple(NUMPY_FAMILIES)
    assert losses.LOSSES["non_saturating"] == (losses.discriminator_loss, losses.generator_loss)


@pytest.mark.parametrize("family", list(NUMPY_FAMILIES))
@pytest.mark.parametrize("compiled", [False, True])
def test_each_family_matches_numpy(logits, family, compiled):
    real, fake = logits
    d_fn, g_fn = losses.LOSSES[family]
    if compiled:
        d_fn, g_fn = tf.function(d_fn), tf.function(g_fn)
    d_loss, d_real, d_fake = [float(v) for v in d_fn(real, fake)]
    np_real, np_fake, np_g = NUMPY_FAMILIES[family]
    real64, fake64 = real.astype(np.float64), fake.astype(np.float64)
    assert d_real == pytest.approx(np_real(real64), rel=1e-5, abs=1e-6)
    assert d_fake == pytest.approx(np_fake(fake64), rel=1e-5, abs=1e-6)
    assert d_loss == pytest.approx(d_real + d_fake, rel=1e-6, abs=1e-6)
    assert float(g_fn(fake)) == pytest.approx(np_g(fake64), rel=1e-5, abs=1e-6)


def test_families_at_hand_computed_points():
    real, fake = tf.constant([[2.0], [0.5]]), tf.constant([[-2.0], [0.5]])
    # hinge: relu(1 - 2) = 0, relu(1 - 0.5) = 0.5; relu(1 - 2) = 0, relu(1.5) = 1.5.
    assert [float(v) for v in losses.hinge_discriminator_loss(real, fake)] == [1.0, 0.25, 0.75]
    # least squares: ((1 + 0.25) / 2) / 2; ((4 + 0.25) / 2) / 2; ((9 + 0.25) / 2) / 2.
    assert [float(v) for v in losses.least_squares_discriminator_loss(real, fake)] == [
        pytest.approx(1.375), 0.3125, 1.0625]
    assert float(losses.least_squares_generator_loss(fake)) == pytest.approx(2.3125)
    # wasserstein: -(2 + 0.5) / 2; (-2 + 0.5) / 2.
    assert [float(v) for v in losses.wasserstein_discriminator_loss(real, fake)] == [-2.0, -1.25,
                                                                                     -0.75]
    assert float(losses.wasserstein_generator_loss(fake)) == 0.75
    assert float(losses.hinge_generator_loss(fake)) == 0.75


# --- the gradient penalties -------------------------------------------------------------

W1 = np.random.default_rng(1).normal(0, 0.5, (6, 4))
W2 = np.random.default_rng(2).normal(0, 0.5, (4, 1))


def small_d(x):
    """A fixed nonlinear D: tanh(x W1) W2 on (n, 2, 3) inputs."""
    flat = tf.reshape(x, [tf.shape(x)[0], 6])
    return tf.tanh(flat @ tf.constant(W1, x.dtype)) @ tf.constant(W2, x.dtype)


def np_input_gradients(x, h=1e-5):
    """Central finite differences of small_d per example, (n, 6) float64."""
    def d(v):
        return (np.tanh(v.reshape(len(v), 6) @ W1) @ W2)[:, 0]
    flat = x.reshape(len(x), 6)
    grads = np.zeros_like(flat)
    for j in range(6):
        step = np.zeros(6)
        step[j] = h
        grads[:, j] = (d(flat + step) - d(flat - step)) / (2 * h)
    return grads


@pytest.fixture
def images():
    return np.random.default_rng(3).normal(0, 1, (5, 2, 3))


SEED = tf.constant([7, 8], tf.int64)


@pytest.mark.parametrize("compiled", [False, True])
def test_r1_matches_finite_differences(images, compiled):
    fn = tf.function(losses.r1_penalty) if compiled else losses.r1_penalty
    expected = 2.5 * np.mean(np.sum(np_input_gradients(images) ** 2, axis=1))
    assert float(fn(small_d, tf.constant(images), 5.0)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("compiled", [False, True])
def test_gradient_penalty_matches_finite_differences(images, compiled):
    # Real and fake the same: every interpolate is that image, whatever eps is drawn.
    fn = tf.function(losses.gradient_penalty) if compiled else losses.gradient_penalty
    norms = np.linalg.norm(np_input_gradients(images), axis=1)
    x = tf.constant(images)
    assert float(fn(small_d, x, x, SEED, 10.0)) == pytest.approx(
        10.0 * np.mean((norms - 1) ** 2), rel=1e-5)


def test_gradient_penalty_interpolates_each_example_with_its_own_eps(images):
    # D(x) = ||x||^2 / 2 has gradient x: the penalty at eps x + (1 - eps) * 0 is
    # mean (eps_i ||x_i|| - 1)^2 with eps_i the seed's uniform draws, one per example.
    def d(x):
        return 0.5 * tf.reduce_sum(tf.reshape(x, [tf.shape(x)[0], -1]) ** 2, axis=1, keepdims=True)
    x = tf.constant(images)
    penalty = float(losses.gradient_penalty(d, x, tf.zeros_like(x), SEED, 1.0))
    eps = tf.random.stateless_uniform([5, 1, 1], SEED, dtype=tf.float64).numpy().ravel()
    norms = np.linalg.norm(images.reshape(5, -1), axis=1)
    assert len(set(eps)) == 5 and penalty == pytest.approx(np.mean((eps * norms - 1) ** 2))
    assert float(losses.gradient_penalty(d, x, tf.zeros_like(x), SEED + 1, 1.0)) != penalty


def test_penalties_of_a_linear_d_have_closed_forms_and_gradients(images):
    w = tf.Variable(np.random.default_rng(4).normal(0, 1, (6, 1)))

    def linear_d(x):
        return tf.reshape(x, [tf.shape(x)[0], 6]) @ w
    x, fake = tf.constant(images), tf.constant(images[::-1].copy())
    norm = float(tf.norm(w))
    with tf.GradientTape(persistent=True) as tape:
        r1 = losses.r1_penalty(linear_d, x, 3.0)
        gp = losses.gradient_penalty(linear_d, x, fake, SEED, 10.0)
    assert float(r1) == pytest.approx(1.5 * norm ** 2)
    assert float(gp) == pytest.approx(10.0 * (norm - 1) ** 2)
    # d/dw of gamma/2 ||w||^2 is gamma w: the penalty trains D's variables.
    np.testing.assert_allclose(tape.gradient(r1, w).numpy(), 3.0 * w.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(gp, w).numpy(),
                               20.0 * (norm - 1) / norm * w.numpy(), rtol=1e-5)


# --- the trainer with each family and penalty -------------------------------------------

PENALTIES = {"none": {}, "r1": dict(r1_gamma=10.0), "gp": dict(gradient_penalty=10.0)}


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("loss", list(NUMPY_FAMILIES))
def test_one_train_step_of_every_loss_and_penalty(loss, penalty):
    # Alternate and joint updates in turn, so each penalty meets both D updates.
    joint = (list(NUMPY_FAMILIES).index(loss) + list(PENALTIES).index(penalty)) % 2 == 1
    config = small_config(loss=loss, joint_updates=joint, jit_compile=False,
                          **PENALTIES[penalty]).validate()
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    g_before, d_before = snapshot(g), snapshot(d)
    real = tf.random.stateless_uniform([16, 28, 28, 1], [0, 1], -1, 1)
    row = dict(zip(METRIC_KEYS, trainer._compiled_step([real]).numpy()))
    assert np.isfinite(list(row.values())).all()
    assert row["d_loss"] == pytest.approx(row["d_loss_real"] + row["d_loss_fake"], abs=1e-5)
    assert changed(g_before, g) == {v.name for v in trainer.g_vars}
    # Every kernel of D; not always its output bias, whose hinge and Wasserstein gradient
    # (fraction of fakes scored > -1 minus reals < 1; 1 - 1) is 0 at the start.
    assert {v.name for v in trainer.d_vars if "kernel" in v.name} <= changed(d_before, d)


@pytest.mark.parametrize("joint", [False, True])
def test_a_penalty_changes_ds_update_but_not_its_logged_loss(joint):
    rows, weights = [], []
    for penalty in ({}, dict(r1_gamma=100.0)):
        config = small_config(joint_updates=joint, jit_compile=False, **penalty)
        tf.random.set_seed(0)  # the same initial weights, as train.train sets them
        g, d = models.build(config)
        trainer = GANTrainer(config, g, d)
        real = tf.random.stateless_uniform([16, 28, 28, 1], [0, 1], -1, 1)
        rows.append(trainer._compiled_step([real]).numpy())
        weights.append(snapshot(d))
    # The same D losses and verdicts (before D's update), not the same D afterwards.
    d_metrics = [METRIC_KEYS.index(k) for k in ("d_loss", "d_loss_real", "d_loss_fake", "d_real")]
    np.testing.assert_array_equal(rows[0][d_metrics], rows[1][d_metrics])
    assert any(not np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.parametrize("family", sorted(losses.LOSSES))
def test_every_family_is_called_one_way_and_only_the_non_saturating_takes_flips(logits, family):
    """Issue 26: the trainer called the non-saturating loss past the table, with its own
    arguments; now every family comes from losses.family and takes the same call."""
    real, fake = logits
    d_loss, g_loss = losses.family(family, label_smoothing=0.8)
    total, d_real, d_fake = d_loss(real, fake, real_flipped=None, fake_flipped=None)
    np.testing.assert_allclose(total.numpy(), (d_real + d_fake).numpy(), rtol=1e-6)
    expected = (losses.discriminator_loss(real, fake, 0.8) if family == "non_saturating"
                else losses.LOSSES[family][0](real, fake))
    np.testing.assert_allclose(total.numpy(), expected[0].numpy(), rtol=1e-6)
    assert g_loss is losses.LOSSES[family][1]
    flips = tf.ones_like(real)
    if family == "non_saturating":
        flipped = d_loss(real, fake, real_flipped=flips, fake_flipped=None)[1]
        np.testing.assert_allclose(flipped.numpy(), losses.discriminator_loss(
            real, fake, 0.8, real_flipped=flips)[1].numpy(), rtol=1e-6)
    else:
        with pytest.raises(ValueError, match="label flips belong to the non_saturating"):
            d_loss(real, fake, real_flipped=flips)


def test_info_loss_is_the_one_infogan_term_and_weighted_in_one_place():
    from gan_tf.training import steps
    logits = tf.constant([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    codes = tf.constant([0, 2])
    assert steps.code_loss is losses.info_loss  # the old name, the same function
    value = losses.info_loss(logits, codes).numpy()
    assert steps.weighted_info_loss({"info_loss": value}, 0.5) == pytest.approx(0.5 * value)
    assert steps.weighted_info_loss({}, 0.5) == 0.0


# --- the small-data levers' terms (issue 28), against numpy -----------------------------

def np_top_k_weights(logits, k):
    # The k largest, ties to the earlier position (a stable descending sort).
    flat = logits.reshape(-1)
    order = sorted(range(len(flat)), key=lambda i: (-flat[i], i))
    keep = np.zeros(len(flat), np.float32)
    keep[order[:k]] = 1
    return keep.reshape(logits.shape)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("k", [1, 17, 64])
def test_top_k_weights_keep_the_k_most_real(logits, k, compiled):
    _, fake = logits
    fake = np.concatenate([fake[:60], fake[:4]])  # ties: the last four repeat the first four
    fn = tf.function(losses.top_k_weights) if compiled else losses.top_k_weights
    weights = fn(tf.constant(fake), tf.constant(k)).numpy()
    np.testing.assert_array_equal(weights, np_top_k_weights(fake, k))
    assert weights.sum() == k


@pytest.mark.parametrize("family", sorted(losses.LOSSES))
@pytest.mark.parametrize("compiled", [False, True])
def test_a_generator_loss_over_the_top_k_is_the_loss_of_those_examples(logits, family, compiled):
    _, fake = logits
    g_loss = losses.LOSSES[family][1]
    weights = np_top_k_weights(fake, 20)
    fn = tf.function(g_loss) if compiled else g_loss
    kept = fake[weights[:, 0] == 1]
    assert float(fn(fake, weights=weights)) == pytest.approx(float(g_loss(kept)), rel=1e-5)
    assert float(fn(fake, weights=np.ones_like(fake))) == pytest.approx(float(g_loss(fake)),
                                                                         rel=1e-6)


@pytest.mark.parametrize("compiled", [False, True])
def test_lecam_penalty_matches_numpy(logits, compiled):
    real, fake = logits
    fn = tf.function(losses.lecam_penalty) if compiled else losses.lecam_penalty
    a_real, a_fake = 0.7, -0.4
    expected = 0.3 * (np.mean(np.maximum(real - a_fake, 0) ** 2)
                      + np.mean(np.maximum(a_real - fake, 0) ** 2))
    assert float(fn(real, fake, a_real, a_fake, 0.3)) == pytest.approx(expected, rel=1e-5)
    # D's verdicts already between the other side's averages cost nothing.
    assert float(losses.lecam_penalty(tf.fill([4, 1], -1.0), tf.fill([4, 1], 1.0), 0.5, 0.0,
                                      1.0)) == 0.0


def test_moving_average_is_the_exponential_one():
    average = 0.0
    for value in (1.0, 2.0, 3.0):
        average = float(losses.moving_average(average, value, 0.99))
    assert average == pytest.approx(0.01 * 3 + 0.0099 * 2 + 0.009801 * 1, rel=1e-6)


@pytest.mark.parametrize("compiled", [False, True])
def test_mode_seeking_loss_matches_numpy(compiled):
    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    z = rng.normal(size=(8, 62)).astype(np.float32)
    fn = tf.function(losses.mode_seeking_loss) if compiled else losses.mode_seeking_loss
    ratio = (np.mean(np.abs(images[0::2] - images[1::2]))
             / np.mean(np.abs(z[0::2] - z[1::2])))
    assert float(fn(images, z, 0.5)) == pytest.approx(0.5 / (ratio + 1e-5), rel=1e-5)
    # One image for every z (a collapsed G) costs weight / eps; distinct images far less.
    same = np.repeat(images[:1], 8, axis=0)
    assert float(fn(same, z, 1.0)) == pytest.approx(1e5, rel=1e-6)
    assert float(fn(images, z, 1.0)) < 10
    # A bfloat16 batch (mixed precision's images) gives the float32 loss of its values.
    rounded = tf.cast(tf.cast(images, tf.bfloat16), tf.float32)
    assert float(fn(tf.cast(images, tf.bfloat16), z, 1.0)) == pytest.approx(
        float(losses.mode_seeking_loss(rounded, z, 1.0)), rel=1e-6)


@pytest.mark.parametrize("compiled", [False, True])
def test_capped_mode_seeking_loss_matches_numpy_and_stops_paying_past_the_cap(compiled):
    rng = np.random.default_rng(4)
    images = rng.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    images[6:] = images[7]  # the last pair draws one image: ratio 0
    z = rng.normal(size=(8, 62)).astype(np.float32)
    ratios = (np.abs(images[0::2] - images[1::2]).mean(axis=(1, 2, 3))
              / np.abs(z[0::2] - z[1::2]).mean(axis=1))
    ratios_fn = tf.function(losses.mode_seeking_pair_ratios) if compiled else \
        losses.mode_seeking_pair_ratios
    np.testing.assert_allclose(ratios_fn(images, z).numpy(), ratios, rtol=1e-5)
    assert ratios[3] == 0 and 0 < ratios[:3].min()
    cap = float(np.median(ratios[:3]))  # one pair above the cap, one below, one at it
    loss_fn = tf.function(losses.capped_mode_seeking_loss) if compiled else \
        losses.capped_mode_seeking_loss
    assert float(loss_fn(images, z, cap, 0.5)) == pytest.approx(
        -0.5 * np.minimum(ratios, cap).mean(), rel=1e-5)
    # Only the pairs under the cap pull on G's images: a pair past it has no gradient.
    image_var = tf.Variable(images)
    with tf.GradientTape() as tape:
        loss = losses.capped_mode_seeking_loss(image_var, z, cap, 1.0)
    grads = tape.gradient(loss, image_var).numpy()
    pair_grad = np.abs(grads).reshape(4, -1).sum(axis=1)
    assert pair_grad[int(np.argmax(ratios))] == 0
    assert pair_grad[int(np.argmin(ratios[:3]))] > 0
    # A bfloat16 batch (mixed precision's images) gives the float32 loss of its values.
    rounded = tf.cast(tf.cast(images, tf.bfloat16), tf.float32)
    assert float(loss_fn(tf.cast(images, tf.bfloat16), z, cap, 1.0)) == pytest.approx(
        float(losses.capped_mode_seeking_loss(rounded, z, cap, 1.0)), rel=1e-6)


def np_coverage(real, fake):
    """(loss, chosen rows): each real's mean squared distance to its nearest fake."""
    distances = ((real.reshape(len(real), 1, -1) - fake.reshape(1, len(fake), -1)) ** 2)
    chosen = distances.sum(axis=2).argmin(axis=1)
    return distances.mean(axis=2)[np.arange(len(real)), chosen].mean(), chosen


@pytest.mark.parametrize("compiled", [False, True])
def test_coverage_loss_matches_numpy_and_pulls_only_the_chosen_fakes(compiled):
    rng = np.random.default_rng(5)
    real = rng.uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    # Fakes 0-5 lie near reals 5, 4, 3, 2, 1, 0; fakes 6-9 are far from all of them.
    fake = np.concatenate([real[::-1] + rng.normal(0, 0.1, real.shape),
                           rng.uniform(-1, 1, (4, 28, 28, 1)) + 3.0]).astype(np.float32)
    expected, chosen = np_coverage(real, fake)
    np.testing.assert_array_equal(chosen, [5, 4, 3, 2, 1, 0])
    near_fn = tf.function(losses.nearest_fakes) if compiled else losses.nearest_fakes
    np.testing.assert_array_equal(near_fn(real, fake).numpy(), chosen)
    loss_fn = tf.function(losses.coverage_loss) if compiled else losses.coverage_loss
    assert float(loss_fn(real, fake, 0.5)) == pytest.approx(0.5 * expected, rel=1e-5)
    # A random draw too, where several reals may choose one fake.
    other = rng.uniform(-1, 1, (12, 28, 28, 1)).astype(np.float32)
    assert float(loss_fn(real, other, 1.0)) == pytest.approx(np_coverage(real, other)[0],
                                                             rel=1e-5)
    # Only the chosen fakes get a gradient, 2 (fake - real) / (pixels * reals) each.
    fake_var = tf.Variable(fake)
    with tf.GradientTape() as tape:
        loss = losses.coverage_loss(real, fake_var, 1.0)
    grads = tape.gradient(loss, fake_var).numpy()
    assert not grads[6:].any()
    np.testing.assert_allclose(grads[:6], 2 * (fake[:6] - real[::-1]) / (784 * 6), rtol=1e-4,
                               atol=1e-9)
    # A bfloat16 batch (mixed precision's images) gives the float32 loss of its values.
    rounded = tf.cast(tf.cast(fake, tf.bfloat16), tf.float32)
    assert float(loss_fn(real, tf.cast(fake, tf.bfloat16), 1.0)) == pytest.approx(
        float(losses.coverage_loss(real, rounded, 1.0)), rel=1e-6)


@pytest.mark.parametrize("compiled", [False, True])
def test_consistency_penalty_matches_numpy(logits, compiled):
    real, fake = logits
    fn = tf.function(losses.consistency_penalty) if compiled else losses.consistency_penalty
    assert float(fn(real, fake, 10.0)) == pytest.approx(10.0 * np.mean((real - fake) ** 2),
                                                        rel=1e-5)
    assert float(fn(real, real, 10.0)) == 0.0
