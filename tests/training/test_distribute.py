"""tf.distribute: two replicas compute what one device does, checkpoints cross strategies,
a two-process cluster on 127.0.0.1 trains and its run resumes in one process.

conftest.py splits the CPU into two logical devices, so MirroredStrategy has two
replicas here.
"""
import os
import pickle
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, errors, models
from gan_tf.models import dcgan
from gan_tf.runs import logs
from gan_tf.training import distribute, loop
from gan_tf.training.steps import METRIC_KEYS, GANTrainer
from tests.helpers import MAIN, ROOT, changed, cli_errors
from tests.helpers import records as read_records
from tests.helpers import small_config, snapshot

IMAGES = np.random.default_rng(0).uniform(-1, 1, (96, 28, 28, 1)).astype(np.float32)


def mirrored():
    strategy = distribute.make_strategy(small_config(strategy="mirrored", cpu_devices=2))
    assert strategy.num_replicas_in_sync == 2
    return strategy


def train_a_few_steps(config, strategy, steps=3):
    """(per-step metrics, final variables) of `steps` steps from the seed's weights."""
    tf.random.set_seed(config.seed)
    with strategy.scope():
        g, d = models.build(config)
        ema = models.build_generator(config, "generator_ema") if config.g_ema else None
        trainer = GANTrainer(config, g, d, ema, strategy)
    labels = np.arange(len(IMAGES)) % 10 if config.conditional else None
    dataset = data.make_dataset(IMAGES, config.batch_size, config.seed, labels=labels)
    iterator = iter(distribute.distribute_dataset(strategy, dataset))
    history, finite = trainer.train_steps(iterator, tf.constant(steps, tf.int64))
    assert bool(finite)
    variables = g.variables + d.variables + (ema.variables if ema else ())
    return history.numpy(), {v.name: v.numpy() for v in variables}


# XLA's CPU kernels round differently from the plain ones and the mirrored step is not
# XLA-compiled, so both sides run without it; dropout masks are drawn per replica.
@pytest.mark.parametrize("kind,options", [
    ("mlp", {}),
    ("mlp_bn", dict(d_steps_per_g_step=2)),  # batch norm in G: synchronised statistics
    ("dcgan", dict(dropout=0.0)),  # joint updates, batch norm after every layer of G
    ("dcgan", dict(dropout=0.0, joint_updates=False, label_smoothing=0.8, g_ema=0.9)),
    ("mlp_bn", dict(conditional=True)),  # labels split with the batch, fake ones drawn globally
    ("dcgan", dict(dropout=0.0, spectral_norm=True)),  # power-iteration vectors on each replica
    # Each replica's batch of 8 + 8 in minibatch-stddev groups of 4, as one device's 16 + 16.
    ("dcgan", dict(dropout=0.0, minibatch_stddev=True, g_upsample="resize")),
    ("mlp", dict(latent_categories=10)),  # InfoGAN: codes drawn globally, info_loss averaged
    # Mode seeking: pairs of adjacent rows stay on one replica, their distances averaged.
    ("dcgan", dict(dropout=0.0, latent_categories=10, mode_seeking_weight=1.0)),
    ("mlp", dict(mode_seeking_weight=1.0, joint_updates=True)),
    ("dcgan", dict(dropout=0.0, mode_seeking_weight=1.0, mode_seeking_cap=0.3)),  # pairs' mean
    ("mlp", dict(latent_continuous=2, latent_categories=4)),  # both of InfoGAN's heads
    # Each replica's real images choose among the fakes of both, as on one device.
    ("dcgan", dict(dropout=0.0, coverage_weight=1.0)),
    ("mlp", dict(coverage_weight=1.0, joint_updates=False)),
    # IMLE's pool: drawn for the global pool, each real image choosing among all of it.
    ("dcgan", dict(dropout=0.0, coverage_weight=1.0, coverage_pool=24)),
    ("mlp", dict(latent_categories=4, coverage_weight=1.0, coverage_pool=24)),
])
def test_two_replicas_compute_what_one_device_does(kind, options):
    config = small_config(kind, jit_compile=False, **options)
    one_history, one_vars = train_a_few_steps(config, tf.distribute.get_strategy())
    two_history, two_vars = train_a_few_steps(config, mirrored())
    np.testing.assert_allclose(two_history, one_history, rtol=1e-5, atol=1e-5)
    assert two_vars.keys() == one_vars.keys()
    # The hidden biases of mlp_bn's G feed batch norm, which cancels them: their gradient
    # is rounding noise, which Adam scales to full-size steps. Not comparable.
    noise = {f"generator/dense{s}/bias:0" for s in ("", "_1")} if kind == "mlp_bn" else set()
    for name in one_vars.keys() - noise:  # weights, Adam's updates, batch-norm statistics
        np.testing.assert_allclose(two_vars[name], one_vars[name], rtol=1e-4, atol=5e-5,
                                   err_msg=name)


