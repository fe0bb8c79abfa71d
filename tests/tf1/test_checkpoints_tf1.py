"""Porting: legacy TF1 checkpoints into gan_tf, gan_tf out to SavedModel and TF1 checkpoints."""
import json
import logging
import os
import pickle

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.legacy_tf1_gan import LegacyGAN  # noqa: E402
from gan_tf import errors  # noqa: E402
from gan_tf import randomness
from gan_tf.config import TrainConfig  # noqa: E402
from gan_tf.models import mlp  # noqa: E402
from gan_tf.tf1 import checkpoints as tf1_checkpoints
from gan_tf.training import loop
from gan_tf.runs.restore import restore_models as restore_models_of  # noqa: E402
from tests.helpers import cli_errors, run_module, z_batch  # noqa: E402


def fresh_models(hidden=(128,)):
    g = mlp.Generator(hidden=hidden)
    d = mlp.Discriminator(hidden=hidden)
    d(g(tf.zeros([1, 100]))[0])
    return g, d


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """A legacy GAN trained a few steps, saved generator-only and in full."""
    gan = LegacyGAN()
    gan.train(5)
    root = tmp_path_factory.mktemp("legacy")
    gan.save(str(root / "g_only"), generator_only=True)
    gan.save(str(root / "full"), generator_only=False)
    return gan, root


def test_generator_only_checkpoint_loads_into_the_generator(legacy):
    gan, root = legacy
    g, _ = fresh_models()
    loaded = tf1_checkpoints.load_tf1_checkpoint(str(root / "g_only"), generator=g)
    assert sorted(loaded) == ["generator/dense/bias", "generator/dense/kernel",
                              "generator/dense_1/bias", "generator/dense_1/kernel"]
    z = z_batch()
    ours, _ = g(z)
    np.testing.assert_allclose(ours.numpy().reshape(-1, 784), gan.generate(z), atol=1e-5)


def test_full_checkpoint_loads_both_and_skips_optimizer_state(legacy):
    gan, root = legacy
    names = {n for n, _ in tf.train.list_variables(str(root / "full" / "generator.ckpt"))}
    assert "generator/dense/kernel/Adam" in names and "beta1_power" in names
    g, d = fresh_models()
    loaded = tf1_checkpoints.load_tf1_checkpoint(str(root / "full" / "generator.ckpt"), g, d)
    assert len(loaded) == 8
    x = np.random.default_rng(2).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(d(x)[1].numpy(), gan.discriminate(x), atol=1e-5)
    z = z_batch()
    np.testing.assert_allclose(g(z)[0].numpy().reshape(-1, 784), gan.generate(z), atol=1e-5)


def test_missing_and_misshaped_variables_are_listed_and_nothing_is_assigned(legacy):
    _, root = legacy
    g, d = fresh_models()
    with pytest.raises(errors.PortingError, match=r"missing: discriminator/dense/bias, "):
        tf1_checkpoints.load_tf1_checkpoint(str(root / "g_only"), g, d)
    small_g, _ = fresh_models(hidden=(64,))
    before = small_g.out.kernel.numpy().copy()
    with pytest.raises(errors.PortingError,
                       match=r"mis-shaped: generator/dense/bias \[128\] != \[64\]"):
        tf1_checkpoints.load_tf1_checkpoint(str(root / "g_only"), generator=small_g)
    np.testing.assert_array_equal(small_g.out.kernel.numpy(), before)


def test_extra_variables_under_a_loaded_scope_are_listed(legacy):
    _, root = legacy
    g = mlp.Generator(hidden=(128,))
    g(tf.zeros([1, 100]))
    # A checkpoint with a third dense layer in the generator scope.
    bigger = mlp.Generator(hidden=(128, 784))
    bigger(tf.zeros([1, 100]))
    prefix = tf1_checkpoints.write_tf1_checkpoint(str(root / "bigger" / "g.ckpt"), [bigger])
    with pytest.raises(errors.PortingError, match=r"extra: generator/dense_2/bias"):
        tf1_checkpoints.load_tf1_checkpoint(prefix, generator=g)


