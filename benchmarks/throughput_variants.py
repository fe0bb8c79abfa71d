"""The variants and machine figures of benchmarks/throughput.py: each variant is a
`(step, steps_per_call)` pair whose `step()` runs one call (one or more training steps)."""
import contextlib
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from benchmarks.legacy_tf1_gan import LegacyGAN
from gan_tf import data, models
from gan_tf.config import TrainConfig
from gan_tf.training import distribute
from gan_tf.training.steps import GANTrainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the variants ---------------------------------------------------------------

def tf1_session(images, batch_size):
    """The notebook's loop as this benchmark first wrote it: a random index batch
    gathered (a copy) and float64 z fed each step."""
    gan = LegacyGAN()
    flat = images.reshape(len(images), 784)
    rng = np.random.default_rng(0)

    def step():
        idx = rng.integers(0, len(flat), batch_size)
        batch_z = rng.uniform(-1, 1, size=(batch_size, 100))
        gan.sess.run(gan.d_train_opt, feed_dict={gan.input_real: flat[idx], gan.input_z: batch_z})
        gan.sess.run(gan.g_train_opt, feed_dict={gan.input_z: batch_z})
    step.gan = gan  # for tests: the graph it trains
    return step, 1


def tf1_session_fast(images, batch_size):
    """The notebook's Session loop as fast as feed_dict allows: each epoch's shuffle
    applied once, contiguous slices of it (views, no copy) and float32 z fed; one D and
    one G minimize per step, G's on the same z."""
    gan = LegacyGAN()
    flat = np.ascontiguousarray(images.reshape(len(images), 784), np.float32)
    rng = np.random.default_rng(0)
    state = {"epoch": flat, "at": len(flat)}

    def step():
        if state["at"] + batch_size > len(flat):
            state["epoch"], state["at"] = flat[rng.permutation(len(flat))], 0
        batch = state["epoch"][state["at"]:state["at"] + batch_size]
        state["at"] += batch_size
        batch_z = rng.random((batch_size, 100), dtype=np.float32) * 2 - 1
        gan.sess.run(gan.d_train_opt, feed_dict={gan.input_real: batch, gan.input_z: batch_z})
        gan.sess.run(gan.g_train_opt, feed_dict={gan.input_z: batch_z})
    step.gan = gan  # for tests: the graph it trains
    return step, 1


def tf1_dataset(images, batch_size, session_config=None):
    """The notebook's graph fed by tf.data inside the graph (a one-shot iterator's
    get_next, shuffled, batched, prefetched) and z drawn in the graph: no feed_dict,
    the same two Session.run calls per step."""
    flat = np.ascontiguousarray(images.reshape(len(images), 784), np.float32)

    def inputs():
        dataset = tf.data.Dataset.from_tensor_slices(flat).shuffle(len(flat), seed=0).batch(
            batch_size, drop_remainder=True).repeat().prefetch(2)
        real = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
        return real, tf.random.uniform((batch_size, 100), -1.0, 1.0)
    gan = LegacyGAN(inputs=inputs, session_config=session_config)

    def step():
        gan.sess.run(gan.d_train_opt)
        gan.sess.run(gan.g_train_opt)
    step.gan = gan  # for tests: the graph it trains
    return step, 1


def tf1_dataset_1thread(images, batch_size):
    """tf1_dataset with one thread per op, as TF1 code would ask its Session for it
    (ConfigProto(intra_op_parallelism_threads=1)): what gan_tf's auto does for small MLP
    steps (gan_tf.training.threads), given to the TF1 loop too."""
    return tf1_dataset(images, batch_size, tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=1))


TF1_VARIANTS = ("tf1_session", "tf1_session_fast", "tf1_dataset", "tf1_dataset_1thread")


def gan_tf_trainer(config, images, steps_per_call):
    """GANTrainer.train_steps as loop.train calls it, computing in the type
    config.mixed_precision chooses here, as loop.train does."""
    tf.random.set_seed(0)
    g, d = models.build(config, distribute.compute_dtype(config, tf.distribute.get_strategy()))
    trainer = GANTrainer(config, g, d)
    iterator = iter(data.make_dataset(images, config.batch_size, seed=0))
    n = tf.constant(steps_per_call, tf.int64)

    def step():
        history, finite = trainer.train_steps(iterator, n)
        history.numpy()  # the loop reads the metrics after every call
        bool(finite)
    return step, steps_per_call


