"""Training throughput of gan_tf against the code it replaces, measured in one run.

    python benchmarks/throughput.py            # full: 3 rounds, all batch sizes (12-18 min)
    python benchmarks/throughput.py --quick    # batch 100 MLP, batch 64 DCGAN, 2 rounds
    python benchmarks/throughput.py --models=dcgan   # the DCGAN's groups alone (~6 min)

Variants, grouped by model and batch (benchmarks/throughput_variants.py):
  tf1_session    the legacy TF1 MLP GAN graph (benchmarks/legacy_tf1_gan.py) run
                 with Session.run and feed_dict, one D and one G minimize per step,
                 a random index batch gathered and float64 z fed (as first written here);
  tf1_session_fast  the same loop with contiguous slices of each epoch's shuffle and
                 float32 z: the fastest feed_dict loop of the notebook's shape;
  tf1_dataset    the same graph fed by a tf.data one-shot iterator, z drawn in the graph;
  tf1_dataset_1thread  the same with its Session's ConfigProto asking one thread per op
                 (what gan_tf's --intra_op_threads=auto gives small MLP steps);
                 the MLP ratios are given against each TF1 loop and against the fastest
                 (`tf1_fastest`), which README quotes;
  tf2_eager      the same model and steps with gan_tf's modules, eagerly;
  gan_tf         gan_tf's GANTrainer.train_steps as train_main.py runs it: the tf.data
                 pipeline, many steps per graph call, per-step metrics read per call;
                 `_xla` with the step XLA-compiled, `_bf16` with --mixed_precision
                 (bfloat16 compute; fast only where the CPU has bfloat16 instructions);
                 each with the threads per op --intra_op_threads=auto gives its config;
  keras_tutorial the DCGAN loop of the official TensorFlow tutorial: Sequential models,
                 one tf.function step with two GradientTapes, a Python loop over a
                 tf.data dataset, at the same model and batch as gan_tf's DCGAN.
Each variant runs in a process of its own (TensorFlow's thread pools, graph caches and
allocator are then the variant's alone: a TF1 Session sharing a process with the TF2
variants ran slower than alone). The processes of a group are started together and
take turns of 0.5 s (the next turn is the variant that has run least) until each has
run --seconds per round, so that a change in the machine's load hits every variant of
a group alike; rates are steps over the variant's own time, the median over rounds.

Also: the default run (`train.train` of TrainConfig's defaults, in a worker process
whose threads per op are set as train_main.py sets them, with the default --log_every
and with --log_every=1, between the rounds of the batch-100 MLP group; see
throughput_variants.default_run for its window) as a ratio to the benchmark loop at the
same settings; the MLP step's achieved GFLOP/s (its multiply-adds counted analytically)
against its own matmul shapes alone (the faster of TensorFlow's default threads and
the default run's) and against a large square matmul; and the wall time from launching
`python train_main.py` to its first training step. Writes a JSON report with --report.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

if __name__ == "__main__":  # the command's quiet default; importing this module changes nothing
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tensorflow as tf  # noqa: E402

from benchmarks import throughput_variants as v  # noqa: E402
from benchmarks.results_file import check_out, write_json  # noqa: E402
from gan_tf import data  # noqa: E402
from gan_tf.config import TrainConfig  # noqa: E402
from gan_tf.training import precision, threads  # noqa: E402
from gan_tf.training.steps import SPEED_DEFAULTS  # noqa: E402

DCGAN = dict(model="dcgan", optimizer="adam", g_learning_rate=1e-4, d_learning_rate=1e-4,
             z_distribution="normal")  # the tutorial's settings
# The CPU DCGAN flagfiles' network and optimizer (flags/dcgan_cpu.cfg), group "dcgancpu".
CPU_DCGAN = dict(model="dcgan", kernel_size=5, leak=0.2, dropout=0.0, z_distribution="normal",
                 optimizer="adam", g_learning_rate=5e-4, d_learning_rate=5e-4, g_beta1=0.5,
                 d_beta1=0.5)
# The wide MLP flagfile's networks and optimizer (flags/mlp_info_wide_bcr.cfg): group
# "mlpbcr" with its bCR term, "mlpwide" the same without it.
WIDE_MLP = dict(model="mlp", g_hidden=(256, 512, 1024), g_batchnorm=True, bn_momentum=0.8,
                d_hidden=(1024, 512), leak=0.2, z_dim=128, z_distribution="normal",
                optimizer="adam", g_learning_rate=2e-4, d_learning_rate=2e-4, g_beta1=0.5,
                d_beta1=0.5, latent_categories=10)


MLP_VARIANTS = (*v.TF1_VARIANTS, "tf2_eager", "gan_tf_xla", "gan_tf", "gan_tf_xla_bf16",
                "gan_tf_bf16")
DCGAN_VARIANTS = ("keras_tutorial", "gan_tf", "gan_tf_bf16")
EXTRAS = "extras"  # a group's worker for its measurements other than steps/s
EXTRAS_RUN = "extras_run"  # the same with the threads per op a default run of its batch gets
# Which extras worker takes each measurement (step_matmuls_gflops in both: the bound is
# the faster).
EXTRA_WORKERS = {"step_matmuls_gflops": EXTRAS, "step_matmuls_gflops_run_threads": EXTRAS_RUN,
                 "default_run": EXTRAS_RUN, "default_run_log_every_1": EXTRAS_RUN}
CHUNK_SECONDS = 0.5  # a worker runs this long before the next variant's turn
ANSWER = "@throughput "  # marks a worker's answers on its stdout


def parse_group(gname):
    """(model, batch, size) of a group's name: "mlp/b100", or with a size, "mlp/b100/w512"
    (the MLP's hidden width) or "dcgan/b64/x2" (the DCGAN's channels times 2); "dcgancpu"
    is the CPU flagfiles' smaller DCGAN, "mlpbcr" and "mlpwide" the wide MLP flagfile's
    networks with and without bCR (only gan_tf's variants, no size)."""
    model, batch, *size = gname.split("/")
    if size:
        return model, int(batch[1:]), int(size[0][1:])
    return model, int(batch[1:]), None


def build_variant(gname, name, images):
    """(step, steps_per_call) of variant `name` of group `gname` ("mlp/b100")."""
    model, b, size = parse_group(gname)
    if name in v.TF1_VARIANTS:
        return getattr(v, name)(images, b)
    if name == "tf2_eager":
        return v.tf2_eager(images, b)
    if name == "keras_tutorial":
        return v.keras_tutorial_dcgan(images, b, size or 1)
    if name == "keras_loop":
        return v.keras_mlp(images, b, size or 128)
    cfg = gan_tf_config(gname, name)
    threads.configure(cfg)  # as train() does, before any TensorFlow work of the process
    return v.gan_tf_trainer(cfg, images, steps_per_call(model, b, size))


def gan_tf_config(gname, name):
    """The TrainConfig of gan_tf variant `name` ("gan_tf", "gan_tf_xla_bf16", ...) of group
    `gname`; a name ending "@N" forces --intra_op_threads=N (else auto's choice)."""
    model, b, size = parse_group(gname)
    name, _, forced = name.partition("@")
    jit, bf16 = "_xla" in name, "_bf16" in name
    if model == "mlp":
        settings = dict(model="mlp", g_hidden=(size or 128,), d_hidden=(size or 128,))
    elif model in ("mlpbcr", "mlpwide"):
        settings = dict(WIDE_MLP, bcr_weight=1.0 if model == "mlpbcr" else 0.0)
    elif model == "dcgancpu":
        scale = size or 1
        settings = dict(CPU_DCGAN, g_channels=(64 * scale, 32 * scale),
                        d_channels=(32 * scale, 64 * scale))
    else:
        scale = size or 1
        settings = dict(DCGAN, g_channels=(256 * scale, 128 * scale, 64 * scale),
                        d_channels=(64 * scale, 128 * scale))
    return TrainConfig(batch_size=b, jit_compile=jit, mixed_precision="bfloat16" if bf16 else "off",
                       intra_op_threads=int(forced) if forced else None, **settings)


def steps_per_call(model, batch, size):
    """In-graph steps per call: about 0.3 s of work at any batch and width (200 for the
    batch-100 MLP, as the rates of earlier runs were measured)."""
    if model == "mlp":
        return max(1, round(200 * (100 / batch) * (128 / (size or 128))))
    if model == "dcgancpu":
        return max(1, round(24 * (32 / batch) / (size or 1) ** 2))
    if model in ("mlpbcr", "mlpwide"):
        return max(1, round(16 * (128 / batch)))
    return 2 if batch * (size or 1) ** 2 <= 128 else 1


def extra_value(gname, name, run_steps):
    """A measurement other than a variant's steps/s, taken in the group's extras worker."""
    b = parse_group(gname)[1]
    if name in ("step_matmuls_gflops", "step_matmuls_gflops_run_threads"):
        return v.mlp_step_matmuls_gflops(b)
    if name == "default_run":
        return v.default_run(run_steps[0])
    if name == "default_run_log_every_1":
        return v.default_run(run_steps[1], log_every=1)
    raise ValueError(f"unknown measurement {name!r}")


def worker(spec, run_steps):
    """A variant in a process of its own (--worker=GROUP/VARIANT): builds and warms it
    up, says so, then for each line "run SECONDS" on stdin runs calls for that long and
    answers {"steps", "seconds"}; for "extra NAME", {"value"}. Ends at end of input."""
    gname, name = spec.rsplit("/", 1)
    channel, sys.stdout = sys.stdout, sys.stderr  # what the variants print is not an answer

    def answer(value):
        print(ANSWER + json.dumps(value), file=channel, flush=True)
    if name == EXTRAS_RUN:  # as train() sets them for a default run of this batch
        threads.configure(TrainConfig(batch_size=parse_group(gname)[1]))
    images = data.load_mnist_5k().train_images
    step, per_call = ((None, 0) if name in (EXTRAS, EXTRAS_RUN)
                      else build_variant(gname, name, images))
    if step is not None:
        step(), step()  # tracing, compilation, caches
    answer({"ready": True,
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads()})
    for line in sys.stdin:
        command, arg = line.split()
        if command == "extra":
            answer({"value": extra_value(gname, arg, run_steps)})
            continue
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < float(arg):
            step()
            steps += per_call
        answer({"steps": steps, "seconds": time.perf_counter() - start})


class Worker:
    """The parent's handle on a worker process."""

    def __init__(self, spec, quick):
        cmd = [sys.executable, os.path.abspath(__file__), f"--worker={spec}"] + ["--quick"] * quick
        self.spec = spec
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        env.pop("TF_NUM_INTRAOP_THREADS", None)  # each variant's threads are its own choice
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)

    def ask(self, line=None):
        if line is not None:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(ANSWER):
                return json.loads(line[len(ANSWER):])
        raise SystemExit(f"throughput.py: worker {self.spec} died (exit {self.proc.wait()})")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def interleaved_rates(workers, seconds):
    """steps/s of each worker's variant, run until each has run about `seconds`: the next
    turn (CHUNK_SECONDS) is always the variant that has run least so far, so the
    variants' processes take turns on the machine and a load change hits them alike."""
    spent, steps = dict.fromkeys(workers, 0.0), dict.fromkeys(workers, 0)
    while min(spent.values()) < seconds:
        name = min(spent, key=spent.get)
        answer = workers[name].ask(f"run {CHUNK_SECONDS}")
        spent[name] += answer["seconds"]
        steps[name] += answer["steps"]
    return {name: steps[name] / spent[name] for name in workers}


