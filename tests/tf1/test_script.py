"""gan_tf.tf1.script: whole legacy TF1 training scripts run with only their import line
changed (`from gan_tf import tf1 as tf`), in a subprocess each, and what they save loads
into gan_tf by name; what cannot be reconciled is one line."""
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data
from gan_tf.errors import ModelFunctionError
from gan_tf.tf1 import checkpoints as tf1_checkpoints
from gan_tf.tf1.network import Network, import_function
from gan_tf.training import loop
from tests.helpers import ROOT, records, run_config
from tests.legacy_scripts import glue, notebook_gan

SCRIPTS = os.path.join(ROOT, "tests", "legacy_scripts")


def run_script(name, cwd, images=200):
    """Runs tests/legacy_scripts/<name>.py in `cwd` holding the first `images` training
    digits as mnist_images.npy ((N, 784) in [0, 1], as the notebook's input_data gave)."""
    digits = data.load_mnist_5k().train_images[:images]  # [-1, 1]
    np.save(cwd / "mnist_images.npy", ((digits.reshape(len(digits), 784) + 1) / 2).astype(np.float32))
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, name + ".py")], cwd=str(cwd),
                          env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                          text=True, timeout=300)


def test_only_the_import_line_differs_from_tf1():
    for name in ("notebook_gan", "dcgan_bn"):
        with open(os.path.join(SCRIPTS, name + ".py"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        imports = [line for line in lines if line.startswith(("import ", "from "))]
        assert [line for line in imports if "tensorflow" in line or "gan_tf" in line] == [
            "from gan_tf import tf1 as tf  # was: import tensorflow as tf"]


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("notebook")
    result = run_script("notebook_gan", cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, result


def test_the_notebook_script_trains_and_writes_what_it_wrote_in_tf1(notebook):
    cwd, result = notebook
    assert result.stdout.count("Discriminator Loss") == notebook_gan.epochs
    with open(cwd / "train_losses.pkl", "rb") as f:
        losses = np.array(pickle.load(f))
    with open(cwd / "train_samples.pkl", "rb") as f:
        samples = pickle.load(f)
    assert losses.shape == (notebook_gan.epochs, 2) and np.isfinite(losses).all()
    assert len(samples) == notebook_gan.epochs and samples[0][0].shape == (16, 784)
    names = sorted(name for name, _ in tf.train.list_variables(str(cwd / "checkpoints")))
    assert names == ["generator/dense/bias", "generator/dense/kernel",
                     "generator/dense_1/bias", "generator/dense_1/kernel"]


def _notebook_forward(checkpoint, z):
    """The notebook's generator in numpy from the checkpoint's own values."""
    w = {n: checkpoint.get_tensor(n) for n in ("generator/dense/kernel", "generator/dense/bias",
                                               "generator/dense_1/kernel", "generator/dense_1/bias")}
    h = z @ w["generator/dense/kernel"] + w["generator/dense/bias"]
    h = np.maximum(notebook_gan.alpha * h, h)
    return np.tanh(h @ w["generator/dense_1/kernel"] + w["generator/dense_1/bias"])


def test_its_checkpoint_loads_by_name_and_a_run_of_its_own_functions_starts_from_it(notebook,
                                                                                     tmp_path):
    cwd, _ = notebook
    prefix = tf.train.latest_checkpoint(str(cwd / "checkpoints"))
    reader = tf.train.load_checkpoint(prefix)
    z = np.random.default_rng(0).uniform(-1, 1, (5, notebook_gan.z_size)).astype(np.float32)
    generator = Network(glue.notebook_generator, "generator")
    loaded = tf1_checkpoints.load_tf1_checkpoint(prefix, generator=generator)
    assert len(loaded) == 4
    np.testing.assert_allclose(generator(z)[0].numpy().reshape(5, 784),
                               _notebook_forward(reader, z), atol=1e-5)
    # train_main.py --model=tf1 with the script's own model functions, from its checkpoint
    # (a generator-only Saver's, as the notebook saved): a learning rate too small to move
    # the weights shows the run started from them.
    config = run_config(tmp_path / "run", model="tf1", g_hidden=None, d_hidden=None,
                        generator_fn="tests.legacy_scripts.glue:notebook_generator",
                        discriminator_fn="tests.legacy_scripts.glue:notebook_discriminator",
                        discriminator_input="flat", z_dim=notebook_gan.z_size, max_steps=2,
                        log_every=1, init_from_tf1_checkpoint=prefix, g_learning_rate=1e-12)
    loop.train(config)
    assert [r["step"] for r in records(tmp_path / "run")] == [1, 2]
    from gan_tf.runs.restore import restore_models
    _, trained, _, _ = restore_models(str(tmp_path / "run"), (config.generator_fn,
                                                              config.discriminator_fn))
    np.testing.assert_allclose(trained(z)[0].numpy().reshape(5, 784),
                               _notebook_forward(reader, z), atol=1e-4)


def test_the_notebook_restores_its_own_checkpoint_and_gan_tf_s_export(notebook, tmp_path):
    """The notebook's sampling cell, a script too, restores what the training script saved,
    and a gan_tf run's TF1 export of the same functions: the script draws what gan_tf does."""
    cwd, _ = notebook
    z = np.random.default_rng(1).uniform(-1, 1, (6, notebook_gan.z_size)).astype(np.float32)
    np.save(cwd / "sample_z.npy", z)
    drawn = subprocess.run([sys.executable, os.path.join(SCRIPTS, "notebook_sample.py")],
                           cwd=str(cwd), env=dict(os.environ, PYTHONPATH=ROOT),
                           capture_output=True, text=True, timeout=300)
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(cwd / "checkpoints")))
    np.testing.assert_allclose(np.load(cwd / "samples.npy"), _notebook_forward(reader, z),
                               atol=1e-5)
    # gan_tf's generator of the same functions, exported as a TF1 checkpoint over the old one
    generator = Network(glue.notebook_generator, "generator")
    generator(z)
    for variable in generator.variables:
        variable.assign(variable + 0.25)  # not the script's weights any more
    shutil.copytree(cwd, tmp_path / "copy", ignore=shutil.ignore_patterns("checkpoints"))
    tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / "copy" / "checkpoints" / "g.ckpt"),
                                         [generator])
    drawn = subprocess.run([sys.executable, os.path.join(SCRIPTS, "notebook_sample.py")],
                           cwd=str(tmp_path / "copy"), env=dict(os.environ, PYTHONPATH=ROOT),
                           capture_output=True, text=True, timeout=300)
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "copy" / "samples.npy"),
                               generator(z)[0].numpy().reshape(6, 784), atol=1e-5)


