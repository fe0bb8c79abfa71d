"""Legacy TF1 model functions under gan_tf (gan_tf.tf1.network.Network, --model=tf1): three legacy
styles trained in graph mode and saved with a full Saver (tests/tf1_graph.py) load by
name, reproduce the graph's outputs, train, resume, export, and go back to the graph."""
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from gan_tf import errors, models, runs
from gan_tf.applications import export, sampling
from gan_tf.runs.restore import restore_models
from gan_tf.tf1 import checkpoints as tf1_checkpoints
from gan_tf.tf1.network import Network
from gan_tf.training import loop
from gan_tf.training.steps import METRIC_KEYS
from tests.helpers import ROOT, cli_errors, records, run_config, run_main, snapshot
from tests.legacy_models import wrappers
from tests.tf1_graph import LegacyGraph

Z_DIM = 8
BATCH = wrappers.BATCH_SIZE  # the legacy graph's: the ops style's generator fixes it
# the notebook's D takes images flat; tfgan and slim: tf.contrib.layers / slim under arg_scope
FLAT = {"mlp": True, "layers": False, "ops": False, "tfgan": False, "slim": False}
STYLES = tuple(FLAT)
G_EMA = 0.5  # the runs keep an EMA generator: a second copy of the legacy function


def network(style, role):
    fn = getattr(wrappers, f"{style}_{role}")
    flat = role == "discriminator" and FLAT[style]
    return Network(fn, role, input_shape=(784,) if flat else None)


def tf1_config(style, run_dir, **overrides):
    """A --model=tf1 run of the style's wrappers (run_config's schedule, no MLP sizes)."""
    values = dict(model="tf1", generator_fn=f"tests.legacy_models.wrappers:{style}_generator",
                  discriminator_fn=f"tests.legacy_models.wrappers:{style}_discriminator",
                  discriminator_input="flat" if FLAT[style] else None, z_dim=Z_DIM,
                  g_hidden=None, d_hidden=None, batch_size=16, log_every=1, checkpoint_every=2)
    return run_config(run_dir, **{**values, **overrides})


@pytest.fixture(scope="module", autouse=True)
def op_determinism_as_it_was():
    """--deterministic runs turn op determinism on for the whole process: off again after."""
    was_on = tf_config.is_op_determinism_enabled()
    yield
    if not was_on:
        tf_config.disable_op_determinism()


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """legacy(style): (the style's legacy graph trained 3 steps, its full Saver checkpoint,
    test inputs z and x of the graph's fixed batch size), made once per style."""
    made = {}

    def make(style):
        if style not in made:
            graph = LegacyGraph(style, FLAT[style], Z_DIM)
            rng = np.random.default_rng(0)
            graph.train(3, rng)
            prefix = graph.save(str(tmp_path_factory.mktemp(style) / "model.ckpt"))
            z = rng.uniform(-1, 1, (BATCH, Z_DIM)).astype(np.float32)
            x = rng.uniform(-1, 1, (BATCH, 28, 28, 1)).astype(np.float32)
            made[style] = graph, prefix, z, x
        return made[style]
    return make


def start_config(style, run_dir, prefix, max_steps, **overrides):
    """A run from the legacy checkpoint `prefix`, --deterministic, with an EMA generator."""
    return tf1_config(style, run_dir, max_steps=max_steps, init_from_tf1_checkpoint=prefix,
                      deterministic=True, g_ema=G_EMA, **overrides)


@pytest.fixture(scope="module")
def trained(legacy, tmp_path_factory):
    """trained(style): the run dir of start_config trained 2 steps, then resumed to step 3;
    made once per style and shared read-only."""
    made = {}

    def make(style):
        if style not in made:
            run_dir = tmp_path_factory.mktemp(f"{style}_run") / "run"
            prefix = legacy(style)[1]
            loop.train(start_config(style, run_dir, prefix, 2))
            loop.train(tf1_config(style, run_dir, max_steps=3, g_ema=G_EMA))  # from step 2
            made[style] = run_dir
        return made[style]
    return make


