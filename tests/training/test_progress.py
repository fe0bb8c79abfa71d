"""The terminal a person reads: a progress line at most every few seconds (redrawn in
place on a terminal, plain lines otherwise), and no TensorFlow start-up noise."""
import io
import os
import subprocess
import sys

import numpy as np

from tests.helpers import ROOT, main_command, records

KEYS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
NOISE = ("E0000", "I0000", "W0000", "cuInit", "absl::InitializeLog")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def make_progress(stream, clock, max_steps=1000, start=0):
    from gan_tf.training.progress import Progress
    return Progress(max_steps, KEYS, start_step=start, interval=5.0, steps_per_epoch=100,
                    stream=stream, clock=clock)


def rows(n, value=0.5):
    return np.full((n, len(KEYS)), value, np.float32)


def test_prints_at_most_once_per_interval_and_always_the_final_step():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(stream, clock)
    printed = []
    for step in range(10, 1001, 10):  # 100 updates, one second apart
        clock.now += 1.0
        printed.append(progress.update(step, rows(10), final=step == 1000))
    lines = stream.getvalue().splitlines()
    assert sum(printed) == len(lines) == 20  # every 5 s: 20 lines, the last the final step
    assert lines[0].startswith("step 50/1000 epoch 0.50 | d_loss 0.5000")
    assert "10 steps/s ETA 0:01:35" in lines[0]
    assert lines[-1].startswith("step 1000/1000 ") and "ETA 0:00:00" in lines[-1]


def test_final_step_prints_even_within_the_interval():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(stream, clock, max_steps=20)
    clock.now += 0.5
    assert not progress.update(10, rows(10))
    clock.now += 0.5
    assert progress.update(20, rows(10), final=True)
    assert stream.getvalue().splitlines() == [
        "step 20/20 epoch 0.20 | d_loss 0.5000 (real 0.5000 fake 0.5000) g_loss 0.5000 | "
        "D(x) 0.500 D(G(z)) 0.500 | 20 steps/s ETA 0:00:00"]


def test_losses_are_the_mean_since_the_last_line():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(stream, clock)
    clock.now += 5
    progress.update(10, np.concatenate([rows(5, 1.0), rows(5, 2.0)]))
    clock.now += 5
    progress.update(20, rows(10, 3.0))
    first, second = stream.getvalue().splitlines()
    assert "d_loss 1.5000" in first and "d_loss 3.0000" in second


def test_a_terminal_gets_one_line_redrawn_in_place():
    stream, clock = FakeTerminal(), FakeClock()
    progress = make_progress(stream, clock, max_steps=30)
    for step in (10, 20):
        clock.now += 5
        progress.update(step, rows(10))
    text = stream.getvalue()
    assert text.count("\r") == 2 and "\n" not in text
    progress.end_line()  # before a line of its own (an evaluation, a checkpoint)
    progress.end_line()  # once only
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1
    clock.now += 1
    progress.update(30, rows(10), final=True)
    assert stream.getvalue().endswith("ETA 0:00:00\n")


def test_tensorflow_import_is_quiet_and_skips_sklearn_through_cli():
    code = ("import sys, gan_tf.commands.common; import tensorflow as tf; tf.constant(1) + 1; "
            "tf.keras.optimizers.Adam(); print('sklearn' in sys.modules); "
            "import sklearn; print(sklearn.__name__)")  # later imports still work
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=ENV, cwd=ROOT)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["False", "sklearn"]


def test_a_run_prints_few_lines_and_no_tensorflow_noise(tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run(main_command(f"--output_dir={run_dir}", "--eval_samples=0",
                                         "--max_steps=300", "--log_every=1"),
                            capture_output=True, text=True, timeout=300, env=ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(records(run_dir)) == 300  # --log_every decides the records...
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) < 30, result.stderr[-3000:]  # ...not the terminal's lines
    assert not [line for line in lines if any(n in line for n in NOISE)], result.stderr
    assert "step 300/300 " in result.stderr and "Done: step 300." in lines[-1]


def test_a_failing_tensorflow_import_shows_what_it_printed(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'E0000 libcuda.so: cannot open shared object file\\n')\n"
        "raise ImportError('broken install')\n")
    code = "import gan_tf.commands.common; import tensorflow"
    env = dict(ENV, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=env, cwd=ROOT)
    assert result.returncode == 1
    assert "E0000 libcuda.so" in result.stderr and "ImportError: broken install" in result.stderr
