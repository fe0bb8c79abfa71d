"""How many threads each TensorFlow op may use (--intra_op_threads), and why.

    auto  1 for a small step on a CPU without XLA, GPU or TPU, TensorFlow's default (one
          thread per core) otherwise. Small, by measurement (docs/performance.md), with
          bounds that depend on the CPU: those measured on a Xeon with AMX (amx_bf16), and
          (from gan_tf 0.3.14) the smaller ones measured on an EPYC without it, for any CPU
          without amx_bf16:
          - an MLP step of batch x widest hidden layer up to its bound by compute type and
            bCR (MLP_WORK, MLP_WORK_NO_AMX): in float32 32,768 with AMX, 12,800 without;
            with --bcr_weight (its second D pass runs beside the first) 262,144; in
            bfloat16 on a CPU with bfloat16 units 131,072 with AMX, 12,800 without, and
            with --bcr_weight 524,288 with AMX, 262,144 without (from gan_tf 0.3.13;
            0.3.8-0.3.12 gave every MLP 32,768 on every CPU);
          - (from gan_tf 0.3.12) a DCGAN step computing in bfloat16 on a CPU with AMX of
            batch x widest convolution up to 4,096 (0.3.12-0.3.13: on any CPU with
            bfloat16 units; without AMX one thread was no faster at any size measured,
            2,048 to 16,384).
          Such steps are too small for two threads to split an op faster than one runs it,
          and with one thread per op two independent ops run side by side instead
          (inter-op parallelism is left at TensorFlow's default). Larger steps, float32
          convolutions and XLA's kernels are faster split.
          A resumed run keeps the count its config.json records (what it last ran with;
          0, TensorFlow's default, is one thread per core of the machine it runs on), and
          a run from before that record (gan_tf 0.3.11 and older) the rule of its time:
          TensorFlow's default for a DCGAN, 32,768 for an MLP (0.3.8-0.3.11's bound;
          0.3.7 and older ran it at TensorFlow's default, the same numbers for the default
          MLP). Under multi_worker the rule reads this machine's bfloat16 units before the
          workers agree on a compute type (gan_tf.training.distribute).
    0     TensorFlow's default
    N     N threads per op
Under auto a TF_NUM_INTRAOP_THREADS in the environment (a positive count, as TensorFlow
reads it) is the user's choice and is kept (and recorded).

Measured on a 2-core Xeon with AMX (benchmarks/threads_scan.py, docs/performance.md): the
default MLP (batch 100, 128 units) trains 1.13x faster with one thread per op, batch 256
1.12x; at batch x width 65,536 it is 6-7 % slower, from 100,000 on 15-18 %. The wide MLP
flagfile's networks (G 256-512-1024, D 1024-512) with bCR: 1.05-1.09x in float32 up to
262,144, 1.09-1.29x in bfloat16 up to 524,288; without bCR 0.96x in float32 and 1.26x in
bfloat16 at 131,072. The CPU flagfiles' DCGAN in bfloat16 (channels 64, 32 / 32, 64):
1.19x at batch 32, 1.10x at 64, 1.04x at batch 32 with twice the channels; at batch x
widest 8,192 1.005x (batch 128) and 0.90x (four times the channels), slower past it, and
in float32 0.96x. On a 2-core EPYC with avx512_bf16 and no AMX the gains are smaller and
end sooner: the default MLP 1.18x (1.14x in bfloat16) but batch 256 0.90x; the wide
networks with bCR 1.02-1.18x in float32 up to 262,144, in bfloat16 1.07x at 65,536 to
1.005x at 262,144 and 0.995x at 524,288; without bCR 0.92x (float32) and 0.99x
(bfloat16) at 131,072; the CPU DCGAN in bfloat16 0.97-1.02x at batch 32, 0.90-0.91x at 64.
The thread count changes the numbers of a convolution and of a wide float32 MLP (the
wide flagfile's weights after 60 steps differ at 1 and 2 threads per op); those of the
default MLP and of the wide MLP in bfloat16 stay bitwise the same on the AVX-512 CPUs
measured, but not on an EPYC without AVX-512 (docs/performance.md): which is why a
resumed run keeps the count it ran with rather than what auto would choose now, and the
digit classifier is always trained at TensorFlow's default (gan_tf.evaluation.classifier).

It must be set before TensorFlow starts its runtime (the first op of the process):
train() does so first, reading a resumed run's record before anything else. A library
caller that has already run TensorFlow keeps the threads it has under auto; an explicit
count that can no longer be set is an error.
"""
import os

import tensorflow as tf

from gan_tf import models
from gan_tf.config_checks import MAX_THREADS
from gan_tf.errors import RunError
from gan_tf.training import precision, steps

# auto's bound on an MLP step's size, batch x widest hidden layer: 12,800 (the default
# run) and 32,768 measured faster with one thread per op on the Xeon with AMX, 65,536 and
# more slower; the bound of every MLP in gan_tf 0.3.8-0.3.12, and of a resumed run from
# before the record.
SMALL_MLP_WORK = 32768
# The bounds by (bfloat16 on a CPU with bfloat16 units, --bcr_weight on), each the largest
# size measured faster with one thread, on a CPU with AMX (amx_bf16: a 2-core Xeon,
# docs/results/threads_scan_mlp_bcr_xeon_amx.json) and on one without (a 2-core EPYC with
# avx512_bf16 only, docs/results/threads_scan_epyc.json; since 0.3.14). The EPYC's are
# no larger in any case, so any CPU without AMX gets them. AMX only tells the two CPUs
# apart: float32 matmuls do not use it, and what makes them differ is not known.
MLP_WORK = {(False, False): SMALL_MLP_WORK, (False, True): 262144,
            (True, False): 131072, (True, True): 524288}
