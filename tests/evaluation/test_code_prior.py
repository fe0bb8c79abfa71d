"""gan_tf.evaluation.code_prior and randomness.codes_from_prior: the prior a
--code_prior=learned run draws its InfoGAN code from, against numpy, and the run's
evaluations, samples and export drawing from it."""
import json

import numpy as np
import pytest

from gan_tf.evaluation.code_prior import q_marginal
from gan_tf.randomness import codes_from_prior


@pytest.fixture(scope="module")
def info_run(tmp_path_factory):
    """A finished 10-step run with a 3-valued code, its codes served from Q's marginal."""
    from gan_tf.training import loop
    from tests.helpers import run_config
    path = tmp_path_factory.mktemp("learned_prior_run") / "run"
    loop.train(run_config(path, max_steps=10, latent_categories=3, code_prior="learned",
                          eval_samples=20))
    return path


def test_codes_from_a_prior_follow_its_weights():
    u = np.random.default_rng(1).random(200_000)
    # A uniform prior: the value floor(u * K), as the evaluation's codes are drawn.
    np.testing.assert_array_equal(codes_from_prior(u, np.ones(7)), np.floor(u * 7))
    prior = np.array([0.5, 0.0, 0.2, 0.3])
    codes = codes_from_prior(u, prior * 3)  # weights, normalised
    np.testing.assert_allclose(np.bincount(codes, minlength=4) / len(u), prior, atol=0.005)
    assert codes_from_prior(np.array([0.0, 0.4999, 0.5, 0.7, 0.9999]), prior).tolist() == \
        [0, 0, 2, 3, 3]


def test_q_marginal_is_the_mean_of_qs_softmax(info_run):
    import tensorflow as tf
    from gan_tf.runs.restore import restore_models
    _, _, d, _ = restore_models(str(info_run))
    images = np.random.default_rng(2).uniform(-1, 1, (37, 28, 28, 1)).astype(np.float32)
    logits = d.code_logits(d.features(images, training=False)).numpy()
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected = (expected / expected.sum(1, keepdims=True)).mean(0)
    np.testing.assert_allclose(q_marginal(d, images, batch=10), expected, rtol=1e-5)
    assert tf.reduce_sum(q_marginal(d, images)).numpy() == pytest.approx(1, abs=1e-5)


def test_random_codes_from_a_prior_use_the_uniform_draws_numbers():
    from gan_tf.randomness import random_codes
    uniform = random_codes(5000, 4, seed=3, stream=1)
    same = random_codes(5000, 4, seed=3, stream=1, prior=np.ones(4))
    assert np.mean(uniform == same) > 0.999  # the same numbers through the same CDF
    skewed = random_codes(5000, 4, seed=3, stream=1, prior=[0.7, 0.0, 0.1, 0.2])
    assert 1 not in skewed
    np.testing.assert_allclose(np.bincount(skewed, minlength=4) / 5000, [0.7, 0, 0.1, 0.2],
                               atol=0.02)


class _ReadsOneValue:
    """A D whose code head reads every image as value 0 of 3."""
    num_codes = 3

    def features(self, x, training=False):
        import tensorflow as tf
        return tf.zeros([int(x.shape[0]), 4])

    def code_logits(self, h):
        import tensorflow as tf
        return tf.tile(tf.constant([[9.0, 0.0, 0.0]]), [int(h.shape[0]), 1])


class _RecordsCodes:
    num_classes, num_codes, label_width = 0, 3, 3

    def __init__(self):
        self.codes = []

    def __call__(self, z, training=False, labels=None):
        import tensorflow as tf
        self.codes.extend(np.asarray(labels).tolist())
        return tf.zeros([int(z.shape[0]), 28, 28, 1]), None


@pytest.mark.parametrize("prior", ["uniform", "learned"])
def test_the_evaluation_draws_a_learned_runs_codes_from_its_ds_prior(prior):
    from gan_tf.config import TrainConfig
    from gan_tf.data import load_mnist_5k
    from gan_tf.evaluation import GeneratorEvaluator
    from gan_tf.randomness import EVAL_STREAM, fixed_codes
    config = TrainConfig(dataset="mnist_5k", latent_categories=3, code_prior=prior,
                         eval_samples=300)
    evaluator = GeneratorEvaluator(config, load_mnist_5k())
    generator = _RecordsCodes()
    evaluator(generator, _ReadsOneValue())
    if prior == "learned":  # Q's marginal is (almost) all value 0
        assert np.mean(np.asarray(generator.codes) == 0) > 0.99
    else:  # D is not asked: the run's fixed uniform codes, as before
        np.testing.assert_array_equal(generator.codes, fixed_codes(config, 300, EVAL_STREAM))


def test_another_dataset_than_the_runs_is_refused_for_its_prior(info_run, tmp_path):
    import shutil
    from gan_tf.errors import DataError
    from gan_tf.evaluation import code_prior
    from gan_tf.runs.restore import restore_models
    run = tmp_path / "run"
    shutil.copytree(info_run, run)
    stored = json.loads((run / "config.json").read_text())
    stored["data"]["fingerprint"] = "0" * 32  # as if trained on other images
    stored["data"]["source"] = "elsewhere\n\x1b[2Jcleared"  # and text that is not one line
    (run / "config.json").write_text(json.dumps(stored))
    config, _, d, _ = restore_models(str(run))
    with pytest.raises(DataError, match="not the data the run") as error:
        code_prior.run_prior(config, d, str(run))
    assert "\n" not in str(error.value) and "\x1b" not in str(error.value)


def test_a_learned_prior_needs_a_code():
    from gan_tf.config import TrainConfig
    from gan_tf.errors import ConfigError
    with pytest.raises(ConfigError, match="code_prior"):
        TrainConfig(code_prior="learned").validate()


def test_a_learned_runs_samples_and_export_draw_from_its_prior(info_run, tmp_path):
    from gan_tf.applications import export
    from gan_tf.evaluation import code_prior
    from gan_tf.runs.restore import restore_models
    from tests.helpers import cli_errors
    config, _, d, _ = restore_models(str(info_run))
    prior = code_prior.run_prior(config, d, str(info_run))
    assert prior.shape == (3,) and prior.sum() == pytest.approx(1)
    evaluations = json.loads((info_run / "eval.json").read_text())["evaluations"]
    assert evaluations and 1 <= evaluations[-1]["classifier_score"] <= 10
    [(code, stderr)] = cli_errors("gan_tf.export", [f"--run_dir={info_run}",
                                                    f"--export_dir={tmp_path}/export"])
    assert code == 0, stderr[-2000:]
    recorded = json.loads((tmp_path / "export" / export.EXPORT_INFO).read_text())["code_prior"]
    np.testing.assert_allclose(recorded, prior, atol=1e-5)
    [(code, stderr)] = cli_errors("gan_tf.sample", [f"--run_dir={info_run}",
                                                    f"--out={tmp_path}/s.npy",
                                                    "--num_samples=300"])
    assert code == 0, stderr[-2000:]
    from gan_tf.applications import sampling
    from gan_tf.randomness import random_codes
    _, g, _, _ = restore_models(str(info_run))
    # The draw differs between the priors (else this test could not tell them apart) ...
    assert np.any(random_codes(300, 3, 0, prior=prior) != random_codes(300, 3, 0))
    # ... and the command drew the learned prior's codes.
    expected = sampling.draw(g, 300, config.z_dim, config.z_distribution, 0, prior=prior)
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected, atol=1e-5)
