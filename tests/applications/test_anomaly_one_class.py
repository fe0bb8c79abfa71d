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
from gan_tf.data import files
from gan_tf.applications import anomaly
from gan_tf.evaluation import metrics
from gan_tf.runs.restore import restore_models
from gan_tf.training import loop
from tests import idx_files
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


def fake_run(c, seed, features, inversion=0.5):
    """One (class, seed) result as anomaly_one_class.run_class returns it."""
    return {"class": c, "seed": seed,
            "auroc": {"discriminator": 0.6, "features": features, "inversion": inversion},
            "train_images": 400, "test_images": 1000, "test_normal": 100,
            "train_seconds": 120.0, "score_seconds": 60.0, "seconds": 181.0}


HEADER = {"command": "python benchmarks/anomaly.py --protocol=one_class --classes=3,7",
          "max_steps": 3000, "machine": {"cpu": "AMD EPYC", "cores": 2}, "dataset": "mnist_5k",
          "features_k": 5}
RUNS = [fake_run(3, 0, 0.9), fake_run(7, 0, 0.95, 0.7), fake_run(3, 1, 0.8), fake_run(7, 1, 0.85)]


def test_results_hold_per_class_means_ranges_and_per_seed_means(tmp_path):
    out = tmp_path / "results" / "one_class.json"
    baseline = {"k": 5, "per_class": {"3": 0.7, "7": 0.9}, "seconds": 2.0}
    anomaly_one_class.save(str(out), anomaly_one_class.summarize(HEADER, RUNS, baseline))
    saved = anomaly_one_class.load(str(out))
    assert saved["protocol"] == "one_class" and saved["total_seconds"] == 4 * 181.0 + 2.0
    assert saved["classes"] == [3, 7] and saved["seeds"] == [0, 1]
    assert list(saved["auroc"]) == [*anomaly.BASE_SCORES, anomaly_one_class.KNN]
    features = saved["auroc"]["features"]
    assert features["per_class"]["3"] == {"mean": pytest.approx(0.85), "min": 0.8, "max": 0.9,
                                          "seeds": 2}
    assert features["mean_auroc"] == pytest.approx(0.875)
    assert features["mean_auroc_per_seed"] == {"0": pytest.approx(0.925),
                                               "1": pytest.approx(0.825)}
    assert saved["auroc"]["knn_pixels"]["mean_auroc"] == pytest.approx(0.8)
    lines = bench.any_table(saved).splitlines()
    assert "mnist_5k (400 training images per class, 1,000 test images)" in lines[0]
    assert "seeds 0, 1 (mean, and min-max over seeds)" in lines[0] and "12.1 min" in lines[0]
    assert lines[2] == ("| normal class | discriminator | features | inversion | knn_pixels "
                        "| train s | score s |")
    assert lines[4] == ("| 3 | 0.600 (0.600-0.600) | 0.850 (0.800-0.900) | 0.500 (0.500-0.500)"
                        " | 0.700 | 120 | 60 |")
    assert lines[6] == ("| **mean** | **0.600** (0.600-0.600) | **0.875** (0.825-0.925) | "
                        "**0.550** (0.500-0.600) | **0.800** | | |")
    assert len(lines) == 7  # no published rows for mnist_5k


def test_a_seed_missing_a_class_has_no_per_seed_mean():
    results = anomaly_one_class.summarize(HEADER, RUNS[:3])
    assert results["auroc"]["features"]["mean_auroc_per_seed"] == {"0": pytest.approx(0.925)}
    assert results["auroc"]["features"]["mean_auroc"] == pytest.approx((0.85 + 0.95) / 2)


