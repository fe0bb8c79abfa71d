"""The cost of one --g_ema update of the wide MLP flagfile's generator (1.5 million weights)
on one thread per op: the sum TF2 code tends to write (decay * EMA + (1 - decay) * G) against
TF1's ExponentialMovingAverage form (EMA -= (1 - decay) * (EMA - G), gan_tf's since 0.3.13),
milliseconds per update, 50 updates per graph call.

    python benchmarks/ema_cost.py
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from benchmarks.throughput import WIDE_MLP, cpu_flags  # noqa: E402
from gan_tf import models  # noqa: E402
from gan_tf.config import TrainConfig  # noqa: E402

DECAY = 0.999


def main():
    tf.config.threading.set_intra_op_parallelism_threads(1)
    config = TrainConfig(**dict(WIDE_MLP, g_ema=DECAY))
    pairs = list(zip(models.build_generator(config, "generator_ema").variables,
                     models.build_generator(config).variables))

    def as_sum():
        for ema, v in pairs:
            ema.assign(DECAY * ema + (1.0 - DECAY) * v)

    def as_tf1():
        for ema, v in pairs:
            ema.assign_sub((1.0 - DECAY) * (ema - v))
    print(cpu_flags(), f"{sum(v.shape.num_elements() for _, v in pairs):,} weights")
    for name, update in (("sum", as_sum), ("tf1", as_tf1)):
        calls = tf.function(lambda update=update: [update() for _ in range(50)])
        calls()
        start = time.perf_counter()
        for _ in range(4):
            calls()
        print(f"{name}: {(time.perf_counter() - start) / 200 * 1e3:.2f} ms per update")


if __name__ == "__main__":
    main()
