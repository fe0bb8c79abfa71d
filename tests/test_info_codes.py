"""benchmarks/info_codes.py: the summary of what an InfoGAN code's values draw, against
counts done by hand, and its refusals before any work."""
import numpy as np
import pytest

from benchmarks.info_codes import alignment


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


@pytest.mark.parametrize("argv,message", [
    (["--samples=0"], "--samples must be from 1 to 10000"),
    (["--out=."], "is a directory"),
    ([], "is not a gan_tf run directory"),
])
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, argv, message):
    from benchmarks import info_codes
    with pytest.raises(SystemExit) as e:
        info_codes.main([str(tmp_path / "not_a_run"), *argv])
    shown = str(e.value.code) if isinstance(e.value.code, str) else capsys.readouterr().err
    assert message in shown and e.value.code != 0
    assert not (tmp_path / "not_a_run").exists()