def test_minibatch_stddev_groups_divide_each_replicas_batch():
    config = small_config("dcgan", minibatch_stddev=True, batch_size=12)
    assert dcgan.stddev_group(config) == 4  # one device: 12 reals, 12 fakes
    with mirrored().scope():
        assert dcgan.stddev_group(config) == 3  # two replicas of 6 each


def test_replicas_train_each_network_on_its_own_variables():
    config = small_config("dcgan", jit_compile=False)  # dropout on: per-replica masks
    strategy = mirrored()
    with strategy.scope():
        g, d = models.build(config)
        trainer = GANTrainer(config, g, d, strategy=strategy)
    assert isinstance(g.variables[0], tf.distribute.DistributedValues)
    g_before, d_before = snapshot(g), snapshot(d)
    iterator = iter(distribute.distribute_dataset(
        strategy, data.make_dataset(IMAGES, config.batch_size, 0)))
    history, finite = trainer.train_steps(iterator, tf.constant(2, tf.int64))
    assert bool(finite) and np.isfinite(history.numpy()).all()
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)
    assert {v.name for v in trainer.d_vars} == changed(d_before, d)
    # Each replica's copy holds the same values after the updates.
    for v in g.variables + d.variables:
        first, second = (t.numpy() for t in v.values)
        np.testing.assert_array_equal(first, second, err_msg=v.name)


def test_global_batch_must_split_over_the_replicas(tmp_path):
    config = small_config(batch_size=15, strategy="mirrored", cpu_devices=2,
                          output_dir=str(tmp_path / "run"), max_steps=2)
    with pytest.raises(errors.RunError, match="--batch_size=15 .* 2 replicas"):
        loop.train(config)
    assert not os.path.exists(tmp_path / "run")  # refused before anything was written


def test_coverage_pool_must_split_over_the_replicas(tmp_path):
    config = small_config(coverage_weight=1.0, coverage_pool=15, strategy="mirrored",
                          cpu_devices=2, output_dir=str(tmp_path / "run"), max_steps=2)
    with pytest.raises(errors.RunError, match="--coverage_pool=15 .* 2 replicas"):
        loop.train(config)
    assert not os.path.exists(tmp_path / "run")


def test_cpu_devices_cannot_change_once_tensorflow_runs():
    with pytest.raises(errors.DistributeError, match="--cpu_devices=3: .* 2 CPU device"):
        distribute.configure_cpu_devices(3)


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(errors.DistributeError, match="TF_CONFIG"):
        distribute.make_strategy(small_config(strategy="multi_worker"))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(errors.DistributeError, match="TF_CONFIG is not a cluster spec"):
        distribute.make_strategy(small_config(strategy="multi_worker"))


def test_command_line_refuses_bad_strategy_settings(tmp_path):
    cases = [  # the mirrored one last: it splits the CPU, once per process
        (["--strategy=multi_worker"], "needs the TF_CONFIG environment variable"),
        (["--strategy=gpus"], "--strategy"),
        (["--cpu_devices=0"], "--cpu_devices"),
        (["--mode_seeking_weight=1", "--batch_size=15"], "give an even --batch_size"),
        (["--strategy=mirrored", "--cpu_devices=2", "--batch_size=15"],
         "does not split evenly over 2 replicas"),
        (["--strategy=mirrored", "--cpu_devices=2", "--batch_size=30", "--mode_seeking_weight=1"],
         "over 2 replicas leaves 15, an odd number"),
    ]
    results = cli_errors("train_main", *[args + ["--dataset=mnist_5k",
                                                 f"--output_dir={tmp_path / 'run'}"]
                                         for args, _ in cases], env={"TF_CONFIG": ""})
    for (args, message), (code, stderr) in zip(cases, results):
        assert code in (1, 2), stderr[-2000:]
        last = stderr.strip().splitlines()[-1]
        assert "error:" in last and message in last, last
    assert not os.path.exists(tmp_path / "run")  # refused before anything was written