def test_fashion_table_sits_beside_the_published_rows():
    runs = [{**fake_run(c, 0, 0.9 + c / 100), "train_images": 6000, "test_images": 10000}
            for c in range(10)]
    results = anomaly_one_class.summarize({**HEADER, "dataset": "fashion_mnist"}, runs,
                                          {"k": 3, "per_class": {"0": 0.8}, "seconds": 1.0})
    table = bench.any_table(results).splitlines()
    assert table[4].startswith("| 0 T-shirt/top | 0.600 | 0.900 |")
    published = table[table.index("") + 1 + table[2:].index("") + 1:]
    assert published[0].startswith("| method | 0 T-shirt/top | 1 trouser |")
    assert published[2].startswith("| gan_tf, features score (mean of 1 seed) | 90.0 | 91.0 |")
    assert published[2].endswith("| **94.5** | this page |")
    assert published[3] == "| k-nearest neighbours on pixels, k = 3 | 80.0 |" + "  |" * 9 + "  | this page |"
    assert ("| GOAD (Bergman & Hoshen 2020) | 94.1 | 98.5 | 90.8 | 91.6 | 91.4 | 94.8 | 83.4 | "
            "97.9 | 98.9 | 99.2 | 94.1 | GOAD Table 2 |") in published
    assert published[-1] == ("| ADGAN (Deecke et al. 2018) |" + "  |" * 10
                             + " 88.4 | GEOM Table 1 |")  # a mean, no class published


def test_an_older_single_seed_file_reads_as_runs_of_its_seed(tmp_path):
    old = {**HEADER, "protocol": "one_class", "seed": 4, "digits": [
        {k: v for k, v in {**fake_run(3, 0, 0.9), "digit": 3}.items() if k not in ("class", "seed")}],
        "auroc": {}, "total_seconds": 1.0}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    results = anomaly_one_class.load(str(path))
    assert [(r["class"], r["seed"]) for r in results["runs"]] == [(3, 4)]
    assert results["auroc"]["features"]["mean_auroc"] == pytest.approx(0.9)


@pytest.mark.parametrize("text", ["[1, 2]", '{"protocol": "one_class", "runs": [{"class": "3"}]}',
                                  '{"protocol": "one_class", "runs": 5}', "{" * 100000])
