"""Which number type a run computes in (--mixed_precision), and why.

    auto      bfloat16 for the DCGAN on a device with bfloat16 units (a CPU whose flags
              name avx512_bf16 or amx_bf16, a GPU of compute capability 8.0 or later, a
              TPU), float32 otherwise: the MLP (its small matmuls no faster in bfloat16
              without AMX; 1.0-1.5x with it, but at full length on 3 seeds bfloat16
              lowered keras_mlp_mnist.cfg's recall and tf1_mnist.cfg's score past the
              float32 seeds' spread: docs/performance.md) and legacy model functions
              (--model=tf1) stay float32
    native    bfloat16 for every model where the device has bfloat16 units, float32
              elsewhere: auto's test of the device without auto's choice of models, for a
              run (or flagfile) that has measured its MLP in bfloat16 (gan_tf 0.3.13)
    off       float32
    on        the device's half type: float16 with loss scaling on GPUs, bfloat16 on CPUs
              and TPUs (what a bare --mixed_precision meant before 0.3.3)
    bfloat16, float16   that type on any device

Variables, losses, logs and outputs stay float32 in every case. A resumed run with
`auto` or `native` keeps the type its config.json records, so that it goes on computing exactly as it
started (whatever the machine it resumes on).
"""
import tensorflow as tf

from gan_tf.config_checks import COMPUTE_DTYPES as DTYPES
from gan_tf.config_checks import PRECISIONS as CHOICES

AUTO, OFF, ON = CHOICES[:3]
NATIVE = "native"
DEVICE_CHOICES = (AUTO, NATIVE)  # the choices that ask the device for bfloat16 units
# `on`: the half type of each device: float16 needs loss scaling, bfloat16 (TPU, CPU) has
# float32's range and does not.
HALF_TYPES = {"GPU": "float16", "TPU": "bfloat16", "CPU": "bfloat16"}
# The models auto gives bfloat16 on a device with bfloat16 units (docs/performance.md).
AUTO_MODELS = ("dcgan",)
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = "/proc/cpuinfo"
CPUINFO_LIMIT = 1 << 20  # read at most this much of it (one core's lines are enough)


def cpu_flags(path=CPUINFO):
    """The feature flags /proc/cpuinfo lists for the first core (an empty set where there
    is no such file, as on macOS or Windows)."""
    try:
        with open(path, "rb") as f:
            text = f.read(CPUINFO_LIMIT).decode("ascii", "replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_bfloat16_units(flags=None):
    """The bfloat16 flags this CPU reports (empty: bfloat16 would be emulated, and slow)."""
    flags = cpu_flags() if flags is None else flags
    return tuple(f for f in CPU_BFLOAT16_FLAGS if f in flags)


def gpu_has_bfloat16():
    """Whether the first GPU computes bfloat16 natively (compute capability >= 8.0)."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return False
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    return bool(capability) and tuple(capability) >= (8, 0)


def bfloat16_units(device):
    """(has units, what says so) for a device type 'CPU', 'GPU' or 'TPU'."""
    if device == "TPU":
        return True, "a TPU"
    if device == "GPU":
        return (True, "a GPU of compute capability 8.0+") if gpu_has_bfloat16() else (
            False, "a GPU without bfloat16 units")
    units = cpu_bfloat16_units()
    return (True, f"this CPU has {' and '.join(units)}") if units else (
        False, "this CPU has no bfloat16 units (no avx512_bf16 or amx_bf16)")


def resolve(choice, model, device, recorded=None, units=None):
    """(compute dtype, reason) for --mixed_precision=`choice` with `--model=model` on
    `device`; `recorded`: what a resumed run computed in (gan_tf.runs.recorded_precision:
    a dtype, or the "off"/"on" of a run from before the record), which auto and native
    keep; `units`: (has bfloat16 units, why) when already known, else asked of the device."""
    if choice == OFF:
        return "float32", "--mixed_precision=off"
    if choice == ON:
        return HALF_TYPES[device], f"--mixed_precision=on on a {device}"
    if choice not in DEVICE_CHOICES:
        return choice, f"--mixed_precision={choice}"
    if model == "tf1":  # legacy model functions compute in their variables' float32
        return "float32", f"--mixed_precision={choice}: float32 for --model=tf1"
    if recorded in (OFF, ON):
        dtype, _ = resolve(recorded, model, device)
        return dtype, f"--mixed_precision={choice}: the run's own --mixed_precision={recorded}"
    if recorded is not None:
        return recorded, f"--mixed_precision={choice}: what the run started with (config.json)"
    if choice == AUTO and model not in AUTO_MODELS:
        return "float32", f"--mixed_precision=auto: float32 for --model={model}"
    has, why = units if units is not None else bfloat16_units(device)
    return ("bfloat16" if has else "float32"), f"--mixed_precision={choice}: {why}"


def cpu_note(dtype, device):
    """A warning for a choice that runs slowly, or None."""
    if device == "CPU" and dtype == "float16":
        return "float16 on a CPU is emulated and slow; bfloat16 is the CPU's half type"
    if device == "CPU" and dtype == "bfloat16" and not cpu_bfloat16_units():
        return "this CPU has no bfloat16 units (no avx512_bf16 or amx_bf16): bfloat16 is " \
               "emulated and slower than float32 here"
    return None

