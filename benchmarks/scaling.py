"""Steps per second from 1 to 2 replicas: train_main.py under each tf.distribute strategy.

    python benchmarks/scaling.py                 # tf1_mnist and dcgan_cpu, every variant
    python benchmarks/scaling.py --steps=2000 --configs=tf1_mnist --report=out.json

Each variant runs `python train_main.py --flagfile=flags/<config>.cfg` for --steps
steps (no evaluation) and reports the median steps/s of its log records (the first,
which holds graph building, left out), and the mean losses of the first log
interval, which agree across variants that compute the same thing:
  default            one device, the flagfile's XLA setting (the default path)
  default_no_xla     one device without XLA (the replicas below run without it)
  mirrored_2         MirroredStrategy over 2 logical CPU devices (--cpu_devices=2)
  multi_worker_2     two worker processes on 127.0.0.1 (TF_CONFIG), one replica each
On a CPU the logical devices share the same cores, so this demonstrates that the
distributed paths run and agree; it is not a speed-up. On a multi-GPU machine run
the same with --strategy=mirrored and no --cpu_devices.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, write_json  # noqa: E402
VARIANTS = {
    "default": [],
    "default_no_xla": ["--nojit_compile"],
    "mirrored_2": ["--strategy=mirrored", "--cpu_devices=2", "--nojit_compile"],
    "multi_worker_2": ["--strategy=multi_worker"],
}


def run(config, variant, steps, work_dir):
    out = os.path.join(work_dir, f"{config}_{variant}")
    log_every = max(1, steps // 10)
    cmd = [sys.executable, os.path.join(ROOT, "train_main.py"),
           f"--flagfile={os.path.join(ROOT, 'flags', config + '.cfg')}", "--dataset=mnist_5k",
           f"--max_steps={steps}", f"--log_every={log_every}", f"--checkpoint_every={steps}",
           f"--sample_every={steps}", "--eval_samples=0", f"--output_dir={out}",
           *VARIANTS[variant]]
    from gan_tf.training.distribute import local_cluster
    tf_configs = local_cluster(2) if variant.startswith("multi_worker") else [None]
    start = time.time()
    procs = []
    for tf_config in tf_configs:
        env = dict(os.environ, **({"TF_CONFIG": tf_config} if tf_config else {}))
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    errors = [p.communicate()[1] for p in procs]
    wall = time.time() - start
    for p, err in zip(procs, errors):
        if p.returncode != 0:
            raise SystemExit(f"{config} {variant} failed:\n{err[-3000:]}")
    with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    speeds = [r["steps_per_sec"] for r in records[1:]]  # the first holds graph building
    first = records[0]
    return {"config": config, "variant": variant, "steps": records[-1]["step"],
            "median_steps_per_sec": round(statistics.median(speeds), 1),
            "first_record": {k: round(first[k], 5) for k in ("step", "d_loss", "g_loss")},
            "wall_s": round(wall, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="tf1_mnist,dcgan_cpu")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=0,
                        help="steps per run (default: 4000 for MLPs, 800 for DCGANs)")
    parser.add_argument("--report", help="write the results as JSON here")
    args = parser.parse_args()
    check_out("report", args.report)
    results = []
    with tempfile.TemporaryDirectory(prefix="gan_tf_scaling_") as work_dir:
        for config in args.configs.split(","):
            steps = args.steps or (800 if "dcgan" in config else 4000)
            for variant in args.variants.split(","):
                result = run(config, variant, steps, work_dir)
                results.append(result)
                print(json.dumps(result), flush=True)
    print("\n| config | variant | steps/s (median) | d_loss / g_loss, mean of the first log interval |")
    print("|---|---|---|---|")
    for r in results:
        f = r["first_record"]
        print(f"| {r['config']} | {r['variant']} | {r['median_steps_per_sec']} | "
              f"steps 1-{f['step']}: {f['d_loss']:.5f} / {f['g_loss']:.5f} |")
    if args.report:
        write_json(args.report, {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                                 "results": results}, indent=2)


if __name__ == "__main__":
    main()