def assert_outputs_match(graph_outputs, generator, discriminator, z, x):
    """G(z) in inference and training mode and D(x) against the graph's, eager and traced."""
    for mode, training in (("inference", False), ("training", True)):
        ours = generator(z, training=training, update_stats=False)[0].numpy()
        np.testing.assert_allclose(ours.reshape(graph_outputs[mode].shape), graph_outputs[mode],
                                   atol=1e-5, err_msg=mode)
    traced = tf.function(lambda z: generator(z, training=False)[0])(tf.constant(z)).numpy()
    np.testing.assert_allclose(traced.reshape(graph_outputs["inference"].shape),
                               graph_outputs["inference"], atol=1e-5)
    np.testing.assert_allclose(discriminator(x)[1].numpy(), graph_outputs["d_logits"], atol=1e-5)


@pytest.mark.parametrize("style", STYLES)
def test_legacy_checkpoint_loads_by_name_and_reproduces_the_graph(legacy, style):
    graph, prefix, z, x = legacy(style)
    generator, discriminator = network(style, "generator"), network(style, "discriminator")
    loaded = tf1_checkpoints.load_tf1_checkpoint(prefix, generator, discriminator)  # built from shapes
    assert sorted(loaded) == graph.variable_names()
    assert sorted(v.name.split(":")[0] for v in generator.variables + discriminator.variables) \
        == graph.variable_names()
    assert all(v.name.startswith("generator/") for v in generator.trainable_variables)
    assert_outputs_match(graph.outputs(z, x), generator, discriminator, z, x)


@pytest.mark.parametrize("style", ["tfgan", "slim"])
def test_contrib_and_slim_regularization_losses_equal_the_graphs(legacy, style):
    """The two families under arg_scope (weights_regularizer / biases_regularizer on every
    layer): each network's regularization loss at the checkpoint's weights is the real TF1
    layers' (tf_slim), term for term summed."""
    graph, prefix, _, _ = legacy(style)
    generator, discriminator = network(style, "generator"), network(style, "discriminator")
    tf1_checkpoints.load_tf1_checkpoint(prefix, generator, discriminator)
    expected = graph.regularization()
    assert expected["generator"] > 0 and expected["discriminator"] > 0
    for role, net in (("generator", generator), ("discriminator", discriminator)):
        np.testing.assert_allclose(float(net.regularization_loss()), expected[role], rtol=1e-5)


def metrics(run_dir):
    return [[r[k] for k in ("step",) + METRIC_KEYS] for r in records(run_dir)]


@pytest.mark.parametrize("style", STYLES)
def test_a_run_trains_from_it_resumes_and_exports_back_to_the_graph(legacy, trained, style,
                                                                     tmp_path):
    graph, _, z, x = legacy(style)
    run_dir = trained(style)
    assert [r[0] for r in metrics(run_dir)] == [1, 2, 3]
    functions = tuple(getattr(tf1_config(style, run_dir), f"{role}_fn")
                      for role in ("generator", "discriminator"))
    stored, generator, discriminator, _ = restore_models(str(run_dir), functions)
    assert (stored.generator_fn, stored.discriminator_fn) == functions
    assert {v.name.split("/")[0] for v in generator.variables} == {"generator"}  # the EMA copy
    out = tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / "tf1" / "model.ckpt"),
                                       [generator, discriminator])
    names = sorted(n for n, _ in tf.train.list_variables(out))
    assert names == graph.variable_names()
    graph.restore_model(out)  # the legacy code restores gan_tf's export
    assert_outputs_match(graph.outputs(z, x), generator, discriminator, z, x)
    images = sampling.draw(generator, 4, Z_DIM)  # another batch size than the graph's
    assert images.shape == (4, 28, 28) and np.all(np.abs(images) <= 1)
    if style == "ops":  # its generator fixes the batch size: the SavedModel takes any
        export.export_saved_model(generator, Z_DIM, str(tmp_path / "saved"))
        served = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"]
        np.testing.assert_allclose(served(z=tf.constant(z[:3]))["images"].numpy(),
                                   generator(z[:3])[0].numpy(), atol=1e-6)