def test_a_damaged_results_file_is_refused(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        anomaly_one_class.load(str(path))


def test_resume_keeps_runs_of_the_same_settings_and_refuses_others():
    settings = {"dataset": "mnist_5k", "max_steps": 3000, "features_k": 5}
    previous = {**anomaly_one_class.summarize(HEADER, RUNS), "settings": settings}
    assert set(anomaly_one_class.done_runs(previous, settings, "x.json")) == {
        (3, 0), (7, 0), (3, 1), (7, 1)}
    with pytest.raises(ValueError, match=r"x.json holds runs made with other settings "
                                         r"\(max_steps\)"):
        anomaly_one_class.done_runs(previous, {**settings, "max_steps": 10}, "x.json")
    assert anomaly_one_class.done_runs(None, settings, "x.json") == {}


def test_knn_pixel_scores_match_a_brute_force_reference():
    rng = np.random.default_rng(0)
    images, reference = rng.uniform(-1, 1, (37, 28, 28, 1)), rng.uniform(-1, 1, (50, 28, 28, 1))
    distances = np.linalg.norm(images.reshape(37, 1, -1) - reference.reshape(1, 50, -1), axis=2)
    expected = np.sort(distances, axis=1)[:, :3].mean(axis=1)
    np.testing.assert_allclose(anomaly_one_class.knn_pixel_scores(images, reference, 3,
                                                                  batch_size=10),
                               expected, rtol=1e-5)


@pytest.mark.parametrize("argv", [["--digits=1,1"], ["--classes=10"], ["--max_steps=0"],
                                  ["--features_k=-1"], ["--dataset=mnist"],
                                  ["--protocol=one_class", "--data_dir=/no/such/dir"],
                                  ["--seeds=0,0"], ["--seeds=-1"], ["--seeds=0,1"],
                                  ["--scores=features,loss"], ["--flagfile=/no/such.cfg"],
                                  ["--scores=features,combined"],
                                  ["--scores=rotation", "--train_flags=--rotation_weight=0"],
                                  ["--scores=rotation", "--train_flags=--rotation_weight=1 "
                                                        "--rotation_weight=0"]])
def test_benchmark_refuses_bad_arguments_before_training(argv):
    with pytest.raises(SystemExit) as e:
        bench.parse_args(argv)
    assert e.value.code == 2


def test_benchmark_takes_the_head_scores_when_the_flags_or_flagfile_give_the_head(tmp_path):
    args = bench.parse_args(["--scores=features,combined",
                             "--train_flags=--rotation_weight=0.5"])
    assert args.scores == ["features", "combined"]
    flagfile = tmp_path / "ss.cfg"
    flagfile.write_text("--model=dcgan\n--rotation_weight=1\n")
    assert bench.parse_args(["--scores=rotation", f"--flagfile={flagfile}"]).scores == \
        ["rotation"]


def test_benchmark_arguments_reach_the_one_class_run():
    args = bench.parse_args(["--protocol=one_class", "--digits=2,5", "--seeds=3,1",
                             "--scores=features,discriminator",
                             '--train_flags=--diffaugment=translation,cutout --g_ema=0.999'])
    assert args.classes == [2, 5] and args.features_k == anomaly.FEATURE_NEIGHBOURS
    assert args.seeds == [3, 1] and args.scores == ["discriminator", "features"]
    assert args.max_steps == 2000 and bench.parse_args([]).max_steps == 4000
    assert args.train_flags == ["--diffaugment=translation,cutout", "--g_ema=0.999"]
    assert args.out.endswith("docs/results/anomaly_one_class.json")
    fashion = bench.parse_args(["--protocol=one_class", "--dataset=fashion_mnist"])
    assert fashion.out.endswith("docs/results/anomaly_fashion_one_class.json")
    assert fashion.max_steps == bench.MAX_STEPS["one_class_fashion_mnist"]
    assert (fashion.features_k, fashion.inversion_steps) == (1000, 50)
    assert (args.features_k, args.inversion_steps) == (5, 200)


def fake_fashion(directory, per_class_train=12, per_class_test=4):
    """Four IDX files of random 28x28 images, every class equally often: (test images
    scaled as gan_tf reads them, test labels, train images scaled, train labels)."""
    rng = np.random.default_rng(1)
    arrays = {}
    for split, per_class in (("train", per_class_train), ("test", per_class_test)):
        labels = np.tile(np.arange(10, dtype=np.uint8), per_class)
        images = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        image_stem, label_stem = files.IDX_FILES[split]
        idx_files.write_idx(str(directory / (image_stem + ".gz")), images)
        idx_files.write_idx(str(directory / (label_stem + ".gz")), labels)
        arrays[split] = (data.scale_images(images[..., None]), labels)
    return arrays


@pytest.mark.parametrize("extra,names", [
    ([], anomaly.BASE_SCORES),
    (["--train_flags=--rotation_weight=1", "--scores=features,rotation,combined"],
     ("features", "rotation", "combined")),
])
def test_fashion_protocol_end_to_end_on_two_classes_then_resumes(tmp_path, capsys, extra,
                                                                  names):
    """The Fashion-MNIST protocol with a tiny MLP GAN for 3 steps on two classes of fake
    IDX files (and with the rotation head and its scores): every score's AUROC and the
    pixel baseline's per class, the progress lines, the published rows; a rerun with the
    same settings trains nothing."""
    fashion = tmp_path / "fashion"
    fashion.mkdir()
    arrays = fake_fashion(fashion)
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text("--model=mlp\n--g_hidden=16\n--d_hidden=16\n--z_dim=8\n--batch_size=4\n")
    out = tmp_path / "fashion_one_class.json"
    argv = ["--protocol=one_class", "--dataset=fashion_mnist", f"--data_dir={fashion}",
            "--classes=0,6", "--max_steps=3", "--inversion_steps=2", "--features_k=2", "--knn_k=3",
            f"--flagfile={flagfile}", f"--work_dir={tmp_path / 'work'}", f"--out={out}", *extra]
    bench.main(argv)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"[1/2] class 0 T-shirt/top, seed 0: {names[0]} ")
    assert printed[1].startswith("[2/2] class 6 shirt, seed 0: ")
    results = anomaly_one_class.load(str(out))
    assert results["dataset"] == "fashion_mnist" and results["classes"] == [0, 6]
    test_images, test_labels = arrays["test"]
    train_images, train_labels = arrays["train"]
    for r in results["runs"]:
        assert r["train_images"] == 12 and r["test_images"] == 40 and r["test_normal"] == 4
        assert list(r["auroc"]) == list(names)
        assert all(0.0 <= a <= 1.0 for a in r["auroc"].values())
        knn = anomaly_one_class.knn_pixel_scores(test_images,
                                                 train_images[train_labels == r["class"]], 3)
        assert results["baseline"]["per_class"][str(r["class"])] == pytest.approx(
            metrics.auroc(knn, test_labels != r["class"]))
    assert any(line.startswith("| GOAD (Bergman & Hoshen 2020) | 94.1 |") for line in printed)
    for name in {"features", "combined"} & set(names):  # ours beside the published rows
        assert any(line.startswith(f"| gan_tf, {name} score (mean of 1 seed) | ")
                   for line in printed)
    assert any(" steps with --rotation_weight=1, " in line for line in printed) == bool(extra)
    assert any(line.startswith("| 6 shirt | ") for line in printed)

    with mock.patch.object(anomaly_one_class.anomaly_runs, "train") as train:
        bench.main(argv)
    train.assert_not_called()
    assert "resuming" in capsys.readouterr().out
    assert anomaly_one_class.load(str(out))["runs"] == results["runs"]


