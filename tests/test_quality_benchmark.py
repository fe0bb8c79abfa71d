"""benchmarks/quality.py without training: the command each run gets (time budget or the
flagfile's own length) and the refusals of settings it cannot honour."""
import json
import os
import subprocess
import sys

import pytest

from benchmarks import quality


@pytest.fixture
def commands(monkeypatch):
    """quality.run's train_main.py calls, answered with a metrics.jsonl of two records."""
    made = []

    def fake_run(cmd, **kwargs):
        made.append(cmd)
        out = next(a.split("=", 1)[1] for a in cmd if a.startswith("--output_dir="))
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "metrics.jsonl"), "w") as f:
            for step in (1000, 2000):
                f.write(json.dumps(dict(step=step, time=1.0 + step, steps_per_sec=50.0,
                                        classifier_score=7.0, frechet_distance=9.0, modes=10,
                                        mode_kl=0.0, precision=0.5, recall=0.5)) + "\n")
        return subprocess.CompletedProcess(cmd, 0, "", "")
    monkeypatch.setattr(quality.subprocess, "run", fake_run)
    return made


def test_a_run_to_its_length_has_no_time_budget(commands, tmp_path):
    result = quality.run("dcgan_cpu@0", ["--seed=0"], 600, 1000, str(tmp_path), steps=24000)
    cmd = commands[-1]
    assert "--max_steps=24000" in cmd and not any(a.startswith("--max_seconds") for a in cmd)
    assert result["summary"]["steps"] == 2000
    quality.run("dcgan_cpu@0", ["--seed=0"], 600, 1000, str(tmp_path))
    assert "--max_steps=100000000" in commands[-1] and "--max_seconds=588" in commands[-1]


@pytest.mark.parametrize("args,message", [
    (["--to_length", "--suite=tricks"], "--to_length is for --suite=flagfiles"),
    (["--to_length", "--runs=dcgan_cpu", "--eval_every=5000"], "not a multiple of its "
                                                               "evaluation interval 5000"),
])
def test_settings_it_cannot_honour_are_refused_before_training(args, message, monkeypatch,
                                                              capsys, commands):
    monkeypatch.setattr(sys, "argv", ["quality.py", *args])
    with pytest.raises(SystemExit) as stop:
        quality.main()
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert commands == []