def alone_rates(gname, names, seconds, quick, threads_of=None):
    """steps/s of each variant with no other benchmark process alive: started, run for
    `seconds` in turns of CHUNK_SECONDS, ended, one variant after another (--alone);
    each worker's threads per op go into `threads_of`."""
    rates = {}
    for name in names:
        w = Worker(f"{gname}/{name}", quick)
        ready = w.ask()
        if threads_of is not None:
            threads_of[f"{gname}/{name}"] = ready["intra_op_threads"]
        rates[name] = interleaved_rates({name: w}, seconds)[name]
        w.close()
    return rates


def measure(groups, rounds, seconds, extras, quick, alone=False):
    """Median steps/s per 'group/variant' over `rounds`, each variant in its own process
    (a group's processes alive together, taking turns; with `alone`, one process at a
    time); `extras[group]` names the other measurements of a group, taken after each of
    its rounds (returned as medians too)."""
    rates, extra, threads_of = {}, {}, {}
    if alone:
        for r in range(rounds):
            for gname, names in groups.items():
                slow = gname.startswith("dcgan")
                for name, rate in alone_rates(gname, names, seconds * (1.5 if slow else 1),
                                              quick, threads_of).items():
                    rates.setdefault(f"{gname}/{name}", []).append(rate)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr)
        groups = {g: () for g in groups if extras.get(g)}  # the extras, as below
    for gname, names in groups.items():
        workers = {name: Worker(f"{gname}/{name}", quick) for name in names}
        for kind in sorted({EXTRA_WORKERS[name] for name in extras.get(gname, ())}):
            workers[kind] = Worker(f"{gname}/{kind}", quick)
        for name, w in workers.items():
            threads_of[f"{gname}/{name}"] = w.ask()["intra_op_threads"]  # ready
        slow = gname.startswith("dcgan")
        timed = {n: w for n, w in workers.items() if n not in (EXTRAS, EXTRAS_RUN)}
        for r in range(rounds):
            for name, rate in (interleaved_rates(timed, seconds * (1.5 if slow else 1)).items()
                               if timed else ()):
                rates.setdefault(f"{gname}/{name}", []).append(rate)
            for name in extras.get(gname, ()):
                extra.setdefault(f"{gname}/{name}", []).append(
                    workers[EXTRA_WORKERS[name]].ask(f"extra {name}")["value"])
            print(f"{gname}: round {r + 1}/{rounds} done", file=sys.stderr)
        for w in workers.values():
            w.close()
    all_values = {**rates, **extra}
    medians = {k: statistics.median(x) for k, x in all_values.items()}
    return medians, {k: [round(x, 2) for x in vals] for k, vals in all_values.items()}, threads_of