def test_a_model_with_dropout_resumes_exactly(legacy, trained, tmp_path):
    """The tf.layers style's D has two dropouts, seeded per step: the run trained 2 steps
    and resumed to 3 equals one trained 3 steps at once."""
    loop.train(start_config("layers", tmp_path / "whole", legacy("layers")[1], 3))
    assert metrics(tmp_path / "whole") == metrics(trained("layers"))


def test_the_d_step_keeps_g_statistics():
    g = network("layers", "generator")
    g(tf.zeros([2, Z_DIM]))
    before = snapshot(g)
    g(tf.random.uniform([4, Z_DIM]), training=True, update_stats=False)
    assert all(np.array_equal(before[v.name], v.numpy()) for v in g.variables)
    g(tf.random.uniform([4, Z_DIM]), training=True)
    moving = {v.name: v for v in g.variables}["generator/batch_normalization/moving_mean:0"]
    assert not np.array_equal(before[moving.name], moving.numpy())


def _bad_module(tmp_path):
    (tmp_path / "bad_gan.py").write_text(
        "import tensorflow as tf\n"
        "from gan_tf import tf1\n"
        "not_a_function = 3\n"
        "def wrong_shape(z, training):\n"
        "    with tf1.variable_scope('generator'):\n"
        "        w = tf1.get_variable('w', [z.shape[-1], 10])\n"
        "    return tf.matmul(z, w)\n"
        "def elsewhere(z, training):\n"
        "    with tf1.variable_scope('G'):\n"
        "        w = tf1.get_variable('w', [z.shape[-1], 784])\n"
        "    return tf.tanh(tf.matmul(z, w))\n")


def test_bad_model_functions_are_one_line_errors_before_training(tmp_path):
    _bad_module(tmp_path)
    d = "--discriminator_fn=tests.legacy_models.wrappers:mlp_discriminator"
    base = ["--dataset=mnist_5k", "--eval_samples=0", "--max_steps=1", d,
            "--discriminator_input=flat", f"--output_dir={tmp_path / 'run'}"]
    cases = [["--generator_fn=no_such_module:generator", *base],
             ["--generator_fn=bad_gan:not_a_function", *base],
             ["--generator_fn=bad_gan:missing", *base],
             ["--generator_fn=bad_gan:wrong_shape", *base],
             ["--generator_fn=bad_gan:elsewhere", *base],
             ["--generator_fn=bad_gan", *base],
             ["--generator_fn=bad_gan:elsewhere", "--conditional", *base],
             ["--generator_fn=bad_gan:elsewhere", "--g_hidden=8", *base],
             ["--generator_fn=bad_gan:elsewhere", "--model=dcgan", *base],
             ["--discriminator_input=flat"]]
    results = cli_errors("train_main", *cases, cwd=tmp_path)
    expected = ["cannot import no_such_module (ModuleNotFoundError",
                "bad_gan:not_a_function is not callable (a int)",
                "bad_gan has no missing",
                "returns 10 values per example; a generator returns an image's 784",
                "created no variables under the scope generator/ (it created G/w",
                "--generator_fn=bad_gan: must be MODULE:FUNCTION",
                "--conditional: needs gan_tf's own models",
                "--g_hidden: sizes gan_tf's own architectures",
                "--generator_fn: is for legacy model functions (--model=tf1), not --model=dcgan",
                "--discriminator_input: is for legacy model functions"]
    for (code, stderr), text in zip(results, expected):
        lines = stderr.strip().splitlines()
        assert code != 0 and "Traceback" not in stderr and text in lines[-1], stderr[-800:]
    assert not os.path.exists(tmp_path / "run")


