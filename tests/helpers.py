"""What several test files share: small configurations, the command lines and their
one-line errors, and readers of a run's files. One definition of each, so that test
files never import one another."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from gan_tf.config import TrainConfig
from gan_tf.errors import ConfigError
from gan_tf.runs import logs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "train_main.py")

# --- configurations -----------------------------------------------------------------

SMALL = {  # the smallest networks of each kind that still exercise it
    "mlp": dict(g_hidden=(32,), d_hidden=(32,)),
    "mlp_bn": dict(g_hidden=(32, 32), d_hidden=(32,), g_batchnorm=True),
    "dcgan": dict(g_channels=(16, 8, 4), d_channels=(4, 8), kernel_size=3),
}


def small_config(kind="mlp", **overrides):
    """A TrainConfig of SMALL[kind] networks on mnist_5k, batch 16, z_dim 8, no
    evaluation (tests of evaluation set eval_samples), computing in float32 whatever the
    CPU (--mixed_precision=auto would choose bfloat16 for a DCGAN on some machines)."""
    model = "dcgan" if kind == "dcgan" else "mlp"
    values = dict(model=model, dataset="mnist_5k", batch_size=16, z_dim=8, eval_samples=0,
                  mixed_precision="off", **SMALL[kind])
    values.update(overrides)
    return TrainConfig(**values)


# The run that main_command() starts, as flags and as the config train.train() takes.
SMALL_FLAGS = ["--dataset=mnist_5k", "--g_hidden=32", "--d_hidden=32", "--batch_size=32",
               "--eval_samples=0"]


def assert_config_refuses(overrides, field, message):
    """TrainConfig(**overrides).validate() raises one line naming --field and `message`."""
    with pytest.raises(ConfigError, match=f"^--{field}: .*{re.escape(message)}") as e:
        TrainConfig(**overrides).validate()
    assert "\n" not in str(e.value)


def run_config(run_dir, **overrides):
    """The configuration of main_command(f"--output_dir={run_dir}", "--log_every=5",
    "--checkpoint_every=10", ...): a run the command line can resume."""
    values = dict(dataset="mnist_5k", output_dir=str(run_dir), g_hidden=(32,), d_hidden=(32,),
                  batch_size=32, eval_samples=0, log_every=5, checkpoint_every=10)
    return TrainConfig(**{**values, **overrides})


# --- command lines -------------------------------------------------------------------

def main_command(*args):
    """train_main.py with SMALL_FLAGS and `args`, as a subprocess argument list."""
    return [sys.executable, MAIN, *SMALL_FLAGS, *args]


def nocap(command):
    """`command` run without root's permission overrides (so that chmod binds root too):
    None where that cannot be arranged (root without setpriv)."""
    import shutil
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        return None
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]


def run_main(*args, cwd=None, env=None, timeout=300):
    """Runs train_main.py with `args` (no SMALL_FLAGS) and returns the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, MAIN, *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_module(module, *args, cwd=None):
    """Runs `python -m module args` with this checkout's gan_tf."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=str(cwd or ROOT),
                          env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=300)


def one_error_line(result):
    """The last line of a command's stderr, after checking there is no traceback."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[-1]


_CLI_CASES = """
import contextlib, importlib, io, json, sys
from absl import flags
from gan_tf.commands import common
from gan_tf._moved import COMMANDS
name, cases = sys.argv[1], json.loads(sys.argv[2])
module = importlib.import_module(COMMANDS.get(name, name))
if hasattr(module, "define_flags"):
    module.define_flags()
results = []
for argv in cases:
    flags.FLAGS.unparse_flags()
    sys.argv = [name + ".py", *argv]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            common.run(module.main, user_errors=module.USER_ERRORS)
            code = 0
        except SystemExit as e:
            code = e.code or 0
    results.append([code, err.getvalue()])
print("\\n" + json.dumps(results))
"""


def cli_errors(module, *cases, cwd=None, env=None):
    """[(exit code, stderr)] of each argument list in `cases` given in turn to `module`'s
    command line (train_main or gan_tf.<tool>) through common.run, all in one Python process
    (with `env` added to the environment): the same parsing and one-line error path as
    `python -m module`, paying TensorFlow's start-up once rather than once per case."""
    result = subprocess.run([sys.executable, "-c", _CLI_CASES, module, json.dumps(cases)],
                            cwd=str(cwd or ROOT), env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [tuple(r) for r in json.loads(result.stdout.strip().splitlines()[-1])]


def z_batch(n=8, seed=1):
    """`n` uniform latent codes of the TF1 notebook's z_dim 100."""
    return np.random.default_rng(seed).uniform(-1, 1, (n, 100)).astype(np.float32)


# --- a run's files -------------------------------------------------------------------

def records(run_dir):
    """The metrics.jsonl records of a run."""
    return logs.read_metrics(os.path.join(str(run_dir), logs.METRICS))


def snapshot(module):
    """{variable name: value} of a tf.Module's variables."""
    return {v.name: v.numpy().copy() for v in module.variables}


def changed(before, module):
    """Names of the variables of `module` that differ from the snapshot `before`."""
    return {v.name for v in module.variables if not np.array_equal(before[v.name], v.numpy())}


# --- legacy TF1 model code (gan_tf.tf1) ------------------------------------------------

def in_store(store, fn, *args, **kwargs):
    """fn(*args, **kwargs) inside a gan_tf.tf1.VariableStore's scope, as gan_tf calls
    legacy model code."""
    with store.scope():
        return fn(*args, **kwargs)


def store_values(store):
    """{TF1 name (no ':0'): numpy value} of a VariableStore's variables, in creation order."""
    return {v.name[:-2]: v.numpy() for v in store.variables()}


def resumed_and_straight(config, tmp_path, steps=80):
    """Metrics records of `config` trained to `steps` in two halves (stopped, then resumed)
    and in one go, in folders split/ and whole/ of tmp_path (log_every=10,
    checkpoint_every=20: the resume starts from the halfway checkpoint)."""
    import dataclasses

    from gan_tf.training import loop
    split = dataclasses.replace(config, output_dir=str(tmp_path / "split"), log_every=10,
                                checkpoint_every=20)
    loop.train(dataclasses.replace(split, max_steps=steps // 2))
    loop.train(dataclasses.replace(split, max_steps=steps))
    loop.train(dataclasses.replace(split, output_dir=str(tmp_path / "whole"), max_steps=steps))
    return records(split.output_dir), records(str(tmp_path / "whole"))
