"""The command line: flag errors, flagfiles, the default run directory, the offline default."""
import json
import os
import pickle
import subprocess
import sys

import pytest

from tests.idx_files import write_idx_set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "train_main.py")


def run_main(*args, cwd=None, env=None, timeout=300):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, MAIN, *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,flag", [
    (["--batch_size=0"], "--batch_size"),
    (["--z_dim=-3"], "--z_dim"),
    (["--epochs=0"], "--epochs"),
    (["--max_steps=0"], "--max_steps"),
    (["--log_every=0"], "--log_every"),
    (["--sample_every=-1"], "--sample_every"),
    (["--checkpoint_every=0"], "--checkpoint_every"),
    (["--d_steps_per_g_step=0"], "--d_steps_per_g_step"),
    (["--num_samples=0"], "--num_samples"),
    (["--model=resnet"], "--model"),
    (["--dataset=cifar10"], "--dataset"),
    (["--z_distribution=cauchy"], "--z_distribution"),
    (["--optimizer=sgd"], "--optimizer"),
    (["--label_smoothing=0"], "--label_smoothing"),
    (["--label_smoothing=1.5"], "--label_smoothing"),
    (["--g_learning_rate=-0.1"], "--g_learning_rate"),
    (["--d_beta1=1.0"], "--d_beta1"),
    (["--g_hidden=128,abc"], "--g_hidden"),
    (["--d_hidden=0"], "--d_hidden"),
    (["--g_channels=64"], "--g_channels"),
    (["--dropout=1"], "--dropout"),
    (["--leak=-1"], "--leak"),
    (["--seed=-1"], "--seed"),
    (["--batch_size=ten"], "--batch_size"),
    (["--init=zeros"], "--init"),
    (["--instance_noise=-0.1"], "--instance_noise"),
    (["--instance_noise_steps=0"], "--instance_noise_steps"),
    (["--label_flip=0.5"], "--label_flip"),
    (["--g_ema=1"], "--g_ema"),
    (["--d_translate=9"], "--d_translate"),
    (["--eval_every=0"], "--eval_every"),
    (["--eval_samples=2"], "--eval_samples"),
    (["--max_seconds=0"], "--max_seconds"),
    (["--exclude_classes=3,10"], "--exclude_classes"),
    (["--no_such_flag=1"], "no_such_flag"),
])
def test_invalid_flag_exits_with_one_line_naming_it(args, flag, tmp_path):
    result = run_main(*args, f"--output_dir={tmp_path}/run")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert flag in lines[0] and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "run")  # nothing started


def test_positional_arguments_are_refused():
    result = run_main("extra")
    assert result.returncode == 2 and "unexpected arguments" in result.stderr


def test_unwritable_output_dir_is_one_line_and_nonzero(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_main("--dataset=mnist_5k", "--max_steps=1", f"--output_dir={blocker}/run")
    assert result.returncode == 1
    assert "--output_dir" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("train_main.py: error:")


def test_bad_data_dir_is_one_line_and_nonzero(tmp_path):
    write_idx_set(str(tmp_path))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])  # truncated
    result = run_main(f"--data_dir={tmp_path}", "--max_steps=1", f"--output_dir={tmp_path}/run")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "train-images-idx3-ubyte.gz" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("flagfile,expect", [
    ("tf1_mnist.cfg", {"model": "mlp", "g_hidden": [128], "leak": 0.01, "batch_size": 100,
                       "g_learning_rate": 0.002, "z_distribution": "uniform"}),
    ("keras_mlp_mnist.cfg", {"g_hidden": [256, 512, 1024], "g_batchnorm": True,
                             "bn_momentum": 0.8, "d_hidden": [512, 256], "leak": 0.2,
                             "z_dim": 128, "z_distribution": "normal", "g_beta1": 0.5,
                             "batch_size": 128}),
    ("dcgan_mnist.cfg", {"model": "dcgan", "optimizer": "rmsprop", "d_learning_rate": 0.0002,
                         "g_learning_rate": 0.0001, "batch_size": 256, "dropout": 0.3,
                         "leak": 0.3}),
    ("dcgan_cpu.cfg", {"model": "dcgan", "g_channels": [64, 32], "d_channels": [32, 64],
                       "batch_size": 32, "dropout": 0.0, "g_learning_rate": 0.0005,
                       "eval_every": 2000}),
])
def test_flagfiles_start_a_run(flagfile, expect, tmp_path):
    out = tmp_path / "run"
    result = run_main(f"--flagfile={os.path.join(ROOT, 'flags', flagfile)}", "--dataset=mnist_5k",
                      "--max_steps=3", "--log_every=1", f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "config.json") as f:
        config = json.load(f)
    for key, value in expect.items():
        assert config[key] == value, key
    with open(out / "train_losses.pkl", "rb") as f:
        assert len(pickle.load(f)) == 3
    assert "step 3/3" in result.stderr


def test_default_run_uses_offline_fallback_and_default_dir(tmp_path):
    # HOME points at an empty directory: no Keras cache; the download goes to a proxy on a
    # closed local port, so it fails at once, here and on a machine that is online.
    closed = "http://127.0.0.1:9"
    result = run_main("--max_steps=2", cwd=str(tmp_path),
                      env={"HOME": str(tmp_path), "KERAS_HOME": str(tmp_path / ".keras"),
                           "http_proxy": closed, "https_proxy": closed, "HTTP_PROXY": closed,
                           "HTTPS_PROXY": closed, "no_proxy": "", "NO_PROXY": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "runs" / "mlp_mnist"
    assert (run_dir / "train_losses.pkl").exists() and (run_dir / "losses.png").exists()
    assert result.stderr.count("Full MNIST is not available offline") == 1
    assert "4000 train / 1000 held-out" in result.stderr