def test_the_command_line_trains_a_legacy_module_from_the_working_directory(tmp_path):
    """One train_main process: MODULE found in the working directory, config.json."""
    (tmp_path / "my_gan.py").write_text(
        "from tests.legacy_models.wrappers import mlp_generator as g, mlp_discriminator as d\n")
    result = run_main("--generator_fn=my_gan:g", "--discriminator_fn=my_gan:d", "--z_dim=8",
                      "--discriminator_input=flat",
                      "--dataset=mnist_5k", "--batch_size=8", "--max_steps=2",
                      "--eval_samples=0", f"--output_dir={tmp_path / 'run'}", cwd=tmp_path,
                      env={"PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-2000:]
    config = runs.read_config(str(tmp_path / "run"))
    assert (config.model, config.generator_fn) == ("tf1", "my_gan:g")


def test_unbuilt_gan_tf_models_load_from_the_checkpoint_shapes(tmp_path):
    g, d = models.build(run_config(tmp_path, z_dim=5))
    prefix = tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / "ck" / "m.ckpt"), [g, d])
    fresh = models.mlp.Generator(hidden=(32,)), models.mlp.Discriminator(hidden=(32,))
    tf1_checkpoints.load_tf1_checkpoint(prefix, *fresh)
    z = np.random.default_rng(0).uniform(-1, 1, (2, 5)).astype(np.float32)
    np.testing.assert_allclose(fresh[0](z)[0].numpy(), g(z)[0].numpy(), atol=1e-6)
    with pytest.raises(errors.PortingError, match="call it once first"):
        tf1_checkpoints.load_tf1_checkpoint(prefix, models.dcgan.Generator(name="other"))


def test_two_replicas_train_a_legacy_mlp_as_one_device_does(legacy, trained, tmp_path):
    """--strategy=mirrored: the legacy variables are created under the strategy's scope."""
    loop.train(start_config("mlp", tmp_path / "two", legacy("mlp")[1], 2,
                             strategy="mirrored", cpu_devices=2))
    np.testing.assert_allclose(metrics(tmp_path / "two"), metrics(trained("mlp"))[:2],
                               atol=1e-5)


def test_a_run_imports_only_the_functions_its_command_line_names(trained, tmp_path):
    run_dir = str(trained("mlp"))
    config = tf1_config("mlp", run_dir)
    with pytest.raises(errors.RunError, match="only train_main.py, gan_tf.sample and gan_tf.exp"):
        restore_models(run_dir)  # a command that takes no functions (anomaly, augment)
    # config.json names the code, but a command line that names none or others imports nothing
    for given in ((None, None), (config.generator_fn, "os:system")):
        with pytest.raises(errors.RunError, match="imports only the code the command line names"):
            restore_models(run_dir, given)
    assert sampling.draw(restore_models(
        run_dir, (config.generator_fn, config.discriminator_fn))[1], 2, Z_DIM).shape == (2, 28, 28)
    # On the command line: refused without the functions; with them, a legacy checkpoint
    # (the run's, written under its TF1 names) samples as the run does.
    _, generator, discriminator, _ = restore_models(
        run_dir, (config.generator_fn, config.discriminator_fn))
    legacy_ckpt = tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / "tf1" / "m.ckpt"), [generator])
    g_flag = f"--generator_fn={config.generator_fn}"
    results = cli_errors("gan_tf.sample",
                         [f"--run_dir={run_dir}", f"--out={tmp_path / 'x.npy'}"],
                         [f"--run_dir={run_dir}", g_flag, f"--discriminator_fn={config.discriminator_fn}",
                          f"--out={tmp_path / 'run.npy'}", "--interpolation_rows=0"],
                         [f"--tf1_checkpoint={legacy_ckpt}", g_flag, "--z_distribution=uniform",
                          f"--out={tmp_path / 'tf1.npy'}", "--interpolation_rows=0"])
    (code, stderr), *ok = results
    assert code == 1 and "pass them to restore it (got neither)" in stderr.strip().splitlines()[-1]
    assert not os.path.exists(tmp_path / "x.npy") and [c for c, _ in ok] == [0, 0], ok
    np.testing.assert_allclose(np.load(tmp_path / "tf1.npy"), np.load(tmp_path / "run.npy"),
                               atol=1e-6)


