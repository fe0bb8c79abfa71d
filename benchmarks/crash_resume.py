"""Crash-resume stress test: SIGKILL a training run at random moments, resume it each time,
and check that nothing was lost or duplicated.

    python benchmarks/crash_resume.py --kills=10 --max_steps=3000 [--deterministic]

Each round starts `train_main.py` on the run directory (resuming it), waits a
random time and kills it with SIGKILL; a final round trains to the end. Then:
  * metrics.jsonl holds exactly one record per --log_every steps, in order;
  * train_losses.pkl has one pair per record, equal to the metrics;
  * train_samples.pkl / its steps are one per --sample_every steps, in order;
  * the latest checkpoint restores.
With --deterministic, an uninterrupted run with the same seed is trained too and
train_losses.pkl must be byte-identical and the final weights equal.
Bounded: at most --kills rounds and --time_budget seconds of killing.
Prints a JSON summary (and writes it to --report if given).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, write_bytes  # noqa: E402


def train_command(run_dir, args):
    command = [sys.executable, os.path.join(ROOT, "train_main.py"), "--dataset=mnist_5k",
               f"--output_dir={run_dir}", f"--max_steps={args.max_steps}",
               f"--log_every={args.log_every}", f"--checkpoint_every={args.checkpoint_every}",
               f"--sample_every={args.sample_every}", "--g_hidden=64", "--d_hidden=64",
               "--batch_size=64", f"--seed={args.seed}"]
    return command + (["--deterministic"] if args.deterministic else [])


def check_run(run_dir, args):
    """Returns a list of problems with the run's logs and checkpoint (empty: all good)."""
    from gan_tf import errors
    from gan_tf.runs.restore import restore_models
    from gan_tf.runs import logs
    from gan_tf.runs import pickles
    problems = []
    records = logs.read_metrics(os.path.join(run_dir, logs.METRICS))
    steps = [r["step"] for r in records]
    expected = list(range(args.log_every, args.max_steps + 1, args.log_every))
    if steps != expected:
        dupes = sorted({s for s in steps if steps.count(s) > 1})
        missing = sorted(set(expected) - set(steps))
        problems.append(f"metrics steps: {len(steps)} records, duplicated {dupes[:10]}, "
                        f"missing {missing[:10]}")
    losses = pickles.load_pickle(os.path.join(run_dir, logs.LOSSES))
    if len(losses) != len(records) or any(
            (float(d), float(g)) != (float(logs.np.float32(r["d_loss"])),
                                     float(logs.np.float32(r["g_loss"])))
            for (d, g), r in zip(losses, records)):
        problems.append(f"train_losses.pkl ({len(losses)} pairs) does not match metrics.jsonl")
    with open(os.path.join(run_dir, logs.SAMPLE_STEPS)) as f:
        sample_steps = json.load(f)
    samples = pickles.load_pickle(os.path.join(run_dir, logs.SAMPLES))
    if sample_steps != list(range(args.sample_every, args.max_steps + 1, args.sample_every)) \
            or len(samples) != len(sample_steps):
        problems.append(f"sample steps {sample_steps[:5]}... ({len(samples)} sample arrays)")
    try:
        _, _, _, path = restore_models(run_dir, checkpoint="latest")
        if not path.endswith(f"ckpt-{args.max_steps}"):
            problems.append(f"latest checkpoint is {path}")
    except errors.RunError as e:
        problems.append(str(e))
    return problems


def final_weights(run_dir):
    from gan_tf.runs.restore import restore_models
    _, g, d, _ = restore_models(run_dir, checkpoint="latest")
    return {v.name: v.numpy() for v in g.variables + d.variables}


def stress(args):
    work = tempfile.mkdtemp(prefix="crash_resume_")
    run_dir = os.path.join(work, "killed")
    rng = random.Random(args.seed)
    rounds, landed, started = [], 0, time.time()
    reference = os.path.join(work, "uninterrupted")
    if args.deterministic:  # the uninterrupted run to compare with, alongside the killed one
        reference_proc = subprocess.Popen(train_command(reference, args),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for i in range(args.kills):
        if time.time() - started > args.time_budget:
            break
        with open(os.path.join(work, f"round{i}.log"), "w") as log:
            proc = subprocess.Popen(train_command(run_dir, args), stdout=log, stderr=log)
        delay = rng.uniform(args.min_delay, args.max_delay)
        try:
            proc.wait(timeout=delay)
            outcome = f"finished before the kill (rc {proc.returncode})"
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            outcome = "killed"
            landed += 1
        rounds.append({"round": i, "delay_s": round(delay, 2), "outcome": outcome,
                       "records_after": _count_lines(os.path.join(run_dir, "metrics.jsonl"))})
        if proc.returncode == 0:
            break  # the run completed; no further kill can land
    final = subprocess.run(train_command(run_dir, args), capture_output=True, text=True)
    problems = [] if final.returncode == 0 else [f"final resume failed: {final.stderr[-500:]}"]
    problems += check_run(run_dir, args)
    summary = {"kills_requested": args.kills, "kills_landed": landed, "rounds": rounds,
               "max_steps": args.max_steps, "log_every": args.log_every,
               "checkpoint_every": args.checkpoint_every, "deterministic": args.deterministic}
    if args.deterministic:
        _, stderr = reference_proc.communicate()
        if reference_proc.returncode:
            raise RuntimeError(f"the uninterrupted run failed: {stderr.decode()[-500:]}")
        with open(os.path.join(run_dir, "train_losses.pkl"), "rb") as a, \
                open(os.path.join(reference, "train_losses.pkl"), "rb") as b:
            same_losses = a.read() == b.read()
        ours, theirs = final_weights(run_dir), final_weights(reference)
        same_weights = ours.keys() == theirs.keys() and all(
            (ours[k] == theirs[k]).all() for k in ours)
        summary.update(losses_bitwise_equal=same_losses, weights_bitwise_equal=same_weights)
        if not same_losses:
            problems.append("train_losses.pkl differs from the uninterrupted run")
        if not same_weights:
            problems.append("final weights differ from the uninterrupted run")
    summary.update(problems=problems, ok=not problems, seconds=round(time.time() - started, 1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        summary["work_dir"] = work
    return summary


def _count_lines(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for _ in f)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=10, help="SIGKILL rounds (at most)")
    p.add_argument("--max_steps", type=int, default=3000)
    p.add_argument("--log_every", type=int, default=10)
    p.add_argument("--checkpoint_every", type=int, default=100)
    p.add_argument("--sample_every", type=int, default=50)
    p.add_argument("--min_delay", type=float, default=4.0, help="seconds after start")
    p.add_argument("--max_delay", type=float, default=12.0)
    p.add_argument("--time_budget", type=float, default=600.0, help="seconds of kill rounds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--deterministic", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the run directories")
    p.add_argument("--report", help="also write the JSON summary here")
    args = p.parse_args(argv)
    for name in ("kills", "max_steps", "log_every", "checkpoint_every", "sample_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be positive")
    if not 0 <= args.min_delay <= args.max_delay:
        p.error("need 0 <= --min_delay <= --max_delay")
    check_out("report", args.report)
    return args


def main():
    args = parse_args()
    summary = stress(args)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.report:
        write_bytes(args.report, (text + "\n").encode("utf-8"))
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