def run_config(tmp_path, kind="mlp_bn", **overrides):
    values = dict(output_dir=str(tmp_path), log_every=2, sample_every=4, checkpoint_every=4,
                  eval_samples=0, num_samples=4, jit_compile=False)
    values.update(overrides)
    return small_config(kind, **values)


@pytest.mark.parametrize("first,second", [("mirrored", "default"), ("default", "mirrored")])
def test_checkpoints_resume_under_another_strategy(tmp_path, first, second):
    """Train 4 steps under one strategy, resume to 8 under the other: the same losses as
    8 uninterrupted steps on one device."""
    loop.train(run_config(tmp_path / "a", strategy=first, cpu_devices=2, max_steps=4))
    loop.train(run_config(tmp_path / "a", strategy=second, cpu_devices=2, max_steps=8))
    loop.train(run_config(tmp_path / "b", max_steps=8))
    resumed, straight = read_records(tmp_path / "a"), read_records(tmp_path / "b")
    assert [r["step"] for r in resumed] == [r["step"] for r in straight] == [2, 4, 6, 8]
    for a, b in zip(resumed, straight):
        for key in METRIC_KEYS:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (a["step"], key)
    with open(tmp_path / "a" / "train_losses.pkl", "rb") as f:
        assert len(pickle.load(f)) == 4  # one pair per log record, written once


def test_mixed_precision_trains_with_float32_variables_and_outputs(tmp_path):
    config = run_config(tmp_path, "dcgan", mixed_precision=True, max_steps=4)
    record = loop.train(config)
    assert all(np.isfinite(record[k]) for k in METRIC_KEYS)
    assert distribute.compute_dtype(config, tf.distribute.get_strategy()) == "bfloat16"
    g, d = models.build(config, compute_dtype="bfloat16")
    assert {v.dtype for v in g.variables + d.variables} == {tf.float32}
    images, logits = g(tf.zeros([2, config.z_dim]))
    assert images.dtype == logits.dtype == d(images)[1].dtype == tf.float32
    with open(tmp_path / "train_samples.pkl", "rb") as f:
        assert pickle.load(f)[-1].dtype == np.float32


