"""Training throughput of gan_tf against the code it replaces, measured in one run.

    python benchmarks/throughput.py            # full: 3 rounds, all batch sizes (~12 min)
    python benchmarks/throughput.py --quick    # batch 100 MLP, batch 64 DCGAN, 2 rounds

Variants, grouped by model and batch (benchmarks/throughput_variants.py):
  tf1_session    the legacy TF1 MLP GAN graph (benchmarks/legacy_tf1_gan.py) run
                 with Session.run and feed_dict, one D and one G minimize per step;
  tf2_eager      the same model and steps with gan_tf's modules, eagerly;
  gan_tf         gan_tf's GANTrainer.train_steps as train_main.py runs it: the tf.data
                 pipeline, many steps per graph call, per-step metrics read per call;
                 `_xla` with the step XLA-compiled, `_bf16` with --mixed_precision
                 (bfloat16 compute; fast only where the CPU has bfloat16 instructions);
  keras_tutorial the DCGAN loop of the official TensorFlow tutorial: Sequential models,
                 one tf.function step with two GradientTapes, a Python loop over a
                 tf.data dataset, at the same model and batch as gan_tf's DCGAN.
Within a group the variants' calls interleave (the next call is the variant that has
run least) until each has run --seconds per round, so that a change in the machine's
load hits every variant of a group alike; rates are steps over the variant's own
time, the median over rounds.

Also: the default run (`train.train` of TrainConfig's defaults, in this process,
with the default --log_every and with --log_every=1, between the rounds of the
batch-100 MLP group; see throughput_variants.default_run for its window) as a
ratio to the benchmark loop at the same settings; the MLP step's achieved GFLOP/s
(its multiply-adds counted analytically) against its own matmul shapes alone and
against a large square matmul; and the wall time from launching
`python train_main.py` to its first training step. Writes a JSON report with --report.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tensorflow as tf  # noqa: E402

from benchmarks import throughput_variants as v  # noqa: E402
from gan_tf import data  # noqa: E402
from gan_tf.config import TrainConfig  # noqa: E402
from gan_tf.training.steps import SPEED_DEFAULTS  # noqa: E402

DCGAN = dict(model="dcgan", optimizer="adam", g_learning_rate=1e-4, d_learning_rate=1e-4,
             z_distribution="normal")  # the tutorial's settings


def mlp_group(images, b):
    group = {"tf1_session": v.tf1_session(images, b), "tf2_eager": v.tf2_eager(images, b)}
    for jit, bf16 in ((True, False), (False, False), (True, True)):
        cfg = TrainConfig(model="mlp", batch_size=b, jit_compile=jit, mixed_precision=bf16)
        group["gan_tf" + "_xla" * jit + "_bf16" * bf16] = v.gan_tf_trainer(cfg, images, 200)
    return group


def dcgan_group(images, b, with_xla):
    group = {"keras_tutorial": v.keras_tutorial_dcgan(images, b)}
    for jit, bf16 in ((False, False), (False, True)) + (((True, False),) if with_xla else ()):
        cfg = TrainConfig(batch_size=b, jit_compile=jit, mixed_precision=bf16, **DCGAN)
        group["gan_tf" + "_xla" * jit + "_bf16" * bf16] = v.gan_tf_trainer(cfg, images, 2)
    return group


def interleaved_rates(group, seconds):
    """steps/s of each variant of `group`, run until each has run about `seconds`: the
    next call is always the variant that has run least so far, so the variants'
    calls interleave whatever their lengths."""
    spent, steps = dict.fromkeys(group, 0.0), dict.fromkeys(group, 0)
    while min(spent.values()) < seconds:
        name = min(spent, key=spent.get)
        step, per_call = group[name]
        start = time.perf_counter()
        step()
        spent[name] += time.perf_counter() - start
        steps[name] += per_call
    return {name: steps[name] / spent[name] for name in group}


def measure(groups, rounds, seconds, between_rounds):
    """Median steps/s per 'group/variant' over `rounds`; between_rounds(group) after each
    round of a group may add its own measurements (returned as lists)."""
    for group in groups.values():  # warm-up: tracing, compilation, caches
        for step, _ in group.values():
            step(), step()
    rates, extra = {}, {}
    for r in range(rounds):
        for gname, group in groups.items():
            slow = gname.startswith("dcgan")
            for name, rate in interleaved_rates(group, seconds * (1.5 if slow else 1)).items():
                rates.setdefault(f"{gname}/{name}", []).append(rate)
            for name, value in between_rounds(gname).items():
                extra.setdefault(name, []).append(value)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    medians = {k: statistics.median(x) for k, x in {**rates, **extra}.items()}
    return medians, {k: [round(x, 2) for x in vals] for k, vals in {**rates, **extra}.items()}


def ratios_of(medians, mlp_batches, dcgan_batches):
    ratios, gflops = {}, {}
    for b in mlp_batches:
        g = f"mlp/b{b}"
        for name in ("gan_tf_xla", "gan_tf", "gan_tf_xla_bf16", "tf2_eager"):
            ratios[f"{g}/{name} vs tf1_session"] = medians[f"{g}/{name}"] / medians[f"{g}/tf1_session"]
        ratios[f"{g}/gan_tf_xla_bf16 vs gan_tf_xla"] = (medians[f"{g}/gan_tf_xla_bf16"]
                                                       / medians[f"{g}/gan_tf_xla"])
        for name in ("tf1_session", "gan_tf_xla", "gan_tf"):
            gflops[f"{g}/{name}"] = medians[f"{g}/{name}"] * 2 * b * v.mlp_macs_per_example() / 1e9
        gflops[f"{g}/step_matmuls_alone"] = medians[f"{g}/step_matmuls_gflops"]
        ratios[f"{g}/gan_tf_xla share of step_matmuls_alone"] = (
            gflops[f"{g}/gan_tf_xla"] / gflops[f"{g}/step_matmuls_alone"])
    for b in dcgan_batches:
        g = f"dcgan/b{b}"
        for name in ("gan_tf", "gan_tf_bf16", "gan_tf_xla"):
            if f"{g}/{name}" in medians:
                ratios[f"{g}/{name} vs keras_tutorial"] = (medians[f"{g}/{name}"]
                                                          / medians[f"{g}/keras_tutorial"])
    loop = medians["mlp/b100/gan_tf" + "_xla" * SPEED_DEFAULTS["jit_compile"]["mlp"]]
    for name in ("default_run", "default_run_log_every_1"):
        ratios[f"mlp/b100/{name} vs benchmark loop"] = medians[f"mlp/b100/{name}"] / loop
    return ratios, gflops


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a subset, about 3 minutes")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, quick 2)")
    p.add_argument("--seconds", type=float, default=None, help="seconds per variant and round")
    p.add_argument("--report", help="write the JSON results here")
    args = p.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    mlp_batches = [100] if args.quick else [100, 128, 256]
    dcgan_batches = [64] if args.quick else [64, 128, 256]
    run_steps = (1500, 1000) if args.quick else (4000, 2000)  # default, --log_every=1
    images = data.load_mnist_5k().train_images

    groups = {f"mlp/b{b}": mlp_group(images, b) for b in mlp_batches}
    groups.update({f"dcgan/b{b}": dcgan_group(images, b, b == 64 and not args.quick)
                   for b in dcgan_batches})

    def between_rounds(gname):
        if not gname.startswith("mlp"):
            return {}
        b = int(gname.split("/b")[1])
        extra = {f"{gname}/step_matmuls_gflops": v.mlp_step_matmuls_gflops(b)}
        if b == 100:
            extra[f"{gname}/default_run"] = v.default_run(run_steps[0])
            extra[f"{gname}/default_run_log_every_1"] = v.default_run(run_steps[1], log_every=1)
        return extra

    medians, per_round = measure(groups, rounds, seconds, between_rounds)
    ratios, gflops = ratios_of(medians, mlp_batches, dcgan_batches)
    peak = v.matmul_peak_gflops()
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
               "cpu_flags": cpu_flags(), "tensorflow": tf.__version__, "rounds": rounds,
               "seconds_per_measurement": seconds, "default_run_steps": run_steps,
               "steps_per_sec": {k: round(x, 2) for k, x in medians.items()
                                 if not k.endswith("gflops")},
               "per_round": per_round, "ratios": {k: round(x, 3) for k, x in ratios.items()},
               "mlp_achieved_gflops": {k: round(x, 1) for k, x in gflops.items()},
               "matmul_peak_gflops": round(peak, 1),
               "start_to_first_step_s": round(v.start_to_first_step(1 if args.quick else 3), 2)}
    text = json.dumps(results, indent=2)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")


def cpu_flags():
    """The CPU's model name and the flags that decide bfloat16 speed."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), "?")
    present = set(info.split())
    flags = [f for f in ("avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in present]
    return f"{model}: {' '.join(flags) or 'no avx512/bf16 flags'}"


if __name__ == "__main__":
    main()
