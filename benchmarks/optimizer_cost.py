"""What one optimizer update costs: Keras 3's Adam against gan_tf's FusedAdam (TF1's
fused kernel, gan_tf.training.optimizers), applying fixed gradients to the trainable
variables of gan_tf's networks (G's and D's, each with its own optimizer as the trainer
has them), 10 updates per graph call, plain and XLA-compiled (--jit_compile), the
variants' calls interleaved over --rounds; milliseconds per update of both networks,
medians.

    python benchmarks/optimizer_cost.py [--rounds=5]
"""
import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from gan_tf import models  # noqa: E402
from gan_tf.config import TrainConfig  # noqa: E402
from gan_tf.training.optimizers import FusedAdam  # noqa: E402

MODELS = {"dcgan": dict(model="dcgan"), "mlp": dict(model="mlp")}  # gan_tf's defaults
UPDATES_PER_CALL = 10


def updater(make_optimizer, networks, jit_compile):
    """A graph call applying UPDATES_PER_CALL updates to each network's variables."""
    pairs = []
    for network in networks:
        variables = [tf.Variable(v) for v in network.trainable_variables]
        optimizer = make_optimizer()
        optimizer.build(variables)
        pairs.append((optimizer, variables, [tf.random.normal(v.shape) * 1e-3
                                             for v in variables]))

    @tf.function(jit_compile=jit_compile)
    def call():
        for _ in range(UPDATES_PER_CALL):
            for optimizer, variables, grads in pairs:
                optimizer.apply_gradients(zip(grads, variables))
    call.variables = [v for _, variables, _ in pairs for v in variables]  # for tests
    return call


def time_call(call, seconds=1.0):
    """Milliseconds per update over at least `seconds` of calls."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        calls += 1
    return 1e3 * (time.perf_counter() - start) / (calls * UPDATES_PER_CALL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")  # each variant's function traces once, on purpose
    variants = {"keras_adam": lambda: tf.keras.optimizers.Adam(2e-4, beta_1=0.5, epsilon=1e-8),
                "fused_adam": lambda: FusedAdam(2e-4, beta_1=0.5, epsilon=1e-8)}
    for name, fields in MODELS.items():
        g, d = models.build(TrainConfig(**fields))
        weights = sum(v.shape.num_elements() for n in (g, d) for v in n.trainable_variables)
        calls = {f"{v}{'_xla' if jit else ''}": updater(make, (g, d), jit)
                 for jit in (False, True) for v, make in variants.items()}
        for call in calls.values():
            call()  # trace
        times = {v: [] for v in calls}
        for r in range(args.rounds):
            order = list(calls)[r % len(calls):] + list(calls)[:r % len(calls)]  # first in turn
            for v in order:
                times[v].append(time_call(calls[v]))
        medians = {v: statistics.median(t) for v, t in times.items()}
        print(f"{name} ({weights:,} weights): " + ", ".join(
            f"{v} {m:.2f} ms" for v, m in medians.items()) + "; fused {:.1f}x faster, {:.1f}x "
              "under XLA".format(medians["keras_adam"] / medians["fused_adam"],
                                 medians["keras_adam_xla"] / medians["fused_adam_xla"]))


if __name__ == "__main__":
    main()