def test_legacy_modules_that_fail_only_in_training_or_at_import_are_one_line(tmp_path):
    """Issue 25 (6, 9, 10): a Keras layer's variables were silently never trained nor
    saved; sys.exit or argparse at import exited 0 or blamed train_main's flags; new
    variables on each call and variables without a gradient failed at the first trace."""
    g = ("def g(z, training):\n"
         "    with tf1.variable_scope('generator'):\n"
         "        w = tf1.get_variable('w', [z.shape[-1], 784])\n"
         "    return tf.tanh(tf.matmul(z, w))\n")
    head = "import tensorflow as tf\nfrom gan_tf import tf1\n"
    (tmp_path / "keras_gan.py").write_text(
        head + "dense = tf.keras.layers.Dense(784)\ndense.build((None, 8))\n"
        "def g(z, training):\n"
        "    with tf1.variable_scope('generator'):\n"
        "        w = tf1.get_variable('w', [z.shape[-1], 784])\n"
        "    return tf.tanh(tf.matmul(z, w) + dense(z))\n")
    (tmp_path / "exits_gan.py").write_text(head + "import sys\nsys.exit(0)\n" + g)
    (tmp_path / "argparse_gan.py").write_text(
        head + "import argparse\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--epochs', type=int, required=True)\n"
        "args = parser.parse_args()\n" + g)
    (tmp_path / "train_gan.py").write_text(
        head + "import itertools\ncalls = itertools.count()\n"
        "def fresh(z, training):\n"
        "    with tf1.variable_scope('generator'):\n"
        "        w = tf1.get_variable(f'w{next(calls)}', [z.shape[-1], 784])\n"
        "    return tf.tanh(tf.matmul(z, w))\n"
        "def stuck(x, training):\n"
        "    with tf1.variable_scope('discriminator'):\n"
        "        w = tf1.get_variable('w', [784, 1])\n"
        "        b = tf1.get_variable('b', [1])\n"
        "    return tf.matmul(tf.reshape(x, [-1, 784]), tf.stop_gradient(w)) + b\n" + g)
    d = "--discriminator_fn=tests.legacy_models.wrappers:mlp_discriminator"
    base = ["--dataset=mnist_5k", "--eval_samples=0", "--max_steps=2", "--z_dim=8",
            "--batch_size=8", "--discriminator_input=flat", f"--output_dir={tmp_path / 'run'}"]
    cases = [["--generator_fn=keras_gan:g", d, *base],
             ["--generator_fn=exits_gan:g", d, *base],
             ["--generator_fn=argparse_gan:g", d, *base],
             ["--generator_fn=train_gan:fresh", d, *base],
             ["--generator_fn=train_gan:g", "--discriminator_fn=train_gan:stuck", *base]]
    expected = ["keras_gan:g uses variables made outside tf.compat.v1.get_variable (dense/kernel",
                "importing exits_gan exited (status 0)",
                "importing argparse_gan exited (status 2) saying",
                "train_gan:fresh fails in a training step on a batch of [8, 8]",
                "train_gan:stuck: no gradient reaches discriminator/w"]
    results = cli_errors("train_main", *cases, cwd=tmp_path)
    for (code, stderr), text in zip(results, expected):
        lines = stderr.strip().splitlines()
        assert code == 1 and "Traceback" not in stderr and text in lines[-1], stderr[-800:]
        assert len(lines) == 1, stderr[-800:]
    assert not os.path.exists(tmp_path / "run")