@pytest.mark.parametrize("form", ["dict", "json", "text"])
def test_name_map_renames_scopes(tmp_path, form):
    gan = LegacyGAN(scopes=("gen", "disc"), seed=3)
    gan.save(str(tmp_path / "ckpt"), generator_only=False)
    mapping = {"gen": "generator", "disc/": "discriminator/"}
    if form == "json":
        (tmp_path / "map.json").write_text(json.dumps(mapping))
        mapping = str(tmp_path / "map.json")
    elif form == "text":
        (tmp_path / "map.txt").write_text("# legacy scopes\ngen generator\ndisc/ discriminator/\n")
        mapping = str(tmp_path / "map.txt")
    g, d = fresh_models()
    tf1_checkpoints.load_tf1_checkpoint(str(tmp_path / "ckpt"), g, d, name_map=mapping)
    z = z_batch()
    np.testing.assert_allclose(g(z)[0].numpy().reshape(-1, 784), gan.generate(z), atol=1e-5)
    with pytest.raises(errors.PortingError, match="missing: generator/dense/bias"):
        tf1_checkpoints.load_tf1_checkpoint(str(tmp_path / "ckpt"), fresh_models()[0])


def test_a_checkpoint_under_pattern_characters_is_refused_saying_why(tmp_path, legacy):
    """TensorFlow's reader matches a checkpoint's path as a glob pattern: under ported[1]/
    it found no files and said only that."""
    import shutil
    _, root = legacy
    copy = tmp_path / "ported[1]"
    shutil.copytree(root / "g_only", copy)
    prefix = next(str(copy / n[:-len(".index")]) for n in os.listdir(copy) if n.endswith(".index"))
    for path in (prefix, str(copy)):  # the prefix, and its folder (the state file names it)
        with pytest.raises(errors.PortingError, match=r"ported\[1\].*holds \[, \*, \? or a "
                                                      r"backslash.*rename"):
            tf1_checkpoints.load_tf1_checkpoint(path, generator=fresh_models()[0])


def test_writing_a_checkpoint_under_pattern_characters_is_refused_before_any_file(tmp_path,
                                                                                monkeypatch):
    """A TF1 checkpoint written under out[1]/ could never be read back (the reader takes
    the path as a pattern): refused before the folder or a file is made."""
    g, d = fresh_models()
    for folder in ("out[1]", "o*t", "o?t"):
        with pytest.raises(errors.PortingError, match=r"holds \[, \*, \? or a backslash"):
            tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / folder / "m.ckpt"), [g, d])
    assert os.listdir(tmp_path) == []
    # A relative path is checked as the Saver records it, absolute: here the working
    # folder holds the [.
    (tmp_path / "w[1]").mkdir()
    monkeypatch.chdir(tmp_path / "w[1]")
    with pytest.raises(errors.PortingError, match=r"w\[1\].*holds"):
        tf1_checkpoints.write_tf1_checkpoint("m.ckpt", [g, d])
    assert os.listdir(tmp_path / "w[1]") == []