MLP_WORK_NO_AMX = {(False, False): 12800, (False, True): 262144,
                   (True, False): 12800, (True, True): 262144}
# and on a bfloat16 DCGAN step, batch x widest convolution's channels: with AMX 2,048 (the
# CPU flagfiles) and 4,096 measured faster with one thread, 8,192 even or slower, 16,384
# slower; without AMX none: 2,048 even (1.02x, then 0.97x over 5 rounds), 4,096 and more
# slower (0.85-0.91x).
SMALL_DCGAN_WORK = 4096
SMALL_DCGAN_WORK_NO_AMX = 0
AMX = "amx_bf16"  # the CPU flag that picks the bounds measured on the Xeon
DEFAULT = 0  # --intra_op_threads=0: TensorFlow's own choice
ENV = "TF_NUM_INTRAOP_THREADS"  # TensorFlow's own setting of it, which auto keeps


def environment_threads(environ=None):
    """The thread count TF_NUM_INTRAOP_THREADS sets, 1 to MAX_THREADS, or 0: unset, or a
    value TensorFlow ignores or --intra_op_threads would refuse (auto's own rule then
    applies)."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not (value.isascii() and value.isdigit()):
        return 0
    return int(value) if 0 < int(value) <= MAX_THREADS else 0


def resolve(config, accelerator=None, environ=None, resumed=False, recorded=None,
            cpu_units=None):
    """(threads per op, reason) for `config`; 0 is TensorFlow's default. `accelerator`:
    whether the run has a GPU or TPU (None: ask TensorFlow); `environ`: the environment
    (None: this process's); `resumed`: the run goes on from a checkpoint, which ran with
    `recorded` threads per op (its config.json's record; None: a run from before the
    record), which is kept; `cpu_units`: the CPU's bfloat16 flags (None: read them)."""
    if config.intra_op_threads is not None:
        return config.intra_op_threads, f"--intra_op_threads={config.intra_op_threads}"
    kept = environment_threads(environ)
    if kept:
        return kept, f"--intra_op_threads=auto: {ENV}={kept} in the environment"
    if resumed and recorded is not None:
        return recorded, "--intra_op_threads=auto: what the run ran with (config.json)"
    if config.model not in ("mlp", "dcgan"):
        return DEFAULT, f"--intra_op_threads=auto: --model={config.model}"
    if config.model == "dcgan" and resumed:
        return DEFAULT, ("--intra_op_threads=auto: a DCGAN run from before gan_tf 0.3.12, "
                         "which ran it at TensorFlow's default")
    if steps.resolve_option(config, "jit_compile"):
        return DEFAULT, "--intra_op_threads=auto: the step is XLA-compiled"
    if accelerator is None:
        accelerator = bool(tf.config.list_physical_devices("GPU")) or config.strategy == "tpu"
    if accelerator:
        return DEFAULT, "--intra_op_threads=auto: a GPU or TPU trains"
    units = None if resumed else (precision.cpu_bfloat16_units() if cpu_units is None
                                  else cpu_units)
    dtype = precision.resolve(config.mixed_precision, config.model, "CPU",
                              units=(bool(units), ""))[0]
    amx = AMX in (units or ())
    cpu = f"a CPU {'with' if amx else 'without'} AMX"
    basis = f"the bound measured for {cpu}"
    if config.model == "mlp":
        work = config.batch_size * models.widest_hidden(config)
        bfloat16 = bool(units) and dtype == "bfloat16"  # emulated bfloat16: float32's bound
        bcr = bool(config.bcr_weight)
        # a run from before the record: the rule of its time, the float32 bound
        bound = SMALL_MLP_WORK if resumed else (MLP_WORK if amx else MLP_WORK_NO_AMX)[
            bfloat16, bcr]
        step = " ".join(filter(None, ["bfloat16" * bfloat16, "MLP step", "with bCR" * bcr]))
        size = "batch x widest layer"
        if resumed:
            cpu, basis = "a CPU", "gan_tf 0.3.11's rule for a run from before the record"
    else:
        if dtype != "bfloat16":
            return DEFAULT, f"--intra_op_threads=auto: a DCGAN step in {dtype}"
        if not units:
            return DEFAULT, "--intra_op_threads=auto: bfloat16 on a CPU without bfloat16 units"
        work = config.batch_size * models.widest_channels(config)
        bound = SMALL_DCGAN_WORK if amx else SMALL_DCGAN_WORK_NO_AMX
        if not bound:
            return DEFAULT, (f"--intra_op_threads=auto: a bfloat16 DCGAN step on {cpu}, where "
                             "one thread per op was measured no faster (batch x widest "
                             "convolution 2,048-16,384)")
        step, size = "bfloat16 DCGAN step", "batch x widest convolution"
    if work > bound:
        return DEFAULT, f"--intra_op_threads=auto: a{'n' * (step[0] == 'M')} {step} of {size} " \
                        f"{work:,} > {bound:,}, {basis}"
    return 1, (f"--intra_op_threads=auto: a small {step} on {cpu}, {size} {work:,} <= {bound:,}"
               + f", {basis}" * resumed)


def configure(config, resumed=False, recorded=None):
    """Sets TensorFlow's threads per op as `config` resolves them (for a run `resumed`
    that `recorded` its count, see resolve), before its runtime starts; returns (threads
    per op now in force, 0 for TensorFlow's default, reason)."""
    wanted, why = resolve(config, resumed=resumed, recorded=recorded)
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
