"""The one-class protocol: a GAN of one digit ranks the other digits as anomalies, the
anomaly command's feature reference is that digit's training images alone, and the
benchmark's results file and table (benchmarks/anomaly_one_class.py)."""
import json
from unittest import mock

import numpy as np
import pytest

from benchmarks import anomaly as bench
from benchmarks import anomaly_one_class
from gan_tf import data
from gan_tf.applications import anomaly
from gan_tf.evaluation import metrics
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop
from tests.helpers import cli_errors, small_config

NORMAL = 0
OTHERS = tuple(c for c in range(10) if c != NORMAL)


@pytest.fixture(scope="module")
def one_class_run(tmp_path_factory):
    """A small MLP GAN trained on the embedded subset's training images of NORMAL only,
    and the images its trainer drew batches from."""
    run_dir = tmp_path_factory.mktemp("only_zero")
    with mock.patch.object(data, "make_dataset", wraps=data.make_dataset) as make_dataset:
        loop.train(small_config(output_dir=str(run_dir), exclude_classes=OTHERS, max_steps=300,
                                 batch_size=32))
    return str(run_dir), make_dataset.call_args.args[0]


def test_trains_on_the_normal_digit_alone(one_class_run):
    _, seen = one_class_run
    full = data.load_mnist_5k()
    np.testing.assert_array_equal(seen, full.train_images[full.train_labels == NORMAL])
    assert len(seen) == 400


def test_other_digits_rank_above_held_out_normal_ones(one_class_run):
    config, g, d, _ = restore_models(one_class_run[0])
    full = data.load_mnist_5k()
    reference = data.without_classes(full, config.exclude_classes).train_images
    scores = anomaly.score(g, d, full.test_images, reference, config.z_dim,
                           config.z_distribution, scores=("features",), neighbours=3)
    assert metrics.auroc(scores["features"], full.test_labels != NORMAL) > 0.7
    # neighbours reaches the feature score: k=3 over D's features of the same images.
    _, features = anomaly.discriminator_outputs(d, full.test_images)
    _, ref_features = anomaly.discriminator_outputs(d, reference)
    np.testing.assert_allclose(scores["features"], anomaly.feature_scores_from_features(
        features, ref_features, neighbours=3), rtol=1e-6)


def test_command_features_k_must_be_below_the_normal_digits_training_images(one_class_run,
                                                                            tmp_path):
    """--features_k=400 is refused: the reference is the 400 training zeros, not all 4,000."""
    run_dir = one_class_run[0]
    cases = [[f"--run_dir={run_dir}", f"--features_k={k}", f"--out={tmp_path}/{k}.csv"]
             for k in (400, 0)]
    (code, err), (code0, err0) = cli_errors("gan_tf.anomaly", *cases)
    assert code == 2 and err.strip().splitlines()[-1].endswith(
        "--features_k=400: must be below the run's 400 training images")
    assert code0 != 0 and "features_k" in err0.strip().splitlines()[-1]
    assert not list(tmp_path.iterdir())


FAKE = [  # two digits' results as anomaly_one_class.run_digit returns them
    {"digit": 3, "auroc": {"discriminator": 0.6, "features": 0.9, "inversion": 0.5},
     "train_images": 400, "test_images": 1000, "test_normal": 100,
     "train_seconds": 120.4, "score_seconds": 60.6},
    {"digit": 7, "auroc": {"discriminator": 0.8, "features": 0.95, "inversion": 0.7},
     "train_images": 400, "test_images": 1000, "test_normal": 100,
     "train_seconds": 110.0, "score_seconds": 59.0},
]
HEADER = {"command": "python benchmarks/anomaly.py --protocol=one_class --digits=3,7",
          "max_steps": 3000, "machine": {"cpu": "AMD EPYC", "cores": 2}, "dataset": "mnist_5k",
          "features_k": 5}


def test_results_file_holds_per_digit_and_mean_auroc_of_each_score(tmp_path):
    out = tmp_path / "results" / "one_class.json"
    anomaly_one_class.save(str(out), anomaly_one_class.summarize(HEADER, FAKE, 350.0))
    with open(out, encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["protocol"] == "one_class" and saved["total_seconds"] == 350.0
    assert saved["command"] == HEADER["command"] and saved["digits"] == FAKE
    assert list(saved["auroc"]) == list(anomaly.SCORES)
    assert saved["auroc"]["features"] == {"per_digit": {"3": 0.9, "7": 0.95},
                                          "mean_auroc": pytest.approx(0.925)}
    assert saved["auroc"]["inversion"]["mean_auroc"] == pytest.approx(0.6)
    lines = bench.any_table(saved).splitlines()
    assert "mnist_5k (400 training images per class)" in lines[0] and "5.8 min" in lines[0]
    assert lines[2] == ("| normal digit | training images | discriminator | features | "
                        "inversion | train s | score s |")
    assert lines[4:] == ["| 3 | 400 | 0.600 | 0.900 | 0.500 | 120 | 61 |",
                         "| 7 | 400 | 0.800 | 0.950 | 0.700 | 110 | 59 |",
                         "| **mean** | | **0.700** | **0.925** | **0.600** | | |"]


@pytest.mark.parametrize("argv", [["--digits=1,1"], ["--digits=10"], ["--max_steps=0"],
                                  ["--features_k=-1"], ["--dataset=mnist"],
                                  ["--protocol=one_class", "--data_dir=/no/such/dir"]])
def test_benchmark_refuses_bad_arguments_before_training(argv):
    with pytest.raises(SystemExit) as e:
        bench.parse_args(argv)
    assert e.value.code == 2


def test_benchmark_arguments_reach_the_one_class_run():
    args = bench.parse_args(["--protocol=one_class", "--digits=2,5",
                             '--train_flags=--diffaugment=translation,cutout --g_ema=0.999'])
    assert args.digits == [2, 5] and args.features_k == anomaly.FEATURE_NEIGHBOURS
    assert args.max_steps == 2000 and bench.parse_args([]).max_steps == 4000
    assert args.train_flags == ["--diffaugment=translation,cutout", "--g_ema=0.999"]
    assert args.out.endswith("docs/results/anomaly_one_class.json")