def test_bad_paths_and_files_are_clear_errors(tmp_path, legacy):
    with pytest.raises(errors.PortingError, match="no TF checkpoint in this directory"):
        tf1_checkpoints.resolve_checkpoint(str(tmp_path))
    with pytest.raises(errors.PortingError, match="expected .*nope.index"):
        tf1_checkpoints.resolve_checkpoint(str(tmp_path / "nope"))
    (tmp_path / "map.txt").write_text("one two three\n")
    with pytest.raises(errors.PortingError, match=r"map.txt:1: expected 'old_name new_name'"):
        tf1_checkpoints.read_name_map(str(tmp_path / "map.txt"))
    # A TF2 object-based checkpoint is not a TF1 one.
    g, _ = fresh_models()
    prefix = tf.train.Checkpoint(generator=g).save(str(tmp_path / "tf2" / "ckpt"))
    with pytest.raises(errors.PortingError, match="TF2 object-based checkpoint"):
        tf1_checkpoints.load_tf1_checkpoint(prefix, generator=g)
    # A corrupt data file.
    _, root = legacy
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in os.listdir(root / "g_only"):
        data = (root / "g_only" / name).read_bytes()
        (corrupt / name).write_bytes(data[: len(data) // 2] if ".data-" in name else data)
    (corrupt / "checkpoint").write_text('model_checkpoint_path: "generator.ckpt"\n')
    with pytest.raises(errors.PortingError, match="generator.ckpt"):
        tf1_checkpoints.load_tf1_checkpoint(str(corrupt), generator=fresh_models()[0])


def test_written_tf1_checkpoint_restores_in_legacy_code(tmp_path):
    g, d = fresh_models()
    prefix = tf1_checkpoints.write_tf1_checkpoint(str(tmp_path / "checkpoints" / "generator.ckpt"), [g, d])
    assert prefix.endswith("generator.ckpt")
    gan = LegacyGAN(seed=9)
    gan.restore_generator(str(tmp_path / "checkpoints"))  # tf.train.latest_checkpoint(dir)
    z = z_batch()
    np.testing.assert_allclose(gan.generate(z), g(z)[0].numpy().reshape(-1, 784), atol=1e-5)
    # And back: the written checkpoint loads into fresh gan_tf models.
    g2, d2 = fresh_models()
    tf1_checkpoints.load_tf1_checkpoint(str(tmp_path / "checkpoints"), g2, d2)
    np.testing.assert_allclose(g2(z)[0], g(z)[0], atol=1e-6)


def test_a_run_starts_from_a_tf1_checkpoint(legacy, tmp_path, caplog):
    gan, root = legacy
    out = tmp_path / "run"
    caplog.set_level(logging.INFO, logger="gan_tf")
    loop.train(TrainConfig(dataset="mnist_5k", init_from_tf1_checkpoint=str(root / "g_only"),
                            max_steps=1, batch_size=16, g_learning_rate=1e-12,
                            d_learning_rate=1e-12, num_samples=4, eval_samples=0,
                            output_dir=str(out),
                            mixed_precision="off"))  # float32, as TF1 computed, whatever auto picks
    assert "Initialised 4 variables from TF1 checkpoint" in caplog.text
    assert "(generator only)" in caplog.text
    with open(out / "train_samples.pkl", "rb") as f:
        samples = pickle.load(f)
    z = randomness.fixed_z(TrainConfig(num_samples=4)).numpy()
    np.testing.assert_allclose(samples[-1].reshape(-1, 784), gan.generate(z), atol=1e-4)


def test_sample_command_from_a_tf1_checkpoint(legacy, tmp_path):
    gan, root = legacy
    out = tmp_path / "legacy.npy"
    result, again = cli_errors(
        "gan_tf.sample", [f"--tf1_checkpoint={root / 'g_only'}", "--num_samples=6", f"--out={out}",
                          "--seed=4"],
        [f"--tf1_checkpoint={root / 'g_only'}", f"--out={out}"])
    assert result[0] == 0, result[1][-2000:]
    images = np.load(out)
    assert images.shape == (6, 28, 28) and images.dtype == np.float32
    z = randomness.latent_codes(6, 100, "uniform", seed=4).numpy()  # the codes of --seed=4
    np.testing.assert_allclose(images.reshape(-1, 784), gan.generate(z), atol=1e-5)
    assert plt.imread(tmp_path / "legacy.png").ndim == 3
    assert again[0] == 2 and "exists" in again[1]  # nothing overwritten


def test_sample_command_from_a_run(short_run, tmp_path):
    out = tmp_path / "s.npy"
    result = run_module("gan_tf.sample", f"--run_dir={short_run}", "--num_samples=10", f"--out={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    images = np.load(out)
    assert images.shape == (10, 28, 28) and -1 <= images.min() and images.max() <= 1
    grid = plt.imread(tmp_path / "s_interpolation.png")  # 8 rows of 10, 3x3 pixels each
    assert grid.shape[:2] == (3 * (8 * 29 + 1), 3 * (10 * 29 + 1))
    assert "s_interpolation.png" in result.stdout  # (not a run: tests/commands/test_common.py)


def test_legacy_sample_viewing_code_runs_on_train_samples(short_run):
    with open(os.path.join(short_run, "train_samples.pkl"), "rb") as f:
        samples = pickle.load(f)

    def view_samples(epoch, samples):  # the legacy notebook's function, unchanged
        fig, axes = plt.subplots(figsize=(7, 7), nrows=4, ncols=4, sharey=True, sharex=True)
        for ax, img in zip(axes.flatten(), samples[epoch]):
            ax.xaxis.set_visible(False)
            ax.yaxis.set_visible(False)
            ax.imshow(img.reshape((28, 28)), cmap="Greys_r")
        return fig, axes

    fig, axes = view_samples(-1, samples)
    assert sum(len(ax.images) for ax in axes.flatten()) == 16
    plt.close(fig)


def test_a_gan_tf_run_warm_starts_another_through_the_advised_export(small_run, tmp_path):
    """Issue 25 (13, 14): the advice 'pass the run directory instead' failed; an export to
    out/ wrote out.index beside the folder."""
    with pytest.raises(errors.PortingError) as error:
        tf1_checkpoints.read_tf1_checkpoint(str(small_run / "checkpoints"))
    advice = str(error.value)
    assert f"gan_tf.export --run_dir={small_run} --tf1_checkpoint_out=DIR/" in advice
    out = tmp_path / "exported"
    (result,) = cli_errors("gan_tf.export", [f"--run_dir={small_run}",
                                             f"--tf1_checkpoint_out={out}/"])
    assert result[0] == 0, result[1][-2000:]
    assert sorted(os.listdir(out)) == ["checkpoint", "model.ckpt.data-00000-of-00001",
                                       "model.ckpt.index", "model.ckpt.meta"]
    assert not os.path.exists(str(out) + ".index")
    from tests.helpers import run_config
    run_dir = tmp_path / "warm"
    loop.train(run_config(run_dir, max_steps=10, init_from_tf1_checkpoint=str(out)))
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["init_from_tf1_checkpoint"] == str(out)
    # On resume the warm start is refused if it changes, and kept in config.json if left out.
    with pytest.raises(errors.RunError, match="applies to new runs only.*ckpt-10"):
        loop.train(run_config(run_dir, max_steps=20,
                               init_from_tf1_checkpoint=str(out / "model.ckpt")))
    loop.train(run_config(run_dir, max_steps=20))
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["init_from_tf1_checkpoint"] == str(out)


def test_a_tf1_warm_start_that_does_not_fit_leaves_the_overwritten_run(small_run, tmp_path):
    """--overwrite --init_from_tf1_checkpoint=X where X does not fit the new models: the
    error comes before the old run is removed, which is kept whole."""
    import shutil
    out = tmp_path / "exported"
    (result,) = cli_errors("gan_tf.export", [f"--run_dir={small_run}",
                                             f"--tf1_checkpoint_out={out}/"])
    assert result[0] == 0, result[1][-2000:]
    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    before = {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*")
              if p.is_file()}
    from tests.helpers import run_config
    with pytest.raises(errors.PortingError, match="shape"):
        loop.train(run_config(run_dir, max_steps=10, g_hidden=(64,), overwrite=True,
                              init_from_tf1_checkpoint=str(out)))
    after = {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*")
             if p.is_file()}
    assert after == before


def _saver_checkpoint(prefix, values):
    """A TF1 Saver checkpoint of {name: array} at `prefix` (and its folder's state file)."""
    graph = tf.Graph()
    with graph.as_default():
        variables = {name: tf.compat.v1.Variable(value, name=f"v{i}")
                     for i, (name, value) in enumerate(sorted(values.items()))}
        saver = tf.compat.v1.train.Saver(var_list=variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return saver.save(sess, str(prefix))


@pytest.mark.parametrize("kernels", [
    [(100, 0), (0, 784)],  # a layer of no units: a division by zero while building
    [(0, 200000), (0, 200000), (0, 0)],  # zero-element kernels describing a 160 GB network
    [(100, 128), (64, 784)],  # layers that do not chain
    [(100, 128), (128, 10)],  # a generator that does not draw 784 pixels
])
def test_a_tf1_mlp_of_impossible_sizes_is_one_line_before_building(tmp_path, kernels):
    values = {f"generator/dense{'' if i == 0 else f'_{i}'}/kernel": np.zeros(k, np.float32)
              for i, k in enumerate(kernels)}
    prefix = _saver_checkpoint(tmp_path / "g.ckpt", values)
    [(code, stderr)] = cli_errors("gan_tf.sample", [f"--tf1_checkpoint={prefix}",
                                                    f"--out={tmp_path}/s.npy"])
    assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr[-2000:]
    assert "generator" in stderr


def test_a_tensor_claiming_more_than_the_data_file_holds_is_refused_before_reading(tmp_path):
    prefix = _saver_checkpoint(tmp_path / "g.ckpt",
                               {"generator/dense/kernel": np.ones((500, 500), np.float32)})
    data_file = tmp_path / "g.ckpt.data-00000-of-00001"
    data_file.write_bytes(data_file.read_bytes()[:1000])
    with pytest.raises(errors.PortingError, match="generator/dense/kernel.*1,000,000 bytes"):
        tf1_checkpoints.read_tf1_checkpoint(prefix)


def test_a_string_tensor_where_weights_go_is_one_error(short_run, tmp_path):
    _, g, d, _ = restore_models_of(short_run)
    values = {n: v.numpy() for n, v in tf1_checkpoints._module_variables(g).items()}
    bias = next(n for n in values if n.endswith("bias"))
    values[bias] = np.array([b"x"] * len(values[bias]), dtype=object)
    prefix = _saver_checkpoint(tmp_path / "g.ckpt", values)
    with pytest.raises(errors.PortingError, match=f"{bias}.*string"):
        tf1_checkpoints.load_tf1_checkpoint(prefix, generator=g)


class _Hung(BaseException):  # not an OSError, which the code under test may catch
    pass


def _within(seconds, call, *args):
    """call(*args), or _Hung after `seconds` (a read of a named pipe would block forever)."""
    import signal

    def stuck(*_):
        raise _Hung(f"{call.__name__} hung")
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(seconds)
    try:
        return call(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("state", [b"", b"\xff\xfe not text", b"garbage {{{", "pipe"])
def test_a_broken_checkpoint_state_file_is_one_error(tmp_path, state):
    if state == "pipe":
        os.mkfifo(tmp_path / "checkpoint")
    else:
        (tmp_path / "checkpoint").write_bytes(state)
    with pytest.raises(errors.PortingError, match="checkpoint"):
        _within(10, tf1_checkpoints.resolve_checkpoint, str(tmp_path))


@pytest.mark.parametrize("kind", ["not_utf8", "pipe", "huge"])
def test_a_name_map_that_is_not_small_text_is_one_error(tmp_path, kind):
    path = tmp_path / "names.txt"
    if kind == "pipe":
        os.mkfifo(path)
    elif kind == "huge":
        path.write_bytes(b"a b\n" * (1 << 19))
    else:
        path.write_bytes(b"generator/a \xff\xfe\n")
    with pytest.raises(errors.PortingError, match="names.txt"):
        _within(10, tf1_checkpoints.read_name_map, str(path))

