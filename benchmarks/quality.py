"""Sample quality against wall-clock time: each configuration trained for a fixed budget.

    python benchmarks/quality.py                     # the shipped flagfiles, 600 s each
    python benchmarks/quality.py --suite=tricks --seconds=180   # the training tricks on dcgan_cpu
    python benchmarks/quality.py --runs=dcgan_cpu --seconds=120 # one configuration, shorter
    python benchmarks/quality.py --table=docs/results/quality.json  # the table of earlier results
    python benchmarks/quality.py --suite=levers --runs=dcgan_cpu,diffaugment --seeds=0,1,2
                                                     # issue 18's levers, 3 seeds x 600 s each
    python benchmarks/quality.py --runs=dcgan_cpu --seeds=0,1,2 --to_length \
        --extra=--mixed_precision=bfloat16 --out=/tmp/bf16.json
                                                     # each flagfile to its own --max_steps

Each run is `python train_main.py --flagfile=flags/<name>.cfg` on the embedded MNIST
subset with --max_seconds set so that the command, from its start to the last step,
fits the budget, and with gan_tf.evaluation.metrics evaluated every few hundred to thousand
steps (FLAGFILES: roughly every 20-40 s at each configuration's speed here). Reported per run: the
metrics over time, the last evaluation, and the seconds from the command's start to
the first evaluation reaching classifier score 8 and 9 and 10/10 modes. Results go to
docs/results/quality[_<suite>].json and a markdown table on stdout. The classifier is
the cached one for mnist_5k (trained beforehand; its training is not counted).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, read_json, write_json  # noqa: E402

# Shipped flagfile -> evaluation interval in steps (about every 20-40 s at its speed here).
FLAGFILES = {"tf1_mnist": 10000, "keras_mlp_mnist": 2000, "dcgan_cpu": 1000, "dcgan_mnist": 25,
             "dcgan_info_cpu": 4000, "mlp_info": 4000}
# The training tricks, and the other options, each changed alone on top of dcgan_cpu.
TRICKS = {
    "dcgan_cpu": [],
    "init=normal_0.02": ["--init=normal_0.02"],
    "instance_noise=0.1": ["--instance_noise=0.1", "--instance_noise_steps=2000"],
    "label_flip=0.05": ["--label_flip=0.05"],
    "kernel_size=3": ["--kernel_size=3"],
    "dropout=0.3": ["--dropout=0.3"],
    "d_steps_per_g_step=2": ["--d_steps_per_g_step=2"],
    "d_translate=2": ["--d_translate=2"],
    "g_ema=0.999": ["--g_ema=0.999"],
}
TRICKS_EVAL_EVERY = 1000
# Issue 18's levers, each on top of dcgan_cpu, judged over full budgets and several seeds.
LEVERS = {
    "baseline": [],
    "g_ema": ["--g_ema=0.999"],
    "diffaugment": ["--diffaugment=translation,cutout"],
    "diffaugment+g_ema": ["--diffaugment=translation,cutout", "--g_ema=0.999"],
    "r1": ["--r1_gamma=1"],
    "hinge+sn": ["--loss=hinge", "--spectral_norm"],
    "wide_d": ["--d_channels=64,128"],
    "resize_g": ["--g_upsample=resize"],
    "minibatch_stddev": ["--minibatch_stddev"],
    "info": ["--latent_categories=10"],
    "info+diffaugment+g_ema": ["--latent_categories=10", "--diffaugment=translation,cutout",
                               "--g_ema=0.999"],
    "ss_gan": ["--rotation_weight=1", "--g_rotation_weight=0.2"],  # SS-GAN's beta and alpha
}
LEVERS_EVAL_EVERY = 4000
START_MARGIN_S = 12  # imports and flag parsing before train() starts its clock
MILESTONES = (("classifier_score", 8.0), ("classifier_score", 9.0), ("modes", 10))


def flagfile(name):
    return os.path.join(ROOT, "flags", f"{name}.cfg")


def run(name, flags, seconds, eval_every, work_dir, steps=None):
    """Trains one configuration for `seconds` (or, given `steps`, to that step without a
    time limit); returns its timeline and summary."""
    out = os.path.join(work_dir, "".join(c if c.isalnum() else "_" for c in name))
    length = ([f"--max_steps={steps}"] if steps else
              ["--max_steps=100000000", f"--max_seconds={max(1, seconds - START_MARGIN_S)}"])
    cmd = [sys.executable, os.path.join(ROOT, "train_main.py"), *flags, "--dataset=mnist_5k",
           f"--output_dir={out}", "--overwrite", *length, f"--eval_every={eval_every}"]
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - start
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stderr[-3000:]}")
    return summarize(name, flags, out, start, wall)


def summarize(name, flags, out, start, wall):
    """Timeline and summary of a finished run in `out` whose command started at `start`."""
    with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    timeline = [{"seconds": round(r["time"] - start, 1), "step": r["step"],
                 **{k: r[k] for k in ("classifier_score", "frechet_distance", "modes", "mode_kl",
                                      "precision", "recall")}}
                for r in records if "classifier_score" in r]
    speeds = [r["steps_per_sec"] for r in records if "steps_per_sec" in r]
    best = max(timeline, key=lambda t: t["classifier_score"]) if timeline else None
    summary = {"name": name, "flags": flags, "steps": records[-1]["step"],
               "command_to_last_step_s": round(records[-1]["time"] - start, 1),
               "wall_s": round(wall, 1),
               "median_steps_per_sec": sorted(speeds)[len(speeds) // 2] if speeds else None,
               "final": timeline[-1] if timeline else None, "best_classifier_score": best}
    for key, threshold in MILESTONES:
        hit = next((t for t in timeline if t[key] >= threshold), None)
        summary[f"seconds_to_{key}_{threshold:g}"] = hit["seconds"] if hit else None
    return {"summary": summary, "timeline": timeline}


def save(out, doc, names):
    """Writes doc to out, keeping an earlier file's results for runs not in `names`."""
    if os.path.exists(out):
        old = read_json(out, "a quality results file")
        kept = [r for r in old.get("results", []) if r["summary"]["name"] not in names]
        doc = {**doc, "results": kept + doc["results"]}
    write_json(out, doc)
    return doc


