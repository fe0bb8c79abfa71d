"""benchmarks/truncation.py's map of prior codes into |z| <= t, against the truncated
normal's own moments."""
import math

import numpy as np
import pytest
import tensorflow as tf

from benchmarks.truncation import truncate


@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_normal_codes_become_a_truncated_normal_in_the_same_order(t):
    z = tf.random.stateless_normal([200_000], [3, 4])
    out = truncate(z, t, "normal").numpy()
    assert out.dtype == np.float32 and np.abs(out).max() <= t + 1e-6
    order = np.argsort(z.numpy())
    assert np.all(np.diff(out[order]) >= 0)  # monotone: the same samples, pulled inwards
    pdf = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(t / math.sqrt(2))  # P(|z| <= t)
    assert out.var() == pytest.approx(1 - 2 * t * pdf / mass, rel=0.02)
    assert abs(out.mean()) < 0.01


def test_a_wide_truncation_leaves_normal_codes_and_uniform_ones_are_scaled():
    z = tf.random.stateless_normal([1000], [1, 2])
    np.testing.assert_allclose(truncate(z, 7.0, "normal").numpy(), z.numpy(), atol=1e-4)
    u = tf.random.stateless_uniform([1000], [1, 2], -1.0, 1.0)
    np.testing.assert_allclose(truncate(u, 0.5, "uniform").numpy(), 0.5 * u.numpy())
    np.testing.assert_allclose(truncate(u, 3.0, "uniform").numpy(), u.numpy())


@pytest.mark.parametrize("argv,message", [
    (["--t=1,a"], "give comma-separated numbers"),
    (["--t=0"], "levels must be positive"),
    ([], "is not a gan_tf run directory"),
    (["--out=."], "is a folder"),
])
def test_bad_input_is_one_line_before_any_work(tmp_path, monkeypatch, capsys, argv, message):
    from benchmarks import truncation
    monkeypatch.setattr("sys.argv", ["truncation.py", str(tmp_path / "not_a_run"), *argv])
    with pytest.raises(SystemExit) as e:
        truncation.main()
    shown = str(e.value.code) if isinstance(e.value.code, str) else capsys.readouterr().err
    assert message in shown and e.value.code != 0
    assert not (tmp_path / "not_a_run").exists()
