"""Is a flagfile safe to run longer? Each seed trains it to --factor times its --max_steps,
evaluating every 1/6 of its length (or the nearest finer fraction that divides it), and reports three scores of the same run:

- at its length: the in-run evaluation at --max_steps (the run as the flagfile ends it);
- served at twice it: the checkpoint a user's tools restore by default after the longer
  run (`checkpoints/best-STEP`, the best in-run evaluation), scored again on 1,000 fresh
  latent codes (another seed's), so that picking the best of many noisy evaluations does
  not flatter it;
- last at twice it: the in-run evaluation at the last step (what the run ends with).

    python benchmarks/longer.py --flagfile=dcgan_cpu [--seeds=0,1,2] [--factor=2]
        [--out=docs/results/longer_dcgan_cpu.json] [--work=DIR]

Issue 28's target: "served" within 0.2 of "at its length" (mean of the seeds). Runs
resume where they stopped when rerun; results go to the JSON after each seed, beside the
seeds it already holds (a rerun measures only the missing ones). A JSON of another
flagfile, factor or length of the flagfile is refused, not merged into.
"""
import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, read_json, write_json  # noqa: E402
from benchmarks.sweep import base_max_steps, cpu_name  # noqa: E402

EVALUATIONS_PER_LENGTH = 6
FRESH_Z_OFFSET = 1_000_003  # the fresh codes' seed: the run's seed plus this


def served(run_dir):
    """(run config, generator, evaluator, checkpoint path): the run's default checkpoint
    (the best) and an evaluator on fresh latent codes (the run's seed + FRESH_Z_OFFSET),
    which draws a --code_prior=learned run's codes from that checkpoint's D."""
    from gan_tf.data import load, without_classes
    from gan_tf.evaluation import GeneratorEvaluator
    from gan_tf.runs.restore import restore_models
    config, generator, discriminator, path = restore_models(run_dir)
    fresh = dataclasses.replace(config, seed=config.seed + FRESH_Z_OFFSET)
    all_data = load(config.dataset, config.data_dir)  # as the run's own evaluations had it
    data = without_classes(all_data, config.exclude_classes)
    return config, generator, GeneratorEvaluator(fresh, data, all_data,
                                                 discriminator=discriminator), path


def fresh_score(run_dir):
    """The metrics of the run's default checkpoint (the best) on fresh latent codes."""
    _, generator, evaluator, path = served(run_dir)
    return dict(evaluator(generator), checkpoint=os.path.basename(path))


def eval_interval(length, at_least=EVALUATIONS_PER_LENGTH):
    """The evaluation interval: length / k for the smallest k >= `at_least` that divides
    the length, so that an evaluation falls on the flagfile's own last step (20,000 // 6
    = 3,333 would evaluate at 19,998 and never at 20,000)."""
    k = at_least
    while length % k:
        k += 1
    return length // k


def measure(flagfile, seed, factor, work):
    path = os.path.join(ROOT, "flags", f"{flagfile}.cfg")
    length = base_max_steps(path)
    run_dir = os.path.join(work, f"{flagfile}_seed{seed}")
    cmd = [sys.executable, os.path.join(ROOT, "train_main.py"), f"--flagfile={path}",
           "--dataset=mnist_5k", f"--seed={seed}", f"--output_dir={run_dir}",
           f"--max_steps={factor * length}", f"--eval_every={eval_interval(length)}",
           "--progress_seconds=0"]
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    with open(os.path.join(run_dir, "eval.json")) as f:
        evals = json.load(f)
    at = {e["step"]: e for e in evals["evaluations"]}
    if length not in at:
        raise SystemExit(f"{run_dir} has no evaluation at step {length}: a run of another "
                         "length or evaluation interval; give another --work or remove it")
    keys = ("classifier_score", "modes", "recall", "precision", "frechet_distance")
    served = fresh_score(run_dir)
    return dict(seed=seed, length=length, steps=factor * length,
                seconds=round(time.time() - start, 1),
                at_length={k: at[length][k] for k in keys},
                served={k: float(served[k]) for k in keys}, served_checkpoint=served["checkpoint"],
                last={k: evals["final"][k] for k in keys},
                curve=[(e["step"], round(e["classifier_score"], 3)) for e in evals["evaluations"]])


def earlier_runs(out, flagfile, factor, length):
    """The runs already in `out` (none without the file). They must be this measurement's,
    the same flagfile and factor at the flagfile's present length: a file of another is not
    merged into, nor rewritten without its runs; SystemExit in one line."""
    if not os.path.exists(out):
        return []
    doc = read_json(out, "a results file")
    runs = doc.get("runs")
    if (doc.get("flagfile") != flagfile or doc.get("factor") != factor
            or not isinstance(runs, list)
            or not all(isinstance(r, dict) and type(r.get("seed")) is int
                       and all(isinstance(r.get(part), dict)
                               and type(r[part].get("classifier_score")) in (int, float)
                               for part in ("at_length", "served", "last"))
                       for r in runs)):
        raise SystemExit(f"{out} holds another measurement than --flagfile={flagfile} "
                         f"--factor={factor}: give another --out, or remove it to start over")
    lengths = sorted({r.get("length") for r in runs} - {length}, key=str)
    if lengths:
        raise SystemExit(f"{out} holds runs of flags/{flagfile}.cfg at {lengths[0]} steps, and "
                         f"it now sets {length}: give another --out, or remove it to start over")
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flagfile", required=True, help="a name in flags/, without .cfg")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--out", default=None)
    parser.add_argument("--work", default=None)
    args = parser.parse_args(argv)
    name = args.flagfile
    if not name or name != os.path.basename(name) or name.startswith("."):
        parser.error("--flagfile takes the name of a file in flags/")
    path = os.path.join(ROOT, "flags", f"{name}.cfg")
    if not os.path.isfile(path):
        parser.error(f"no flags/{name}.cfg")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) < len(seeds) or min(seeds) < 0:
        parser.error("--seeds takes distinct comma-separated whole numbers")
    if args.factor < 1:
        parser.error("--factor must be at least 1")
    out = args.out or os.path.join(ROOT, "docs", "results", f"longer_{args.flagfile}.json")
    check_out("out", out)
    work = args.work or os.path.join(os.path.dirname(out), f"longer_{args.flagfile}_runs")
    # Runs already measured (of any seed) are kept; the mean is over all of the file's.
    given = sys.argv[1:] if argv is None else argv  # what was parsed, also from a caller
    doc = dict(command=" ".join(["python benchmarks/longer.py", *given]), flagfile=args.flagfile,
               factor=args.factor,
               runs=earlier_runs(out, args.flagfile, args.factor, base_max_steps(path)))
    doc["cpu"] = cpu_name()
    for seed in seeds:
        if any(r["seed"] == seed for r in doc["runs"]):
            continue
        doc["runs"].append(measure(args.flagfile, seed, args.factor, work))
        r = doc["runs"][-1]
        print(f"seed {seed}: at {r['length']} {r['at_length']['classifier_score']:.3f}, served "
              f"({r['served_checkpoint']}) {r['served']['classifier_score']:.3f}, last "
              f"{r['last']['classifier_score']:.3f}", flush=True)
        runs = doc["runs"]
        doc["mean"] = {part: round(sum(r[part]["classifier_score"] for r in runs) / len(runs), 3)
                       for part in ("at_length", "served", "last")}
        doc["served_minus_at_length"] = round(doc["mean"]["served"] - doc["mean"]["at_length"], 3)
        write_json(out, doc)
    print(json.dumps({k: doc.get(k) for k in ("mean", "served_minus_at_length")}))


if __name__ == "__main__":
    main()