def tf2_eager(images, batch_size):
    config = TrainConfig(batch_size=batch_size)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    iterator = iter(data.make_dataset(images, batch_size, seed=0))

    def step():
        trainer.train_step([next(iterator)])
    return step, 1


def keras_tutorial_dcgan(images, batch_size, scale=1):
    """The TensorFlow DCGAN tutorial's models and loop, sized like gan_tf's default DCGAN
    (every layer's channels times `scale`)."""
    layers = tf.keras.layers
    c = lambda n: n * scale  # noqa: E731 - a layer's channels
    generator = tf.keras.Sequential([
        tf.keras.Input((100,)),
        layers.Dense(7 * 7 * c(256), use_bias=False), layers.BatchNormalization(),
        layers.LeakyReLU(), layers.Reshape((7, 7, c(256))),
        layers.Conv2DTranspose(c(128), 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(c(64), 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh")])
    discriminator = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        layers.Conv2D(c(64), 5, strides=2, padding="same"), layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(c(128), 5, strides=2, padding="same"), layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1)])
    return keras_loop(generator, discriminator, 100, images, batch_size)


def keras_mlp(images, batch_size, hidden=128):
    """The tutorial's loop around MLPs of gan_tf's default MLP shape (one hidden layer of
    `hidden` units in G and D, tanh images; Adam 1e-4 as the tutorial)."""
    layers = tf.keras.layers
    generator = tf.keras.Sequential([
        tf.keras.Input((100,)), layers.Dense(hidden), layers.LeakyReLU(0.01),
        layers.Dense(784, activation="tanh"), layers.Reshape((28, 28, 1))])
    discriminator = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(hidden),
        layers.LeakyReLU(0.01), layers.Dense(1)])
    return keras_loop(generator, discriminator, 100, images, batch_size)