def test_a_dcgan_script_with_batch_norm_runs_its_update_ops_and_gan_tf_reproduces_it(tmp_path):
    """tf.layers.batch_normalization's moving statistics are updated through UPDATE_OPS in
    the script's graph, as TF1 did; gan_tf loads the full Saver checkpoint by name and
    draws the script's own samples."""
    result = run_script("dcgan_bn", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    moved = float(result.stdout.split("moving_mean_abs_sum")[1].split()[0])
    assert moved > 0  # zeros at the start: the updates ran
    prefix = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert prefix.endswith("model.ckpt-20")
    generator = Network(glue.dcgan_generator, "generator")
    discriminator = Network(glue.dcgan_discriminator, "discriminator")
    loaded = tf1_checkpoints.load_tf1_checkpoint(prefix, generator, discriminator)
    assert "generator/batch_normalization/moving_mean" in loaded
    sample_z = np.linspace(-1, 1, 4 * 16, dtype=np.float32).reshape(4, 16)
    np.testing.assert_allclose(generator(sample_z, training=False)[0].numpy(),
                               np.load(tmp_path / "samples.npy"), atol=1e-5)


def test_a_script_that_mixes_eager_tensors_and_a_graph_is_one_line(tmp_path):
    script = tmp_path / "mixed.py"
    script.write_text("from gan_tf import tf1 as tf\n"
                      "scale = tf.constant(2.0) * 3.0  # eager\n"
                      "x = tf.placeholder(tf.float32, [None, 2])\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gan_tf.errors.TF1PortError: tf.placeholder: this script already "
                           "ran TensorFlow eagerly"), last


def test_a_model_module_that_builds_a_graph_at_import_is_refused_not_run(tmp_path, monkeypatch):
    """Imported by gan_tf for its model functions, a module's own graph code is a model's:
    refused in one line, and the training process stays eager."""
    (tmp_path / "graph_at_import.py").write_text(
        "from gan_tf import tf1 as tf\n"
        "inputs = tf.placeholder(tf.float32, [None, 100])\n"
        "def generator(z, training):\n    return z\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelFunctionError, match="tf.placeholder: cannot work in a model "
                                                 "function") as caught:
        import_function("graph_at_import:generator", "generator_fn")
    assert "\n" not in str(caught.value) and tf.executing_eagerly()
    shutil.rmtree(tmp_path, ignore_errors=True)
