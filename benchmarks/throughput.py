"""Training throughput of gan_tf against the code it replaces, measured in one run.

    python benchmarks/throughput.py            # full: 3 interleaved rounds, all batch sizes
    python benchmarks/throughput.py --quick    # under 2 minutes: batch 100 MLP, batch 64 DCGAN

Variants (each: median steps/s over --rounds interleaved rounds, after warm-up):
  tf1_session    the legacy TF1 MLP GAN graph (benchmarks/legacy_tf1_gan.py) run
                 with Session.run and feed_dict, one D and one G minimize per step,
                 batches sliced from numpy as mnist.train.next_batch did;
  tf2_eager      the same model and steps with gan_tf's modules, eagerly;
  gan_tf         gan_tf's GANTrainer.train_steps as train_main.py runs it: the tf.data
                 pipeline, many steps per graph call, per-step metrics read per call,
                 XLA as the architecture's default says (and the other setting too);
  keras_tutorial the DCGAN loop of the official TensorFlow tutorial: Sequential models,
                 one tf.function step with two GradientTapes, a Python loop over a
                 tf.data dataset, at the same model and batch as gan_tf's DCGAN.
Also: achieved GFLOP/s of the MLP step (its multiply-adds counted analytically)
against a chained 2048x2048 float32 matmul, and the wall time from launching
`python train_main.py` to its first training step.
Writes a JSON report with --report.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.legacy_tf1_gan import LegacyGAN  # noqa: E402
from gan_tf import data, models  # noqa: E402
from gan_tf.config import TrainConfig  # noqa: E402
from gan_tf.trainer import GANTrainer  # noqa: E402


def timed_rate(step_fn, seconds, steps_per_call=1):
    """Calls step_fn until `seconds` have passed; returns steps per second."""
    calls, start = 0, time.perf_counter()
    while True:
        step_fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * steps_per_call / elapsed


# --- the variants ---------------------------------------------------------------

def tf1_session(images, batch_size):
    gan = LegacyGAN()
    flat = images.reshape(len(images), 784)
    rng = np.random.default_rng(0)

    def step():
        idx = rng.integers(0, len(flat), batch_size)
        batch_z = rng.uniform(-1, 1, size=(batch_size, 100))
        gan.sess.run(gan.d_train_opt, feed_dict={gan.input_real: flat[idx], gan.input_z: batch_z})
        gan.sess.run(gan.g_train_opt, feed_dict={gan.input_z: batch_z})
    return step, 1


def gan_tf_trainer(config, images, steps_per_call):
    tf.random.set_seed(0)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    iterator = iter(data.make_dataset(images, config.batch_size, seed=0))
    n = tf.constant(steps_per_call, tf.int64)

    def step():
        history, finite = trainer.train_steps(iterator, n)
        history.numpy()  # the loop reads the metrics after every call
        bool(finite)
    return step, steps_per_call, trainer


def tf2_eager(images, batch_size):
    config = TrainConfig(batch_size=batch_size)
    g, d = models.build(config)
    trainer = GANTrainer(config, g, d)
    iterator = iter(data.make_dataset(images, batch_size, seed=0))

    def step():
        trainer.train_step([next(iterator)])
    return step, 1


def keras_tutorial_dcgan(images, batch_size):
    """The TensorFlow DCGAN tutorial's models and loop, sized like gan_tf's default DCGAN."""
    layers = tf.keras.layers
    generator = tf.keras.Sequential([
        tf.keras.Input((100,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh")])
    discriminator = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1)])
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([batch_size, 100])
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
    """Seconds from launching train_main.py to the end of its first step (--max_steps=1:
    the process exits right after, so this includes writing the outputs)."""
    import tempfile
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([sys.executable, os.path.join(ROOT, "train_main.py"), "--max_steps=1",
                            f"--output_dir={out}"], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the run ----------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a subset, under 2 minutes")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, quick 2)")
    p.add_argument("--seconds", type=float, default=None, help="seconds per measurement")
    p.add_argument("--report", help="write the JSON results here")
    args = p.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    mlp_batches = [100] if args.quick else [100, 128, 256]
    dcgan_batches = [64] if args.quick else [64, 128, 256]
    images = data.load_mnist_5k().train_images

    variants = {}  # name -> (step function, steps per call)
    for b in mlp_batches:
        variants[f"mlp/b{b}/tf1_session"] = tf1_session(images, b)
        for jit in (True, False):
            cfg = TrainConfig(model="mlp", batch_size=b, jit_compile=jit)
            variants[f"mlp/b{b}/gan_tf{'_xla' if jit else ''}"] = gan_tf_trainer(cfg, images, 200)[:2]
        variants[f"mlp/b{b}/tf2_eager"] = tf2_eager(images, b)
    for b in dcgan_batches:
        variants[f"dcgan/b{b}/keras_tutorial"] = keras_tutorial_dcgan(images, b)
        for jit in ([False, True] if b == 64 and not args.quick else [False]):
            cfg = TrainConfig(model="dcgan", batch_size=b, jit_compile=jit, optimizer="adam",
                              g_learning_rate=1e-4, d_learning_rate=1e-4, z_distribution="normal")
            variants[f"dcgan/b{b}/gan_tf{'_xla' if jit else ''}"] = gan_tf_trainer(cfg, images, 2)[:2]

    for name, (step, _) in variants.items():  # warm-up: tracing, compilation, caches
        for _ in range(2):
            step()
    rates = {name: [] for name in variants}
    for r in range(rounds):
        for name, (step, per_call) in variants.items():
            slow = "eager" in name or "dcgan" in name
            rates[name].append(timed_rate(step, seconds * (1.5 if slow else 1), per_call))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    medians = {name: statistics.median(v) for name, v in rates.items()}

    peak = matmul_peak_gflops()
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
               "tensorflow": tf.__version__, "rounds": rounds, "seconds_per_measurement": seconds,
               "steps_per_sec": {k: round(v, 2) for k, v in medians.items()},
               "matmul_peak_gflops": round(peak, 1)}
    ratios, gflops = {}, {}
    for b in mlp_batches:
        base = medians[f"mlp/b{b}/tf1_session"]
        for v in ("gan_tf_xla", "gan_tf", "tf2_eager"):
            ratios[f"mlp/b{b}/{v} vs tf1_session"] = round(medians[f"mlp/b{b}/{v}"] / base, 2)
        for v in ("tf1_session", "gan_tf_xla", "gan_tf"):
            gflops[f"mlp/b{b}/{v}"] = round(
                medians[f"mlp/b{b}/{v}"] * 2 * b * mlp_macs_per_example() / 1e9, 1)
    for b in dcgan_batches:
        base = medians[f"dcgan/b{b}/keras_tutorial"]
        for v in ("gan_tf", "gan_tf_xla"):
            if f"dcgan/b{b}/{v}" in medians:
                ratios[f"dcgan/b{b}/{v} vs keras_tutorial"] = round(medians[f"dcgan/b{b}/{v}"] / base, 2)
    results.update(ratios=ratios, mlp_achieved_gflops=gflops,
                   start_to_first_step_s=round(start_to_first_step(1 if args.quick else 3), 2))
    text = json.dumps(results, indent=2)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