def test_fashion_protocol_refuses_other_settings_in_its_results_file(tmp_path, capsys):
    fashion = tmp_path / "fashion"
    fashion.mkdir()
    fake_fashion(fashion)
    out = tmp_path / "results.json"
    out.write_text(json.dumps({**anomaly_one_class.summarize(HEADER, RUNS), "settings": {}}))
    before = out.read_text()
    with pytest.raises(SystemExit, match="holds runs made with other settings"):
        bench.main(["--protocol=one_class", "--dataset=fashion_mnist", f"--data_dir={fashion}",
                    f"--out={out}", f"--work_dir={tmp_path / 'work'}"])
    assert out.read_text() == before and not any((tmp_path / "work").iterdir())


def test_fashion_protocol_without_the_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", str(tmp_path / "none"))
    with pytest.raises(SystemExit, match="apt-get install dataset-fashion-mnist"):
        bench.main(["--protocol=one_class", "--dataset=fashion_mnist",
                    f"--out={tmp_path / 'r.json'}", f"--work_dir={tmp_path / 'work'}"])
    assert not (tmp_path / "r.json").exists()


def test_leave_one_out_table_of_the_shipped_results_shows_the_scores_they_hold():
    """docs/results/anomaly.json (the three scores of 0.3.3) prints its table, as the
    results of a run with fewer scores than gan_tf.anomaly knows do."""
    with open(bench.ROOT + "/docs/results/anomaly.json", encoding="utf-8") as f:
        results = json.load(f)
    lines = bench.any_table(results).splitlines()
    assert lines[0] == ("| held-out digit | " + " | ".join(anomaly.BASE_SCORES)
                        + " | train s | score s |")
    assert lines[2].startswith(f"| 0 | {results['digits'][0]['auroc']['discriminator']:.3f} |")
    assert lines[-1].startswith("| MNIST vs Fashion-MNIST | ")


def test_the_benchmarks_runs_go_beside_its_results_not_to_a_fixed_folder_in_tmp(tmp_path):
    from benchmarks import anomaly as bench
    args = bench.parse_args([f"--out={tmp_path / 'r.json'}"])
    assert args.work_dir == str(tmp_path / "r_runs")
    args = bench.parse_args([f"--out={tmp_path / 'r.json'}", f"--work_dir={tmp_path / 'w'}"])
    assert args.work_dir == str(tmp_path / "w")