def test_a_make_template_generator_gives_each_network_its_own_variables(tmp_path):
    """Issue 27: tf.make_template as forwarded bound its variables to the first store that
    called it (the throwaway check network), so the real network got none."""
    from gan_tf.tf1 import make_template
    from gan_tf.tf1.network import Network

    def generator_fn(z, training, units=8):
        from gan_tf import tf1
        h = tf1.layers.dense(z, units, activation=tf.nn.relu)
        return tf.tanh(tf1.layers.dense(h, 784))

    template = make_template("generator", generator_fn, units=6)  # built once, at import

    def generator(z, training):
        return template(z, training)

    first, second = Network(generator, "generator"), Network(generator, "generator")
    z = tf.random.uniform([3, Z_DIM])
    first(z)
    second(z)
    names = sorted(first.tf1_variables)
    assert names == sorted(second.tf1_variables) == [
        "generator/dense/bias", "generator/dense/kernel",
        "generator/dense_1/bias", "generator/dense_1/kernel"]
    assert first.tf1_variables["generator/dense/kernel"].shape == (Z_DIM, 6)
    assert all(first.tf1_variables[n] is not second.tf1_variables[n] for n in names)
    again, _ = first(z)  # reused, not created again, also when traced
    traced, _ = tf.function(lambda x: first(x))(z)
    np.testing.assert_allclose(traced.numpy(), again.numpy(), atol=1e-6)
    assert sorted(first.tf1_variables) == names and len(first.variables) == 4


def regularized_config(**overrides):
    from gan_tf.config import TrainConfig
    values = dict(model="tf1", generator_fn="tests.legacy_models.regularized:generator",
                  discriminator_fn="tests.legacy_models.regularized:discriminator",
                  dataset="mnist_5k", batch_size=8, z_dim=8, eval_samples=0, g_learning_rate=0.05,
                  d_learning_rate=0.05)
    return TrainConfig(**{**values, **overrides})


@pytest.mark.parametrize("regularize", [True, False])
def test_legacy_regularizers_join_their_networks_losses(regularize):
    """Issue 27: kernel_regularizer= and get_variable(regularizer=) were refused or
    silently dropped; they are added to their network's loss and logged, unless
    --tf1_regularization=false."""
    from gan_tf.training.steps import GANTrainer
    from tests.legacy_models import regularized
    config = regularized_config(tf1_regularization=regularize)
    g, d = models.build(config)
    kernel = g.tf1_variables["generator/dense/kernel"].numpy()
    w = d.tf1_variables["discriminator/w"].numpy()
    expected_g = regularized.G_SCALE * np.sum(kernel ** 2) / 2
    expected_d = regularized.D_SCALE * np.sum(np.abs(w))
    assert sorted(g.regularization_losses()) == ["generator/dense/kernel:0"]
    np.testing.assert_allclose(g.regularization_loss().numpy(), expected_g, rtol=1e-5)
    np.testing.assert_allclose(d.regularization_loss().numpy(), expected_d, rtol=1e-5)
    trainer = GANTrainer(config, g, d)
    assert ("g_reg_loss" in trainer.metric_keys) == regularize
    real = tf.random.uniform([8, 28, 28, 1], -1, 1)
    d_metrics = tf.function(trainer.discriminator_step)(real)
    g_metrics = tf.function(trainer.generator_step)()
    if regularize:
        np.testing.assert_allclose(d_metrics["d_reg_loss"].numpy(), expected_d, rtol=1e-5)
        np.testing.assert_allclose(g_metrics["g_reg_loss"].numpy(), expected_g, rtol=1e-5)
    else:
        assert "d_reg_loss" not in d_metrics and "g_reg_loss" not in g_metrics


