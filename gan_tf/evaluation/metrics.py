"""Sample-quality metrics in a frozen classifier's space (gan_tf.classifier).

Split as TF-GAN's classifier_metrics is: gan_tf.evaluation runs the network once
(ImageEvaluator); the `*_from_logits` / `*_from_features` functions here are plain
numpy on its outputs, so they are tested without a network.

  classifier score   exp(E_x KL(p(y|x) || p(y))), the Inception-score analogue;
                     1 (one class, or no confidence) .. 10 (confident, balanced)
  Frechet distance   between Gaussians fitted to generated and real penultimate
                     features (FID, in the classifier's 256-d space)
  mode coverage      classes receiving >= 5% of the samples (argmax), and
                     KL(class histogram || uniform) in nats
  precision, recall  Kynkaenniemi et al. 2019: the share of generated samples inside
                     the real k-NN manifold, and of real samples inside the generated
                     one (k = 3)
"""
import numpy as np

MODE_THRESHOLD = 0.05
PR_NEIGHBOURS = 3


def _softmax(logits):
    logits = np.asarray(logits, np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def classifier_score_from_logits(logits):
    """exp(mean_x KL(p(y|x) || p(y))) for logits (N, classes)."""
    p = _softmax(logits)
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(np.maximum(p, 1e-30)) - np.log(np.maximum(marginal, 1e-30))), axis=1)
    return float(np.exp(kl.mean()))


def _sqrtm_psd(matrix):
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2)), whose argument is symmetric
    PSD, so eigh suffices (no scipy, no complex parts)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root1 = _sqrtm_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0)))
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt, 0.0))


def moments(features):
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance_from_features(features1, features2):
    """Frechet distance between Gaussians fitted to two feature sets (N, d) and (M, d)."""
    return frechet_distance_from_moments(*moments(features1), *moments(features2))


def mode_coverage_from_logits(logits, threshold=MODE_THRESHOLD):
    """(number of classes with >= threshold of the argmax predictions,
    KL(class histogram || uniform) in nats: 0 when balanced, log(classes) for one class)."""
    logits = np.asarray(logits)
    classes = logits.shape[1]
    histogram = np.bincount(np.argmax(logits, axis=1), minlength=classes) / len(logits)
    nonzero = histogram[histogram > 0]
    kl = float(np.sum(nonzero * np.log(nonzero * classes)))
    return int(np.sum(histogram >= threshold)), kl


def _pairwise_sq_distances(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


# Distances computed at once: blocks of rows against a whole set, so that memory grows
# linearly with the number of samples (32 MiB of float64 a block), never as its square.
BLOCK_DISTANCES = 1 << 22


def _row_blocks(rows, columns):
    step = max(1, BLOCK_DISTANCES // max(columns, 1))
    return [slice(start, min(rows, start + step)) for start in range(0, rows, step)]


def _knn_radii(features, neighbours):
    """Squared distance of each point to its `neighbours`-th nearest other point."""
    features = np.asarray(features, np.float64)
    radii = np.empty(len(features))
    for rows in _row_blocks(len(features), len(features)):
        d = _pairwise_sq_distances(features[rows], features)
        radii[rows] = np.partition(d, neighbours, axis=1)[:, neighbours]  # 0: the point itself
    return radii


def _coverage(manifold, radii, queries):
    """Share of `queries` within some manifold point's k-NN ball."""
    manifold, queries = np.asarray(manifold, np.float64), np.asarray(queries, np.float64)
    covered = 0
    for rows in _row_blocks(len(queries), len(manifold)):
        d = _pairwise_sq_distances(queries[rows], manifold)
        covered += int(np.count_nonzero(np.any(d <= radii[None, :], axis=1)))
    return covered / len(queries)


def precision_recall_from_features(real_features, fake_features, neighbours=PR_NEIGHBOURS):
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN balls,
    k = `neighbours`."""
    if min(len(real_features), len(fake_features)) <= neighbours:
        raise ValueError(f"precision/recall needs more than neighbours={neighbours} samples "
                         "per set")
    precision = _coverage(real_features, _knn_radii(real_features, neighbours), fake_features)
    recall = _coverage(fake_features, _knn_radii(fake_features, neighbours), real_features)
    return precision, recall


def from_outputs(fake_logits, fake_features, real_features):
    """Every metric for generated samples' classifier outputs against real features."""
    modes, kl = mode_coverage_from_logits(fake_logits)
    precision, recall = precision_recall_from_features(real_features, fake_features)
    return {"classifier_score": classifier_score_from_logits(fake_logits),
            "frechet_distance": frechet_distance_from_features(fake_features, real_features),
            "modes": modes, "mode_kl": kl, "precision": precision, "recall": recall}


def label_accuracy_from_logits(logits, labels):
    """Share of samples the classifier assigns to the class a conditional generator was
    asked for (1.0: every sample is the digit it should be; 0.1: labels ignored)."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def auroc(scores, positive):
    """Area under the ROC curve of `scores` (higher: more likely positive) for the boolean
    labels `positive`: P(score of a positive > score of a negative), ties counting half
    (the Mann-Whitney U statistic over n_pos * n_neg)."""
    scores = np.asarray(scores, np.float64)
    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        raise ValueError("AUROC needs at least one positive and one negative example")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    # Tied scores share the mean of their ranks.
    unique, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    if len(unique) < len(scores):
        ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