def mlp_auto_dtype():
    """What --mixed_precision=auto computes the default MLP in on this machine's CPU."""
    return precision.resolve(precision.AUTO, "mlp", "CPU")[0]


def ratios_of(medians, mlp_batches, dcgan_batches, mlp_dtype="float32"):
    """Each variant against its baseline: the MLP's against every TF1 loop and the
    fastest of them (`tf1_fastest`), the DCGAN's against the Keras tutorial loop;
    `mlp_dtype`, what --mixed_precision=auto computes the MLP in here: the default run is
    set against the benchmark loop of that type, and `default_step` is that loop."""
    ratios, gflops = {}, {}
    default_step = ("gan_tf" + "_xla" * SPEED_DEFAULTS["jit_compile"]["mlp"]
                    + "_bf16" * (mlp_dtype == "bfloat16"))
    for b in mlp_batches:
        g = f"mlp/b{b}"
        fastest = max(v.TF1_VARIANTS, key=lambda n: medians[f"{g}/{n}"])
        ratios[f"{g}/tf1_fastest is {fastest}"] = 1.0
        for name in ("gan_tf_xla", "gan_tf", "gan_tf_xla_bf16", "gan_tf_bf16", "tf2_eager"):
            for base in v.TF1_VARIANTS:
                ratios[f"{g}/{name} vs {base}"] = medians[f"{g}/{name}"] / medians[f"{g}/{base}"]
            ratios[f"{g}/{name} vs tf1_fastest"] = ratios[f"{g}/{name} vs {fastest}"]
        ratios[f"{g}/default_step ({default_step}) vs tf1_fastest"] = (
            ratios[f"{g}/{default_step} vs tf1_fastest"])
        for base in ("gan_tf_xla", "gan_tf"):  # each bfloat16 step against its float32 one
            ratios[f"{g}/{base}_bf16 vs {base}"] = (medians[f"{g}/{base}_bf16"]
                                                   / medians[f"{g}/{base}"])
        for name in (*v.TF1_VARIANTS, "gan_tf_xla", "gan_tf"):
            gflops[f"{g}/{name}"] = medians[f"{g}/{name}"] * 2 * b * v.mlp_macs_per_example() / 1e9
        gflops[f"{g}/step_matmuls_alone"] = max(
            medians[f"{g}/{name}"] for name in ("step_matmuls_gflops",
                                                "step_matmuls_gflops_run_threads")
            if f"{g}/{name}" in medians)
        for name in ("gan_tf_xla", "gan_tf"):
            ratios[f"{g}/{name} share of step_matmuls_alone"] = (
                gflops[f"{g}/{name}"] / gflops[f"{g}/step_matmuls_alone"])
    for b in dcgan_batches:
        g = f"dcgan/b{b}"
        for name in ("gan_tf", "gan_tf_bf16", "gan_tf_xla"):
            if f"{g}/{name}" in medians:
                ratios[f"{g}/{name} vs keras_tutorial"] = (medians[f"{g}/{name}"]
                                                          / medians[f"{g}/keras_tutorial"])
    if 100 in mlp_batches:
        loop = medians[f"mlp/b100/{default_step}"]
        for name in ("default_run", "default_run_log_every_1"):
            ratios[f"mlp/b100/{name} vs benchmark loop"] = medians[f"mlp/b100/{name}"] / loop
    return ratios, gflops


