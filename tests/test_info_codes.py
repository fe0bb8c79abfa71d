"""benchmarks/info_codes.py: the summary of what an InfoGAN code's values draw, against
counts done by hand, and its refusals before any work."""
import numpy as np
import pytest

from benchmarks.info_codes import alignment, pair_summary


def test_a_summary_counted_by_hand():
    # Three values of 4 draws each, 4 classes: value 0 draws 0,0,0,1; value 1 draws 2,2,1,1
    # (a tie: the lower class is the majority, as argmax takes it); value 2 draws 0 only.
    classes = [[0, 0, 0, 1], [2, 2, 1, 1], [0, 0, 0, 0]]
    out = alignment(classes, num_classes=4)
    assert [v["majority"] for v in out["values"]] == [0, 1, 0]
    assert [v["purity"] for v in out["values"]] == [0.75, 0.5, 1.0]
    assert out["purity"] == pytest.approx((0.75 + 0.5 + 1.0) / 3, abs=1e-4)
    assert out["covered"] == 2 and out["missing"] == [2, 3]
    # Every value equally often: class shares averaged over the values.
    np.testing.assert_allclose(out["histogram"], [(0.75 + 0 + 1) / 3, (0.25 + 0.5) / 3,
                                                  0.5 / 3, 0.0], atol=1e-4)
    assert sum(out["histogram"]) == pytest.approx(1.0, abs=1e-3)


def test_a_code_spent_on_the_classes_is_pure_and_covers_them():
    rng = np.random.default_rng(0)
    perm = rng.permutation(10)
    out = alignment(np.repeat(perm[:, None], 50, axis=1))
    assert out["purity"] == 1.0 and out["covered"] == 10 and out["missing"] == []
    assert [v["majority"] for v in out["values"]] == list(perm)


def test_a_pair_summary_counted_by_hand():
    # Four pairs: (3, 3) and (1, 1) one digit each, (2, 5) and (0, 7) two.
    out = pair_summary([0.1, 0.2, 0.3, 0.5], [3, 3, 2, 5, 1, 1, 0, 7])
    assert out["count"] == 4 and out["same_digit"] == 0.5
    assert out["ratio_median_same_digit"] == pytest.approx(0.2)  # of 0.1 and 0.3
    assert out["ratio_median_other_digit"] == pytest.approx(0.35)  # of 0.2 and 0.5
    assert out["ratio_percentiles"]["50"] == pytest.approx(0.25)
    # two-digit ratios 0.2, 0.5 against one-digit 0.1, 0.3: 0.2 > 0.1, 0.5 > both: 3 of 4
    assert out["separation"] == 0.75
    everyone_same = pair_summary([0.1, 0.2], [4, 4, 6, 6])
    assert everyone_same["same_digit"] == 1.0 and everyone_same["ratio_median_other_digit"] is None
    assert everyone_same["separation"] is None
    tied = pair_summary([0.3, 0.3, 0.1], [1, 1, 2, 3, 4, 5])  # a tie counts half
    assert tied["separation"] == pytest.approx((0.5 + 0) / 2)  # 0.3 ties 0.3, 0.1 < 0.3


@pytest.mark.parametrize("argv,message", [
    (["--samples=0"], "--samples must be from 1 to 10000"),
    (["--out=."], "is a folder"),
    ([], "is not a gan_tf run directory"),
])
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, argv, message):
    from benchmarks import info_codes
    with pytest.raises(SystemExit) as e:
        info_codes.main([str(tmp_path / "not_a_run"), *argv])
    shown = str(e.value.code) if isinstance(e.value.code, str) else capsys.readouterr().err
    assert message in shown and e.value.code != 0
    assert not (tmp_path / "not_a_run").exists()


@pytest.fixture(scope="module")
def info_run(tmp_path_factory):
    """A finished 10-step run with a 3-valued code and no evaluation."""
    from gan_tf.training import loop
    from tests.helpers import run_config
    path = tmp_path_factory.mktemp("info_run") / "run"
    loop.train(run_config(path, max_steps=10, latent_categories=3))
    return path


def test_a_run_is_measured_per_code_value(info_run):
    from benchmarks.info_codes import measure
    out = measure(str(info_run), samples=7)
    assert out["latent_categories"] == 3 and len(out["values"]) == 3
    assert [v["code"] for v in out["values"]] == [0, 1, 2]
    assert all(1 / 7 <= v["purity"] <= 1 for v in out["values"])
    assert out["covered"] == len({v["majority"] for v in out["values"]})
    assert len(out["histogram"]) == 10 and sum(out["histogram"]) == pytest.approx(1, abs=1e-3)
    assert out["final_evaluation"] is None  # trained with --eval_samples=0: no eval.json
    assert out["checkpoint"].startswith("ckpt-") and out["z_dim"] == 100
    for pairs in (out["pairs"], out["pairs_d_features"]):
        assert pairs["count"] == 1000 and 0 <= pairs["same_digit"] <= 1
    assert out["pairs"]["same_digit"] == out["pairs_d_features"]["same_digit"]  # the same draws
    assert out["pairs"]["ratio_percentiles"] != out["pairs_d_features"]["ratio_percentiles"]
    prior = out["q_prior"]
    assert len(prior["prior"]) == 3 and sum(prior["prior"]) == pytest.approx(1, abs=1e-3)
    for served in ("uniform", "q_marginal"):
        assert set(prior[served]) == {"classifier_score", "modes", "recall", "precision",
                                      "frechet_distance"}
        assert 1 <= prior[served]["classifier_score"] <= 10


def _no_restore(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("restored a checkpoint: the refusal came after the work")
    monkeypatch.setattr("gan_tf.runs.restore.restore_models", fail)


def test_a_run_without_a_code_is_refused_before_any_work(small_run, monkeypatch):
    from benchmarks.info_codes import measure
    _no_restore(monkeypatch)
    with pytest.raises(SystemExit, match="has no categorical code"):
        measure(str(small_run), samples=5)


def test_its_own_evaluation_is_read_and_a_damaged_one_refused_first(info_run, tmp_path,
                                                                       monkeypatch):
    import json
    import shutil
    from benchmarks.info_codes import final_evaluation, measure
    run = tmp_path / "run"
    shutil.copytree(info_run, run)
    final = {"step": 10, "classifier_score": 1.5, "modes": 2, "recall": 0.1, "precision": 0.2,
             "frechet_distance": 300.0, "mode_kl": 1.0}
    (run / "eval.json").write_text(json.dumps({"final": final}))
    assert final_evaluation(str(run)) == {k: v for k, v in final.items() if k != "mode_kl"}
    (run / "eval.json").write_text(json.dumps({"final": None}))
    assert final_evaluation(str(run)) is None
    (run / "eval.json").write_text("{damaged")
    _no_restore(monkeypatch)
    with pytest.raises(SystemExit, match="cannot read a run's evaluations"):
        measure(str(run), samples=5)
