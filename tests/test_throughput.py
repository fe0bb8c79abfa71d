"""benchmarks/throughput.py's harness: the TF1 baselines train, and the variants' processes
take turns (the least-run next) until each has run its time."""
import numpy as np
import pytest

from benchmarks import throughput, throughput_variants


@pytest.mark.parametrize("name", throughput_variants.TF1_VARIANTS)
def test_each_tf1_baseline_trains_the_notebook_graph(name):
    images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype(np.float32)
    step, per_call = getattr(throughput_variants, name)(images, 16)
    gan = step.gan
    before = gan.sess.run(gan.d_vars + gan.g_vars)
    for _ in range(4):  # past an epoch of 40 images at batch 16: the fast feed reshuffles
        step()
    after = gan.sess.run(gan.d_vars + gan.g_vars)
    assert per_call == 1
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))


class FakeWorker:
    """Answers "run SECONDS" with steps at a fixed rate, noting each turn."""

    def __init__(self, name, rate, turns):
        self.name, self.rate, self.turns = name, rate, turns

    def ask(self, line):
        seconds = float(line.split()[1])
        self.turns.append(self.name)
        return {"steps": int(self.rate * seconds), "seconds": seconds}


def test_variants_take_turns_until_each_has_run_its_time():
    turns = []
    workers = {"a": FakeWorker("a", 100, turns), "b": FakeWorker("b", 50, turns)}
    rates = throughput.interleaved_rates(workers, 2.0)
    assert rates == {"a": 100.0, "b": 50.0}
    assert turns == ["a", "b"] * 4  # 2 s in turns of 0.5 s, alternating


def test_importing_the_benchmark_leaves_the_environment_alone():
    """The suite's other tests start commands that must see the caller's environment as
    conftest left it (TensorFlow's log level unset): this module imports the benchmark."""
    import os
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