def keras_loop(generator, discriminator, z_dim, images, batch_size):
    """The tutorial's training loop: one tf.function step with two GradientTapes, Adam
    1e-4, a Python loop over a tf.data dataset."""
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([batch_size, z_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = generator(noise, training=True)
            real_output = discriminator(real, training=True)
            fake_output = discriminator(fake, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_opt.apply_gradients(zip(gen_tape.gradient(gen_loss, generator.trainable_variables),
                                  generator.trainable_variables))
        d_opt.apply_gradients(zip(disc_tape.gradient(disc_loss, discriminator.trainable_variables),
                                  discriminator.trainable_variables))

    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).batch(
        batch_size, drop_remainder=True).repeat()
    batches = iter(dataset)

    def step():
        train_step(next(batches))
    return step, 1


def mlp_macs_per_example(z_dim=100, hidden=128, pixels=784):
    """Multiply-adds of one gan_tf MLP step per example: the D step runs G forward,
    D forward and backward (weights and inputs) on real and fake; the G step runs
    G forward and backward and D forward and backward (inputs only)."""
    g = z_dim * hidden + hidden * pixels
    d = pixels * hidden + hidden
    return (g + 2 * d + 4 * d) + (3 * g + 2 * d)


def mlp_step_matmuls_gflops(batch_size, links=24, repeats=5):
    """float32 GFLOP/s of the MLP step's own matmul shapes alone, the best of plain
    TensorFlow and XLA: a chain (batch, 100) @ (100, 128), then `links` alternating
    (batch, 128) @ (128, 784) and (batch, 784) @ (784, 128), the products that make up
    nearly all of mlp_macs_per_example (the 128 -> 1 output layer is left out)."""
    w_z = tf.random.normal([100, 128]) / 10.0
    w_up = tf.random.normal([128, 784]) / np.sqrt(128.0)
    w_down = tf.random.normal([784, 128]) / np.sqrt(784.0)
    z = tf.random.uniform([batch_size, 100], -1.0, 1.0)
    flops = 2 * batch_size * (100 * 128 + links * 128 * 784)

    def chain(x):
        h = tf.matmul(x, w_z)
        for i in range(links):
            h = tf.matmul(h, w_up if i % 2 == 0 else w_down)
        return h
    best = 0.0
    for jit in (False, True):
        fn = tf.function(chain, jit_compile=jit)
        fn(z).numpy()
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(20):
                fn(z).numpy()
            best = max(best, 20 * flops / (time.perf_counter() - start) / 1e9)
    return best


def matmul_peak_gflops(n=2048, chain=20, repeats=5):
    """float32 matmul GFLOP/s as a chain x = x @ b (identical products are not recomputed)."""
    b = tf.random.normal([n, n]) / np.sqrt(n)

    @tf.function
    def chained(x):
        for _ in range(chain):
            x = tf.matmul(x, b)
        return x
    x = tf.random.normal([n, n])
    chained(x).numpy()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        chained(x).numpy()
        best = max(best, 2 * n ** 3 * chain / (time.perf_counter() - start) / 1e9)
    return best


def start_to_first_step(runs=3):
    """Seconds from launching train_main.py (the default run's data and model) to the
    end of its first training step: the wall-clock `time` of the step-1 record of
    metrics.jsonl (--log_every=1), written right after the first graph call, minus the
    launch time. --max_steps=1 and --eval_samples=0 only shorten what comes after."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            start = time.time()
            subprocess.run([sys.executable, os.path.join(ROOT, "train_main.py"), "--max_steps=1",
                            "--log_every=1", "--eval_samples=0", f"--output_dir={out}"],
                           check=True, capture_output=True)
            with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
                times.append(json.loads(f.readline())["time"] - start)
    return statistics.median(times)


class _TimedTrainer(GANTrainer):
    """GANTrainer noting when each train_steps call returns and how many steps it ran."""
    calls = []

    def train_steps(self, iterator, num_steps):
        out = super().train_steps(iterator, num_steps)
        _TimedTrainer.calls.append((time.perf_counter(), int(num_steps)))
        return out


def default_run(steps, log_every=None):
    """Training steps/s of the default run (TrainConfig's defaults, as `python
    train_main.py` without flags gets them: the MLP, batch 100) as loop.train runs
    it in this process, `steps` steps into a temporary directory, with evaluation off
    (the default run evaluates once, after its last step).

    The rate is the run's steady state (`steady_rate`): from the return of the graph call
    that ends at the second sample/checkpoint step to the return of the one that ends a
    whole number of those periods later, one period before the end. Each period in it
    holds one sample grid and one checkpoint, as each of a long run's does, and every log
    record; the set-up, the first call's tracing, the first period's one-off costs (the
    first use of matplotlib and of the checkpoint writer, the first loss plot) and the
    end's saves are left out, as a 55,000-step run spreads them over all its steps."""
    from gan_tf.training import loop
    config = TrainConfig(max_steps=steps, eval_samples=0, log_every=log_every)
    steps_per_epoch = len(data.load_mnist_5k().train_images) // config.batch_size
    _, _, sample_every, checkpoint_every = config.schedule(steps_per_epoch)
    period = math.lcm(sample_every, checkpoint_every)
    _TimedTrainer.calls = []
    with tempfile.TemporaryDirectory() as out, _patched(loop, "GANTrainer", _TimedTrainer):
        loop.train(dataclasses.replace(config, output_dir=out))
    return steady_rate(_TimedTrainer.calls, period)


def steady_rate(calls, period):
    """Steps/s between the return of the call ending at step 2 * `period` and that of the
    call ending at the last multiple of `period` at least one period before the last
    step; `calls` are (return time, steps) in order, and a call ends at every multiple
    of `period` (the loop cuts its calls at sample and checkpoint steps)."""
    ends, step = {}, 0
    for t, n in calls:
        step += n
        ends[step] = t
    first, last = 2 * period, (step - period) // period * period
    if last <= first:
        raise ValueError(f"{step} steps hold no whole period of {period} steps between the "
                         f"second one and the one before the end: run at least {4 * period}")
    missing = [s for s in (first, last) if s not in ends]
    if missing:
        raise ValueError(f"no call ended at step {missing[0]}: the calls are not cut at "
                         f"every {period} steps")
    return (last - first) / (ends[last] - ends[first])


@contextlib.contextmanager
def _patched(module, name, value):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def median_of(fn, runs):
    return statistics.median(fn() for _ in range(runs))