MODELS = ("mlp", "dcgan")  # the groups --models chooses from


def parse_args(argv=None):
    """The command's arguments, checked before any worker starts: --models must name
    some of MODELS (comma-separated), each once; counts must be positive."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a subset, about 5 minutes")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, quick 2)")
    p.add_argument("--seconds", type=float, default=None, help="seconds per variant and round")
    p.add_argument("--report", help="write the JSON results here")
    p.add_argument("--alone", action="store_true", help="one variant's process alive at a "
                   "time instead of a group's processes taking turns")
    p.add_argument("--models", default=",".join(MODELS),
                   help="the models whose groups to measure: mlp, dcgan or both (default); "
                   "with dcgan alone there is no MLP, default-run, GFLOP/s or start-up entry")
    p.add_argument("--batches", default=None,
                   help="batch sizes of every model measured, comma-separated (default: the "
                   "MLP 100,128,256 and the DCGAN 64,128,256; quick 100 and 64)")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # GROUP/VARIANT: run as a worker
    args = p.parse_args(argv)
    if args.batches is not None:
        try:
            args.batches = sorted({int(b) for b in args.batches.split(",")})
        except ValueError:
            args.batches = []
        if not args.batches or args.batches[0] < 1:
            p.error("--batches: positive whole numbers, comma-separated")
    models = args.models.split(",")
    if any(m not in MODELS for m in models) or len(set(models)) < len(models):
        p.error(f"--models={args.models!r}: one or both of {', '.join(MODELS)}, "
                "comma-separated, each once")
    for name in ("rounds", "seconds"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value > 0):  # nan, inf too
            p.error(f"--{name} must be positive (and finite)")
    check_out("report", args.report)
    args.models = models
    return args


def main(argv=None):
    args = parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    mlp_batches = (args.batches or ([100] if args.quick else [100, 128, 256])) * (
        "mlp" in args.models)
    dcgan_batches = (args.batches or ([64] if args.quick else [64, 128, 256])) * (
        "dcgan" in args.models)
    run_steps = (6000, 4000) if args.quick else (10000, 6000)  # default, --log_every=1
    if args.worker:
        return worker(args.worker, run_steps)

    groups = {f"mlp/b{b}": MLP_VARIANTS for b in mlp_batches}
    groups.update({f"dcgan/b{b}": DCGAN_VARIANTS + (("gan_tf_xla",) * (b == 64 and not args.quick))
                   for b in dcgan_batches})
    extras = {f"mlp/b{b}": ("step_matmuls_gflops", "step_matmuls_gflops_run_threads") + (
        ("default_run", "default_run_log_every_1") if b == 100 else ()) for b in mlp_batches}
    medians, per_round, threads_of = measure(groups, rounds, seconds, extras, args.quick,
                                             args.alone)
    mlp_dtype = mlp_auto_dtype()
    ratios, gflops = ratios_of(medians, mlp_batches, dcgan_batches, mlp_dtype)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
               "processes": "each variant in its own process, " + (
                   "one process alive at a time" if args.alone else
                   f"the processes of a model and batch taking turns of {CHUNK_SECONDS} s"),
               "cpu_flags": cpu_flags(), "tensorflow": tf.__version__, "rounds": rounds,
               "models": args.models,
               "intra_op_threads": {"note": "threads per op in each worker process (0: "
                                    "TensorFlow's default; tf1_dataset_1thread's Session "
                                    "asks 1 of its own)", **threads_of},
               "seconds_per_measurement": seconds,
               "steps_per_sec": {k: round(x, 2) for k, x in medians.items()
                                 if "gflops" not in k},
               "per_round": per_round, "ratios": {k: round(x, 3) for k, x in ratios.items()}}
    if mlp_batches:  # the MLP's own measurements, and the default run's (an MLP)
        results.update({
            "mlp_auto_compute_dtype": mlp_dtype, "default_run_steps": run_steps,
            "mlp_achieved_gflops": {k: round(x, 1) for k, x in gflops.items()},
            "mlp_step_matmuls_gflops": {k: round(x, 1) for k, x in medians.items()
                                        if "gflops" in k},
            "matmul_peak_gflops": round(v.matmul_peak_gflops(), 1),
            "start_to_first_step_s": round(v.start_to_first_step(1 if args.quick else 3), 2)})
    emit_report(results, args.report)


def emit_report(report, path=None):
    """Prints a benchmark's report as JSON, and writes it to `path` if given."""
    print(json.dumps(report, indent=2))
    if path:
        write_json(path, report, indent=2)


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's model name, the flags that decide bfloat16 speed, and its cores and
    threads per core, of the first socket (two logical CPUs of one core split an op
    unlike two cores)."""
    try:
        with open(path) as f:
            info = f.read(precision.CPUINFO_LIMIT)
    except OSError:
        return platform.processor()
    fields = {}  # the first core's: the first value of each key
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    present = fields.get("flags", "").split()
    flags = [f for f in ("avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in present]
    cores, siblings = fields.get("cpu cores", ""), fields.get("siblings", "")
    per_core = int(siblings) // int(cores) if cores.isdigit() and siblings.isdigit() and \
        int(cores) else 0
    topology = (f", {cores} core{'s' * (cores != '1')}, {per_core} thread"
                f"{'s' * (per_core != 1)} per core") * bool(per_core)
    return f"{fields.get('model name', '?')}: {' '.join(flags) or 'no avx512/bf16 flags'}" \
           f"{topology}"


if __name__ == "__main__":
    main()