def table(results):
    """Markdown: one row per run, its last evaluation, its best score and the milestones."""
    head = ("| run | steps in budget | classifier score (last) | best (at step) | Frechet distance | "
            "modes | precision | recall | s to CS 8 | s to CS 9 | s to 10/10 modes |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for r in results:
        s, f = r["summary"], r["summary"]["final"]
        best = s.get("best_classifier_score") or f

        def t(key):
            return "-" if s[key] is None else f"{s[key]:.0f}"
        rows.append(f"| {s['name']} | {s['steps']:,} | {f['classifier_score']:.2f} | "
                    f"{best['classifier_score']:.2f} ({best['step']:,}) | {f['frechet_distance']:.1f} | "
                    f"{f['modes']}/10 | {f['precision']:.3f} | {f['recall']:.3f} | "
                    f"{t('seconds_to_classifier_score_8')} | {t('seconds_to_classifier_score_9')} | "
                    f"{t('seconds_to_modes_10')} |")
    return head + "\n".join(rows)


def flag_values(path, name, limit=1 << 20):
    """The values of the --name=... lines of the flagfile at `path`, in order (its first
    `limit` bytes: a flagfile is a few hundred)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read(limit).splitlines()
    return [line.strip().split("=", 1)[1] for line in lines
            if line.strip().startswith(f"--{name}=")]


def flagfile_length(name):
    """The --max_steps a shipped flagfile sets (None if it sets none)."""
    values = flag_values(flagfile(name), "max_steps")
    return int(values[-1]) if values else None


def at_length(result):
    """A run's summary with its last evaluation at or before its flagfile's --max_steps
    as `final`: what the shipped flagfile, which stops there, ends with (the steps before
    it are the same computation, so a longer benchmark run holds that evaluation)."""
    s = result["summary"]
    length = flagfile_length(s["name"].split("@")[0])
    reached = [t for t in result["timeline"] if length is None or t["step"] <= length]
    return {**s, "final": reached[-1], "steps": reached[-1]["step"],
            "best_classifier_score": max(reached, key=lambda t: t["classifier_score"])}


def aggregate(results, shipped_length=False):
    """Runs grouped by configuration (name without its "@seed"): per metric of the last
    evaluation (and the best score) the mean, min and max over seeds; with
    `shipped_length`, of the evaluation at the flagfile's own --max_steps."""
    groups = {}
    for r in results:
        summary = at_length(r) if shipped_length else r["summary"]
        groups.setdefault(summary["name"].split("@")[0], []).append(summary)
    rows = []
    for name, runs in groups.items():
        values = {key: [s["final"][key] for s in runs] for key in AGGREGATED}
        values["best_classifier_score"] = [s["best_classifier_score"]["classifier_score"]
                                           for s in runs]
        values["steps"] = [s["steps"] for s in runs]
        rows.append({"name": name, "seeds": len(runs), **{
            key: {"mean": sum(v) / len(v), "min": min(v), "max": max(v)}
            for key, v in values.items()}})
    return rows


AGGREGATED = ("classifier_score", "frechet_distance", "modes", "precision", "recall")


def seeds_table(results, shipped_length=False):
    """Markdown: one row per configuration, mean (min-max) over its seeds."""
    def cell(v, fmt):
        return f"{v['mean']:{fmt}} ({v['min']:{fmt}}-{v['max']:{fmt}})"
    head = ("| run | seeds | steps in budget | classifier score (last) | best score | "
            "Frechet distance | modes | precision | recall |\n|---|---|---|---|---|---|---|---|---|\n")
    return head + "\n".join(
        f"| {r['name']} | {r['seeds']} | {r['steps']['mean']:,.0f} | "
        f"{cell(r['classifier_score'], '.2f')} | {cell(r['best_classifier_score'], '.2f')} | "
        f"{cell(r['frechet_distance'], '.1f')} | {cell(r['modes'], '.1f')} | "
        f"{cell(r['precision'], '.3f')} | {cell(r['recall'], '.3f')} |"
        for r in aggregate(results, shipped_length))


def suite_runs(args):
    """{run name: flags} and {run name: evaluation interval} of the chosen suite and seeds."""
    if args.suite == "flagfiles":
        suite = {name: [f"--flagfile={flagfile(name)}"] for name in FLAGFILES}
        eval_every = dict(FLAGFILES)
    else:
        extras, every = ((TRICKS, TRICKS_EVAL_EVERY) if args.suite == "tricks"
                         else (LEVERS, LEVERS_EVAL_EVERY))
        suite = {name: [f"--flagfile={flagfile(args.base)}", *extra] for name, extra in extras.items()}
        eval_every = dict.fromkeys(extras, every)
    if args.eval_every:
        eval_every = dict.fromkeys(suite, args.eval_every)
    return suite, eval_every


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("flagfiles", "tricks", "levers"), default="flagfiles")
    parser.add_argument("--runs", default=None, help="comma-separated subset of the suite's runs")
    parser.add_argument("--base", default="dcgan_cpu", help="flagfile the tricks and levers "
                        "change (flags/<base>.cfg)")
    parser.add_argument("--extra", default="", help="flags added to every run, space-separated")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds: each run once per "
                        "seed (named run@seed), with a mean (min-max) table")
    parser.add_argument("--eval_every", type=int, default=None, help="steps between evaluations")
    parser.add_argument("--seconds", type=int, default=600, help="budget per run, command start "
                        "to last step")
    parser.add_argument("--to_length", action="store_true", help="train each run to its "
                        "flagfile's own --max_steps (suite flagfiles), without a time budget")
    parser.add_argument("--out", default=None, help="JSON results (default docs/results/...)")
    parser.add_argument("--table", default=None, help="only print the table of this results file")
    parser.add_argument("--shipped_length", action="store_true", help="with --table of a seeds "
                        "run of flagfiles: each run's evaluation at its flagfile's --max_steps")
    args = parser.parse_args()
    if args.table:
        with open(args.table, encoding="utf-8") as f:
            results = json.load(f)["results"]
        print(seeds_table(results, args.shipped_length)
              if any("@" in r["summary"]["name"] for r in results) else table(results))
        return

    if not os.path.exists(flagfile(args.base)):
        parser.error(f"--base={args.base}: no flags/{args.base}.cfg")
    suite, eval_every = suite_runs(args)
    names = args.runs.split(",") if args.runs else list(suite)
    unknown = set(names) - set(suite)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}; choose from {sorted(suite)}")
    if args.to_length and args.suite != "flagfiles":
        parser.error("--to_length is for --suite=flagfiles (the tricks and levers run on a budget)")
    lengths = {name: flagfile_length(name) if args.to_length else None for name in names}
    for name, length in lengths.items():
        if args.to_length and (length is None or length % eval_every[name]):
            parser.error(f"--to_length: flags/{name}.cfg's --max_steps={length} is not a multiple "
                         f"of its evaluation interval {eval_every[name]} (set --eval_every)")
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [None]
    runs = [(name if seed is None else f"{name}@{seed}", name, seed)  # seed by seed: a run
            for seed in seeds for name in names]  # stopped early has every config's first seeds
    out = args.out or os.path.join(ROOT, "docs", "results", "quality.json" if args.suite ==
                                   "flagfiles" else f"quality_{args.suite}.json")
    check_out("out", out)

    from gan_tf import data  # the classifier is trained before any clock starts
    from gan_tf.evaluation import classifier
    classifier.load_or_train(data.load_mnist_5k())
    results = []
    doc = {"machine": f"{os.cpu_count()} CPU cores",
           "budget_s": "flagfile length" if args.to_length else args.seconds,
           "suite": args.suite, "command": " ".join(["python", "benchmarks/quality.py"] +
                                                    sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="gan_tf_quality_") as work_dir:
        for label, name, seed in runs:
            flags = suite[name] + args.extra.split() + ([] if seed is None else [f"--seed={seed}"])
            results.append(run(label, flags, args.seconds, eval_every[name], work_dir,
                               lengths[name]))
            print(json.dumps(results[-1]["summary"]), flush=True)
            doc = save(out, {**doc, "results": results}, [r[0] for r in runs])  # after every run
    print(table(doc["results"]))
    if args.seeds:
        print(seeds_table(doc["results"]))


if __name__ == "__main__":
    main()