def test_two_local_workers_train_and_the_run_resumes_in_one_process(tmp_path):
    run_dir, scratch = tmp_path / "run", tmp_path / "tmp"
    scratch.mkdir()
    args = [sys.executable, MAIN, "--strategy=multi_worker", "--model=mlp",
            "--dataset=mnist_5k", "--g_hidden=32", "--d_hidden=32", "--batch_size=16",
            "--z_dim=8", "--max_steps=6", "--log_every=2", "--checkpoint_every=3",
            "--sample_every=3", "--num_samples=4", "--eval_samples=0",
            f"--output_dir={run_dir}"]
    workers = []
    for tf_config in distribute.local_cluster(2):
        env = dict(os.environ, TMPDIR=str(scratch), TF_CONFIG=tf_config)
        workers.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True))
    try:
        outputs = [w.communicate(timeout=240)[0] for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, out in zip(workers, outputs):
        assert w.returncode == 0, out[-3000:]
    assert "2 replica(s) of 8 images each" in outputs[0]
    assert "this worker writes nothing to the run directory" in outputs[1]
    assert [r["step"] for r in read_records(run_dir)] == [2, 4, 6]  # the chief's, once
    assert sorted(os.listdir(run_dir / "samples")) == ["step_0000003.png", "step_0000006.png"]
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-6")
    assert os.listdir(scratch) == []  # the other worker's scratch directory is gone

    # One process, default strategy, picks the run up at step 6.
    config = small_config(output_dir=str(run_dir), max_steps=10, log_every=2,
                          checkpoint_every=3, sample_every=3, num_samples=4, eval_samples=0)
    loop.train(config)
    records = read_records(run_dir)
    assert [r["step"] for r in records] == [2, 4, 6, 8, 10]
    assert all(np.isfinite(r["d_loss"]) for r in records)


@pytest.mark.parametrize("kind", ["mlp_bn", "dcgan"])
def test_float16_compute_scales_the_losses(kind):
    """What --mixed_precision does on a GPU (float16 with dynamic loss scaling), run on
    the CPU: float32 variables get finite updates, metrics stay float32."""
    config = small_config(kind, jit_compile=False)
    g, d = models.build(config, compute_dtype="float16")
    trainer = GANTrainer(config, g, d)
    assert trainer.loss_scaling
    assert isinstance(trainer.g_optimizer, tf.keras.optimizers.LossScaleOptimizer)
    g_before = snapshot(g)
    history, finite = trainer.train_steps(iter(data.make_dataset(IMAGES, 16, 0)),
                                          tf.constant(3, tf.int64))
    assert history.dtype == tf.float32 and bool(finite) and np.isfinite(history.numpy()).all()
    assert {v.dtype for v in g.variables} == {tf.float32}
    assert {v.name for v in trainer.g_vars} <= changed(g_before, g)


def test_a_killed_worker_is_reported_in_one_line_by_the_other(tmp_path):
    """SIGKILL to worker 1 mid-run: worker 0 exits 1 with one line naming the worker, the
    step, the checkpoint kept and how to resume; no gRPC traceback."""
    run_dir = tmp_path / "run"
    args = [sys.executable, MAIN, "--strategy=multi_worker", "--dataset=mnist_5k",
            "--g_hidden=32", "--d_hidden=32", "--batch_size=16", "--max_steps=1000000",
            "--log_every=20", "--checkpoint_every=20", "--eval_samples=0",
            f"--output_dir={run_dir}"]
    workers = [subprocess.Popen(args, cwd=ROOT, env=dict(os.environ, TF_CONFIG=tf_config),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for tf_config in distribute.local_cluster(2)]
    try:
        deadline = time.time() + 120
        while len(logs.read_metrics(str(run_dir / logs.METRICS))) < 2 and time.time() < deadline:
            time.sleep(0.2)
        workers[1].kill()
        stderr = workers[0].communicate(timeout=60)[1]
    finally:
        for w in workers:
            w.kill()
    assert workers[0].returncode == 1, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert re.search(r"error: worker 1 went away near step \d+; checkpoint \d+ is kept .*"
                     r"restarting all workers resumes from it", last), stderr[-3000:]
    assert "Traceback" not in stderr


W = ["127.0.0.1:1", "127.0.0.1:2"]


@pytest.mark.parametrize("spec,message", [
    ({"cluster": {"worker": W, "ps": ["127.0.0.1:3"]}, "task": {"type": "worker", "index": 0}},
     "'ps' job"),
    ({"cluster": {"worker": "127.0.0.1:1"}, "task": {"type": "worker", "index": 0}},
     "'worker' job must be a list of host:port"),
    ({"cluster": {"worker": W}, "task": {"type": "worker", "index": 2}},
     "task index 2 is not one of the 2 'worker' tasks"),
    ({"cluster": {"worker": W}, "task": {"type": "worker", "index": -1}}, "task index -1"),
    ({"cluster": {"worker": W}, "task": {"type": "worker", "index": "0"}}, "task index '0'"),
    ({"cluster": {"worker": W}, "task": {"type": "chief", "index": 0}},
     "task type 'chief' is not a job"),
    ({"cluster": {}, "task": {"type": "worker", "index": 0}}, "cluster must map"),
], ids=["ps", "string", "index_beyond", "negative", "string_index", "no_such_job", "empty"])
def test_a_cluster_spec_multi_worker_cannot_run_is_one_line(monkeypatch, spec, message):
    """Issue 25 (18): these reached TensorFlow and came back as tracebacks."""
    import json
    monkeypatch.setenv("TF_CONFIG", json.dumps(spec))
    with pytest.raises(errors.DistributeError, match=message) as error:
        distribute.make_strategy(small_config(strategy="multi_worker"))
    assert "\n" not in str(error.value)


def test_bad_tf_config_json_with_mirrored_is_one_line(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{bad")
    with pytest.raises(errors.DistributeError, match="TF_CONFIG is not JSON.*unset TF_CONFIG"):
        distribute.make_strategy(small_config(strategy="mirrored"))
