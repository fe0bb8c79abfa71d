"""Metrics on cases whose answer is known, against independent numpy/scipy references."""
import numpy as np
import pytest

from gan_tf.evaluation import metrics

scipy_linalg = pytest.importorskip("scipy.linalg")
scipy_stats = pytest.importorskip("scipy.stats")


def one_hot_logits(labels, classes=10, confidence=20.0):
    return np.eye(classes)[labels] * confidence


def test_classifier_score_is_number_of_classes_for_confident_balanced_predictions():
    logits = one_hot_logits(np.arange(1000) % 10)
    assert metrics.classifier_score_from_logits(logits) == pytest.approx(10.0, rel=1e-3)


def test_classifier_score_is_one_for_a_single_class_or_no_confidence():
    assert metrics.classifier_score_from_logits(one_hot_logits(np.full(500, 3))) == \
        pytest.approx(1.0, abs=1e-6)
    assert metrics.classifier_score_from_logits(np.zeros((500, 10))) == pytest.approx(1.0)


def test_classifier_score_matches_the_definition():
    logits = np.random.default_rng(0).normal(0, 3, (200, 10))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    py = p.mean(0)
    expected = np.exp(np.mean([np.sum(row * np.log(row / py)) for row in p]))
    assert metrics.classifier_score_from_logits(logits) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (400, 16)) @ rng.normal(0, 1, (16, 16))
    b = rng.normal(0.5, 2, (300, 16))
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    root = scipy_linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * root)
    assert metrics.frechet_distance_from_features(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_a_set_to_itself_is_zero_and_grows_with_a_shift():
    f = np.random.default_rng(2).normal(0, 1, (500, 8))
    assert metrics.frechet_distance_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    # A pure mean shift d adds |d|^2.
    assert metrics.frechet_distance_from_features(f, f + 3.0) == pytest.approx(9.0 * 8, rel=1e-6)


def test_mode_coverage_counts_classes_over_five_percent():
    labels = np.concatenate([np.full(960, 7), np.arange(40) % 10])  # 9 classes get 0.4% each
    modes, kl = metrics.mode_coverage_from_logits(one_hot_logits(labels))
    assert modes == 1
    hist = np.bincount(labels, minlength=10) / len(labels)
    assert kl == pytest.approx(np.sum(hist * np.log(hist * 10)))
    modes, kl = metrics.mode_coverage_from_logits(one_hot_logits(np.arange(1000) % 10))
    assert (modes, kl) == (10, pytest.approx(0.0, abs=1e-12))
    assert metrics.mode_coverage_from_logits(one_hot_logits(np.full(100, 2)))[1] == \
        pytest.approx(np.log(10))


def brute_force_precision_recall(real, fake, k):
    def radii(x):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]

    def inside(manifold, r, q):
        d = np.linalg.norm(q[:, None] - manifold[None], axis=-1)
        return np.mean([(row <= r).any() for row in d])
    return inside(real, radii(real), fake), inside(fake, radii(fake), real)


def test_precision_recall_match_a_brute_force_reference():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(0, 1, (150, 5)), rng.normal(0.7, 0.6, (120, 5))
    got = metrics.precision_recall_from_features(real, fake, neighbours=3)
    assert got == pytest.approx(brute_force_precision_recall(real, fake, 3))
    assert 0.0 < got[0] < 1.0 and 0.0 < got[1] < 1.0


def test_precision_recall_known_cases():
    rng = np.random.default_rng(4)
    real = rng.normal(0, 1, (200, 4))
    assert metrics.precision_recall_from_features(real, real) == (1.0, 1.0)
    # Samples from a far-away cluster: outside the real manifold, and it outside theirs.
    assert metrics.precision_recall_from_features(real, real + 100.0) == (0.0, 0.0)
    # A collapsed generator (all samples near one real point) is precise but recalls little.
    collapsed = real[:1] + rng.normal(0, 1e-3, (200, 4))
    precision, recall = metrics.precision_recall_from_features(real, collapsed)
    assert precision == 1.0 and recall < 0.05
    with pytest.raises(ValueError, match="more than neighbours"):
        metrics.precision_recall_from_features(real[:3], real)


def test_metrics_do_not_depend_on_sample_order():
    rng = np.random.default_rng(5)
    logits, features, real = rng.normal(0, 3, (300, 10)), rng.normal(0, 1, (300, 6)), \
        rng.normal(0, 1, (250, 6))
    order = rng.permutation(300)
    a = metrics.from_outputs(logits, features, real)
    b = metrics.from_outputs(logits[order], features[order], real[rng.permutation(250)])
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9), key


def test_label_accuracy_counts_samples_of_the_asked_class():
    logits = np.eye(10)[[3, 3, 7, 1]] * 5.0
    assert metrics.label_accuracy_from_logits(logits, [3, 4, 7, 1]) == 0.75
    assert metrics.label_accuracy_from_logits(logits, np.array([0, 0, 0, 0])) == 0.0


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_is_mann_whitney_u_over_pairs(ties):
    rng = np.random.default_rng(3)
    scores = rng.normal(size=200)
    if ties:
        scores = np.round(scores, 1)  # many equal scores: each tie counts half
    positive = rng.random(200) < 0.3
    scores[positive] += 0.5
    u = scipy_stats.mannwhitneyu(scores[positive], scores[~positive]).statistic
    assert metrics.auroc(scores, positive) == pytest.approx(u / (positive.sum() * (~positive).sum()))
    assert metrics.auroc(scores, ~positive) == pytest.approx(1 - metrics.auroc(scores, positive))
    assert metrics.auroc([1.0, 2.0, 3.0], [False, False, True]) == 1.0
    with pytest.raises(ValueError, match="at least one positive"):
        metrics.auroc([1.0, 2.0], [False, False])


def test_precision_recall_in_blocks_equals_the_whole_matrix_and_memory_is_linear(monkeypatch):
    """Issue 25: the N x N distance matrices took 11.7 GB at 30,000 samples."""
    import tracemalloc
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 16)), rng.normal(0.3, 1.0, size=(250, 16))
    d_real = metrics._pairwise_sq_distances(real, real)
    radii = np.sort(d_real, axis=1)[:, 3]
    whole = np.mean(np.any(metrics._pairwise_sq_distances(fake, real) <= radii[None], axis=1))
    monkeypatch.setattr(metrics, "BLOCK_DISTANCES", 1000)  # many blocks of a few rows
    precision, _ = metrics.precision_recall_from_features(real, fake)
    assert precision == pytest.approx(whole, abs=1e-12)
    n = 4000
    features = rng.normal(size=(n, 8))
    monkeypatch.setattr(metrics, "BLOCK_DISTANCES", 100 * n)
    tracemalloc.start()
    metrics.precision_recall_from_features(features, features)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * n * n / 4  # the whole matrix alone: 8 n^2 bytes (128 MB)
