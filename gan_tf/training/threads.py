"""How many threads each TensorFlow op may use (--intra_op_threads), and why.

    auto  1 for a small MLP step on a CPU (the MLP without XLA, batch x widest hidden
          layer <= SMALL_MLP_WORK, no GPU or TPU): its matmuls are too small for two
          threads to split them faster than one runs them, and with one thread per op
          two independent ops run side by side instead (inter-op parallelism is left at
          TensorFlow's default). TensorFlow's default (one thread per core) otherwise:
          larger MLPs, the DCGAN's convolutions and XLA's kernels are faster split.
    0     TensorFlow's default
    N     N threads per op
Under auto a TF_NUM_INTRAOP_THREADS in the environment (a positive count, as TensorFlow
reads it) is the user's choice and is kept.

Measured on a 2-core Xeon (benchmarks/threads_scan.py, docs/performance.md): the default
MLP (batch 100, 128 units) trains 1.13x faster with one thread per op, batch 256 1.12x; at
batch x width 65,536 it is 6-7 % slower, from 100,000 on 15-18 %, the DCGAN and the XLA
step 14-16 %.
The thread count does not change an MLP step's numbers (the default MLP's weights after
200 steps are bitwise the same with 1 and 2 threads per op: tests/training/test_threads.py),
so an MLP run resumes exactly whatever auto gives it. Convolutions are another matter (a
CNN's weights do depend on it), which is why auto never changes a DCGAN's threads and the
digit classifier is always trained at TensorFlow's default (gan_tf.evaluation.classifier).

It must be set before TensorFlow starts its runtime (the first op of the process):
train() does so first. A library caller that has already run TensorFlow keeps the
threads it has under auto; an explicit count that can no longer be set is an error.
"""
import os

import tensorflow as tf

from gan_tf import models
from gan_tf.errors import RunError
from gan_tf.training import steps

# auto's bound on an MLP step's size, batch x widest hidden layer: 12,800 (the default
# run) and 32,768 measured faster with one thread per op, 65,536 and more slower.
SMALL_MLP_WORK = 32768
DEFAULT = 0  # --intra_op_threads=0: TensorFlow's own choice
ENV = "TF_NUM_INTRAOP_THREADS"  # TensorFlow's own setting of it, which auto keeps


def environment_threads(environ=None):
    """The positive thread count TF_NUM_INTRAOP_THREADS sets, or 0 (unset, or a value
    TensorFlow ignores)."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 0


def resolve(config, accelerator=None, environ=None):
    """(threads per op, reason) for `config`; 0 is TensorFlow's default. `accelerator`:
    whether the run has a GPU or TPU (None: ask TensorFlow); `environ`: the environment
    (None: this process's)."""
    if config.intra_op_threads is not None:
        return config.intra_op_threads, f"--intra_op_threads={config.intra_op_threads}"
    kept = environment_threads(environ)
    if kept:
        return DEFAULT, f"--intra_op_threads=auto: {ENV}={kept} in the environment"
    if config.model != "mlp":
        return DEFAULT, f"--intra_op_threads=auto: --model={config.model}"
    if steps.resolve_option(config, "jit_compile"):
        return DEFAULT, "--intra_op_threads=auto: the step is XLA-compiled"
    work = config.batch_size * models.widest_hidden(config)
    if work > SMALL_MLP_WORK:
        return DEFAULT, (f"--intra_op_threads=auto: an MLP step of batch x widest layer "
                         f"{work:,} > {SMALL_MLP_WORK:,}")
    if accelerator is None:
        accelerator = bool(tf.config.list_physical_devices("GPU")) or config.strategy == "tpu"
    if accelerator:
        return DEFAULT, "--intra_op_threads=auto: a GPU or TPU trains"
    return 1, (f"--intra_op_threads=auto: a small MLP step on a CPU, batch x widest layer "
               f"{work:,} <= {SMALL_MLP_WORK:,}")


def configure(config):
    """Sets TensorFlow's threads per op as `config` resolves them, before its runtime
    starts; returns (threads per op now in force, 0 for TensorFlow's default, reason)."""
    wanted, why = resolve(config)
    current = tf.config.threading.get_intra_op_parallelism_threads()
    if wanted == current:
        return current, why
    try:
        tf.config.threading.set_intra_op_parallelism_threads(wanted)
    except RuntimeError:
        if config.intra_op_threads is not None:
            raise RunError(f"--intra_op_threads={wanted}: TensorFlow already started in this "
                           f"process with {current or 'its default'} thread(s) per op; set it "
                           "before anything else runs TensorFlow") from None
        return current, (f"{why}; TensorFlow had already started in this process, "
                         "which keeps its threads")
    return wanted, why


def describe(threads):
    """'1 thread per op' or "TensorFlow's default threads per op" for the log."""
    if threads == DEFAULT:
        return "TensorFlow's default threads per op"
    return f"{threads} thread{'s' * (threads != 1)} per op"