def test_a_legacy_regularizer_pulls_its_weights_in_training():
    """The L1 term's gradient, scale * sign(w), reaches D's update only when it is on:
    from the same weights, ten D steps shrink |w| more with it than without."""
    from gan_tf.training.steps import GANTrainer
    real = tf.random.uniform([8, 28, 28, 1], -1, 1, seed=1)
    norms = {}
    start = None
    for regularize in (True, False):
        config = regularized_config(tf1_regularization=regularize)
        g, d = models.build(config)
        if start is None:
            start = [v.numpy() for v in g.variables + d.variables]
        for v, value in zip(g.variables + d.variables, start):
            v.assign(value)
        trainer = GANTrainer(config, g, d)
        step = tf.function(trainer.discriminator_step)
        for _ in range(10):
            step(real)
        norms[regularize] = np.abs(d.tf1_variables["discriminator/w"].numpy()).sum()
    assert norms[True] < 0.9 * norms[False]


def test_the_regularized_legacy_gan_trains_and_logs_its_regularization(tmp_path):
    from gan_tf.training import loop
    loop.train(regularized_config(output_dir=str(tmp_path), max_steps=4, log_every=2,
                                   checkpoint_every=4))
    logged = records(tmp_path)
    assert [r["step"] for r in logged] == [2, 4]
    assert all(r["g_reg_loss"] > 0 and r["d_reg_loss"] > 0 for r in logged)


def test_a_model_function_reads_its_regularization_losses_as_tf1_code_did():
    """tf.losses.get_regularization_loss(scope) and get_collection(REGULARIZATION_LOSSES)
    inside a model function return the terms of its own network's store."""
    from gan_tf import tf1
    from gan_tf.tf1.network import Network
    seen = {}

    def generator(z, training):
        with tf1.variable_scope("generator"):
            h = tf1.layers.dense(z, 4, kernel_regularizer=tf1.contrib.layers.l2_regularizer(2.0))
            out = tf.tanh(tf1.layers.dense(h, 784))
        seen["total"] = tf1.losses.get_regularization_loss("generator")
        seen["other_scope"] = tf1.losses.get_regularization_loss("discriminator")
        seen["collection"] = tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)
        return out

    g = Network(generator, "generator")
    g(tf.zeros([2, Z_DIM]))
    kernel = g.tf1_variables["generator/dense/kernel"].numpy()
    np.testing.assert_allclose(seen["total"].numpy(), np.sum(kernel ** 2), rtol=1e-5)
    assert float(seen["other_scope"]) == 0.0 and len(seen["collection"]) == 1


def test_a_template_generator_and_an_auto_reuse_discriminator_train_resume_and_average(tmp_path):
    """Issue 27: tf.make_template at import, reuse=tf.AUTO_REUSE and reuse_variables():
    the check networks, the trained G and D and the EMA copy each get their own
    variables under TF1's names, and the run trains and resumes."""
    from gan_tf.config import TrainConfig
    from gan_tf.training import loop
    config = TrainConfig(model="tf1", generator_fn="tests.legacy_models.templated:template_generator",
                         discriminator_fn="tests.legacy_models.templated:discriminator",
                         dataset="mnist_5k", batch_size=8, z_dim=8, eval_samples=0, g_ema=0.9,
                         output_dir=str(tmp_path), max_steps=4, log_every=2, checkpoint_every=2)
    loop.train(config)
    g, d = models.build(config)
    assert sorted(g.tf1_variables) == ["generator/dense/bias", "generator/dense/kernel",
                                       "generator/dense_1/bias", "generator/dense_1/kernel"]
    assert g.tf1_variables["generator/dense/kernel"].shape == (8, 12)
    assert sorted(d.tf1_variables) == ["discriminator/hidden/bias", "discriminator/hidden/kernel",
                                       "discriminator/logit/bias", "discriminator/logit/kernel"]
    import dataclasses
    loop.train(dataclasses.replace(config, max_steps=6))
    assert [r["step"] for r in records(tmp_path)] == [2, 4, 6]
