"""train_main.py: flagfiles, the default run directory, the offline default, and the
errors found after the flags (its flag errors are in tests/commands/test_common.py)."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest
from absl import flags

from gan_tf import models, runs
from gan_tf.commands import train_flags
from tests.helpers import MAIN, ROOT, cli_errors, run_main
from tests.idx_files import write_idx_set


def test_bad_files_and_folders_are_one_line_exit_1_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_idx_set(str(data_dir))
    path = data_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])  # truncated
    cases = {  # what is wrong -> (arguments, what the line names)
        "unwritable output dir": (["--dataset=mnist_5k", f"--output_dir={blocker}/run"],
                                  "--output_dir"),
        "truncated data file": ([f"--data_dir={data_dir}", f"--output_dir={tmp_path}/run1"],
                                "train-images-idx3-ubyte.gz"),
        "missing TF1 checkpoint": ([f"--init_from_tf1_checkpoint={tmp_path / 'nope'}",
                                    f"--output_dir={tmp_path}/run2"], "nope"),
    }
    results = cli_errors("train_main", *[args + ["--max_steps=1"] for args, _ in cases.values()])
    for (what, (_, named)), (code, stderr) in zip(cases.items(), results):
        lines = stderr.strip().splitlines()
        assert code == 1 and "Traceback" not in stderr, (what, stderr)
        assert lines[-1].startswith("train_main.py: error:") and named in lines[-1], what
    assert sorted(os.listdir(tmp_path)) == ["data", "file"]  # no run directory was made


FLAGFILE_EXPECT = [
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
    ("dcgan_info_cpu.cfg", {"model": "dcgan", "g_channels": [64, 32], "batch_size": 32,
                            "latent_categories": 10, "info_weight": 1.0, "conditional": False}),
    ("dcgan_info20_cpu.cfg", {"model": "dcgan", "g_channels": [64, 32], "batch_size": 32,
                              "latent_categories": 20, "z_dim": 62, "z_distribution": "uniform",
                              "conditional": False, "max_steps": 24000}),
    ("dcgan_info20_ms_cpu.cfg", {"model": "dcgan", "latent_categories": 20, "z_dim": 62,
                                 "mode_seeking_weight": 0.2, "d_learning_rate": 0.001,
                                 "conditional": False, "max_steps": 24000}),
    ("dcgan_info20_ms_b64_cpu.cfg", {"model": "dcgan", "latent_categories": 20, "z_dim": 62,
                                     "mode_seeking_weight": 0.2, "d_learning_rate": 0.001,
                                     "batch_size": 64, "code_prior": "learned",
                                     "conditional": False, "max_steps": 24000}),
    ("dcgan_info20_ms_b64_cov_cpu.cfg", {"model": "dcgan", "latent_categories": 20,
                                         "mode_seeking_weight": 0.2, "batch_size": 64,
                                         "code_prior": "learned", "coverage_weight": 1.0,
                                         "conditional": False, "max_steps": 18000,
                                         "eval_every": 3000}),
    ("mlp_info.cfg", {"model": "mlp", "g_hidden": [256, 512, 1024], "batch_size": 128,
                      "latent_categories": 10, "conditional": False}),
    ("mlp_info_wide_bcr.cfg", {"model": "mlp", "d_hidden": [1024, 512], "bcr_weight": 1.0,
                               "latent_categories": 10, "conditional": False,
                               "max_steps": 20000}),
    ("mlp_info_wide_bcr_cpu.cfg", {"model": "mlp", "d_hidden": [1024, 512], "bcr_weight": 1.0,
                                   "latent_categories": 10, "conditional": False,
                                   "g_ema": 0.999, "mixed_precision": "native",
                                   "batch_size": 128, "max_steps": 30000}),
    ("mlp_info_wide_bcr_b96_cpu.cfg", {"model": "mlp", "d_hidden": [1024, 512],
                                       "g_hidden": [256, 512, 1024], "bcr_weight": 1.0,
                                       "latent_categories": 10, "conditional": False,
                                       "g_ema": 0.999, "mixed_precision": "native",
                                       "batch_size": 96, "max_steps": 26000}),
]


def test_every_shipped_flagfile_is_checked():
    """A flagfile added to flags/ without a case in FLAGFILE_EXPECT would ship unchecked."""
    assert sorted(os.listdir(os.path.join(ROOT, "flags"))) == sorted(f for f, _ in FLAGFILE_EXPECT)


@pytest.mark.parametrize("flagfile,expect", FLAGFILE_EXPECT)
def test_flagfiles_reach_the_runs_config(flagfile, expect, tmp_path):
    """Each flagfile parses, validates, builds its networks and is what config.json holds."""
    try:
        flags.FLAGS([MAIN, f"--flagfile={os.path.join(ROOT, 'flags', flagfile)}",
                     f"--output_dir={tmp_path}"])
        config = train_flags.to_config(flags.FLAGS)
    finally:
        flags.FLAGS.unparse_flags()
    config.validate()
    models.build(dataclasses.replace(config, dataset="mnist_5k"))
    os.makedirs(config.run_dir, exist_ok=True)
    runs.write_config(config)
    with open(tmp_path / "config.json") as f:
        stored = json.load(f)
    for key, value in expect.items():
        assert stored[key] == value, key
    assert runs.read_config(str(tmp_path)) == config


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


def test_the_console_scripts_name_commands_that_exist():
    """setup.py's console scripts (an installed gan_tf trains without a clone) point at
    gan_tf.commands' functions, one per command line."""
    import re

    from gan_tf.commands import scripts
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        listed = dict(re.findall(r'\("(gan-tf-[\w-]+)", "(\w+)"\)', f.read()))
    assert listed == scripts.SCRIPTS
    assert all(callable(getattr(scripts, function)) for function in listed.values())


def test_gan_tf_train_is_train_main(tmp_path):
    """The console script's function runs the same command: a bad flag, one line, exit 2."""
    result = subprocess.run([sys.executable, "-c", "from gan_tf.commands import scripts; scripts.train()",
                             "--batch_size=0"], capture_output=True, text=True, timeout=300,
                            cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 2 and "--batch_size" in result.stderr.strip().splitlines()[-1]
