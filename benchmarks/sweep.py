"""A successive-halving search over training flags, scored by gan_tf's own evaluator.

    python benchmarks/sweep.py --space=dcgan_small_data [--trials=10] [--rungs=3000,9000]
        [--eta=3] [--select_seeds=0,1,2] [--out=docs/results/sweep_dcgan_small_data.json]
    python benchmarks/sweep.py --space=dcgan_small_data --report   # the table of a finished sweep

A space (SPACES below) is a base flagfile and, per flag, the values a trial may take.
Trial 0 is the base flagfile as it is (the control); the others draw one value per flag
at random (seeded by --sample_seed, so a sweep is reproducible and resumable). Every
trial trains on mnist_5k with seed 0 to the first rung's steps and is scored by the
evaluation at its end (classifier score on 1,000 fixed-z samples, gan_tf.evaluation);
the best 1/eta (at least one) go on to the next rung, resuming their own run directory,
and so on. A trial whose score at a rung is under --hopeless, or with fewer than
--min_modes modes, stops there whatever its rank (an early stop of a collapsed run), and
so does one whose training speed at the first rung (steps/s of its last log record)
would take it past --max_minutes at the last rung's length or the confirmation's,
whichever is longer (issue 28's 10 minutes on 2 cores; keep the machine otherwise idle).
The survivors of the last rung are then trained on the other --select_seeds to that
rung's steps, and the winner is the best mean over --select_seeds.

Then the measurement, on other seeds than the selection's: the winner and the base
(trial 0; not with --no-confirm_base, which a later run with it completes) are trained
on --confirm_seeds (default 3,4,5) to --confirm_steps (default: the
base flagfile's --max_steps), evaluated at the end, and their means and spreads written
to the JSON's "confirmation" (--confirm_seeds='' skips it).

Every result is written to the JSON as it arrives (atomically), and a rerun with the
same arguments skips what is there: an interrupted sweep goes on where it stopped (a
run interrupted mid-way resumes from its last checkpoint, as every gan_tf run does).
"""
import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, read_json, write_json  # noqa: E402,F401
from gan_tf import fileio  # noqa: E402
from gan_tf.errors import LogFileError  # noqa: E402
from gan_tf.runs import logs  # noqa: E402

# name -> (base flagfile, {flag: values}); each value a string as on the command line,
# "" for the flag left out (its base value).
SPACES = {
    "dcgan_small_data": ("flags/dcgan_cpu.cfg", {
        "diffaugment": ["", "translation,cutout", "color,translation,cutout"],
        "augment_target": ["", "0.6"],  # only with diffaugment (see _valid)
        "lecam_weight": ["", "0.1", "0.3"],
        "bcr_weight": ["", "1", "10"],
        "topk_gamma": ["", "0.99"],
        "lr_decay": ["", "linear"],
        "g_ema": ["", "0.999"],
        "g_upsample": ["", "resize"],
        "minibatch_stddev": ["", "true"],
        "d_channels": ["", "64,128"],
        "g_learning_rate": ["", "0.0002", "0.001"],
        "d_learning_rate": ["", "0.0002", "0.001"],
        "batch_size": ["", "64"],
    }),
    # Around the best MLP flagfile (mlp_info.cfg, 9.00 on seeds 0-2): its optimisation,
    # D's width and dropout, the small-data levers that can act on an MLP's D.
    "mlp_small_data": ("flags/mlp_info.cfg", {
        "lr_decay": ["", "linear"],
        "g_ema": ["", "0.999"],
        "g_learning_rate": ["", "0.0001", "0.0004"],
        "d_learning_rate": ["", "0.0001", "0.0004"],
        "batch_size": ["", "64", "256"],
        "d_hidden": ["", "1024,512"],
        "dropout": ["", "0.3"],
        "diffaugment": ["", "translation"],
        "lecam_weight": ["", "0.1"],
        "bcr_weight": ["", "1"],
    }),
    # The next DCGAN search docs/quality.md named (0.3.7): around InfoGAN's code
    # (dcgan_info_cpu.cfg, 8.27 on seeds 0-2, the one change that moved the DCGAN past its
    # noise), with the levers that read positive in dcgan_small_data and the MLP winner's
    # wider D.
    "dcgan_info_small_data": ("flags/dcgan_info_cpu.cfg", {
        "bcr_weight": ["", "1"],
        "lecam_weight": ["", "0.1"],
        "g_learning_rate": ["", "0.001"],
        "d_channels": ["", "64,128"],
        "g_ema": ["", "0.999"],
        "lr_decay": ["", "linear"],
    }),
    # The flagfile the hand-run comparison of docs/quality.md chose (0.3.9: InfoGAN's code
    # with 20 values and InfoGAN's 62-d uniform prior), and minibatch standard deviation,
    # the lever that raised recall most in dcgan_small_data, against the recall it gives up.
    "dcgan_info20": ("flags/dcgan_info20_cpu.cfg", {
        "minibatch_stddev": ["", "true"],
    }),
    # The recall lever (0.3.10): the flagfile the hand-run screen of docs/quality.md chose
    # (dcgan_info20_cpu.cfg with --mode_seeking_weight=0.2 and D's learning rate doubled),
    # measured alone (--trials=1) on fresh seeds; its selection runs are those of the screen.
    "dcgan_info20_ms": ("flags/dcgan_info20_ms_cpu.cfg", {}),
    # The MLP target in ten minutes (0.3.13): mlp_info_wide_bcr.cfg in bfloat16 where the
    # CPU has units, with G's moving average, for 30,000 steps, as the hand-run probes of
    # docs/quality.md chose; measured alone on fresh seeds.
    "mlp_info_wide_bcr_cpu": ("flags/mlp_info_wide_bcr_cpu.cfg", {}),
    "mlp_info_wide_bcr_b96_cpu": ("flags/mlp_info_wide_bcr_b96_cpu.cfg", {}),
}
RESULTS = os.path.join(ROOT, "docs", "results")  # the sweep files README's table is read from
SCORES = ("classifier_score", "modes", "recall", "precision", "frechet_distance")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _valid(flags):
    """Whether a drawn combination is one train_main.py accepts."""
    return not (flags.get("augment_target") and not flags.get("diffaugment"))


def draw_trials(space, count, sample_seed):
    """The trials' flags: trial 0 the base (no changes), then `count - 1` distinct draws."""
    rng = random.Random(sample_seed)
    trials, seen = [{}], {()}
    for _ in range(1000 * count):
        if len(trials) >= count:
            break
        flags = {name: rng.choice(values) for name, values in sorted(space.items())}
        flags = {name: value for name, value in flags.items() if value}
        key = tuple(sorted(flags.items()))
        if _valid(flags) and key not in seen:
            seen.add(key)
            trials.append(flags)
    return trials


def command_flags(flags, steps, final_steps):
    """train_main.py's flags of a trial: a linear decay keeps the search's full length
    (--lr_decay_steps) so that resuming to a later rung does not change it."""
    out = []
    for name, value in flags.items():
        out.append(f"--{name}" if value == "true" else f"--{name}={value}")
    if flags.get("lr_decay") == "linear":
        out.append(f"--lr_decay_steps={final_steps}")
    return out + [f"--max_steps={steps}"]


def train(run_dir, base, flags, steps, final_steps, seed, max_seconds=None):
    """Trains (or resumes) one trial's run to `steps` (or until `max_seconds`: a run too
    slow for the budget stops early, its evaluation then at the step it reached); returns
    its final evaluation."""
    cmd = [sys.executable, os.path.join(ROOT, "train_main.py"),
           f"--flagfile={os.path.join(ROOT, base)}", "--dataset=mnist_5k", f"--seed={seed}",
           f"--output_dir={run_dir}", "--eval_every=100000000", "--progress_seconds=0",
           *command_flags(flags, steps, final_steps)]
    if max_seconds:
        cmd.append(f"--max_seconds={int(max_seconds)}")
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    with open(os.path.join(run_dir, "eval.json")) as f:
        final = json.load(f)["final"]
    if final["step"] != steps and not max_seconds:
        raise SystemExit(f"{run_dir}: evaluated at step {final['step']}, not {steps}")
    last, median = logged_rates(run_dir)
    return dict({k: final[k] for k in SCORES}, seconds=round(time.time() - start, 1),
                steps_per_sec=round(last, 1), median_steps_per_sec=round(median, 1),
                step=final["step"])


def logged_rates(run_dir):
    """(last, median) of the steps/s a run logged in metrics.jsonl, its evaluation-only
    records skipped: the last is the rate at the end, the median the run's usual speed
    (a machine whose speed drifts shows in the difference)."""
    try:
        records = logs.read_metrics(os.path.join(run_dir, logs.METRICS))
    except (LogFileError, ValueError) as e:
        raise SystemExit(f"{run_dir}: {e}")
    rates = [r["steps_per_sec"] for r in records
             if isinstance(r.get("steps_per_sec"), (int, float))]
    if not rates:
        raise SystemExit(f"{run_dir}: no steps/s logged in {logs.METRICS}")
    return rates[-1], statistics.median(rates)


def check_trials(path, state):
    """The trials of a sweep file, each a dict of flags drawn from its space: what the
    file says is only ever passed to train_main.py as one of those flags."""
    space = state.get("space", {})
    trials = state.get("trials", [])
    for i, trial in enumerate(trials if isinstance(trials, list) else [None]):
        flags = trial.get("flags") if isinstance(trial, dict) else None
        if (not isinstance(flags, dict) or trial.get("id") != i
                or not isinstance(trial.get("results"), dict)
                or any(value not in space.get(name, ()) for name, value in flags.items())):
            raise SystemExit(f"{path}: trial {i} is not one this sweep's space can draw: "
                             "remove the file to start over")


class Sweep:
    """The search's state, the JSON file it is written to after every result."""

    def __init__(self, path, header):
        self.path = path
        self.state = dict(header, trials=[])
        if os.path.exists(path):
            old = read_json(path, "a sweep")
            for key in header:
                if key not in ("command", "cpu") and old.get(key) != header[key]:
                    raise SystemExit(f"{path} holds a sweep with another {key}: "
                                     "give another --out, or remove it to start over")
            check_trials(path, old)
            self.state = dict(old, command=header["command"])

    def save(self):
        write_json(self.path, self.state)

    def result(self, trial, steps, seed):
        return trial["results"].get(f"{steps}/{seed}")


def time_cap(args, steps):
    """Seconds a first-rung run of `steps` may take: a quarter more than a trial at the
    --max_minutes pace needs, and 20 s to start and evaluate (None without a limit)."""
    if not args.max_minutes:
        return None
    return 1.25 * steps * args.max_minutes * 60 / args.longest + 20


def train_trial(sweep, args, trial, seed, steps, key, run_name, final_steps, cap=None):
    """Trains `trial` on `seed` to `steps` in args.work/run_name unless its result `key`
    is recorded already; records it (the file saved at once) and prints a line."""
    if key in trial["results"]:
        return
    got = train(os.path.join(args.work, run_name), sweep.state["base"], trial["flags"], steps,
                final_steps, seed, cap)
    trial["results"][key] = got
    sweep.save()
    print(f"{key}, trial {trial['id']:2d}: score {got['classifier_score']:.3f}, "
          f"{got['modes']} modes, recall {got['recall']:.3f} ({got['seconds']:.0f} s) "
          f"{trial['flags']}", flush=True)


def run_rung(sweep, args, alive, steps, seeds, cap=None):
    """Trains every alive trial to `steps` on `seeds` (within `cap` seconds each, if
    given), recording each result."""
    for trial in alive:
        for seed in seeds:
            train_trial(sweep, args, trial, seed, steps, f"{steps}/{seed}",
                        f"trial{trial['id']:02d}_seed{seed}", args.rungs[-1], cap)


def mean_score(sweep, trial, steps, seeds):
    return sum(sweep.result(trial, steps, s)["classifier_score"] for s in seeds) / len(seeds)


def search(args):
    base, space = SPACES[args.space]
    header = dict(space_name=args.space, base=base, space=space, rungs=args.rungs, eta=args.eta,
                  trials_drawn=args.trials, sample_seed=args.sample_seed,
                  select_seeds=args.select_seeds, hopeless=args.hopeless,
                  min_modes=args.min_modes, max_minutes=args.max_minutes, command=" ".join(["python"] + sys.argv),
                  cpu=cpu_name())
    sweep = Sweep(args.out, header)
    if not sweep.state["trials"]:
        sweep.state["trials"] = [dict(id=i, flags=flags, results={}, stopped_at=None)
                                 for i, flags in enumerate(draw_trials(space, args.trials,
                                                                       args.sample_seed))]
        sweep.save()
    trials = sweep.state["trials"]
    first_seed = args.select_seeds[0]
    for r, steps in enumerate(args.rungs):
        # The trials that reach this rung (on a rerun, those an earlier pass stopped here
        # or later too: the decision below is made again from the same results).
        alive = [t for t in trials if t["stopped_at"] is None or t["stopped_at"] >= steps]
        run_rung(sweep, args, alive, steps, [first_seed],
                 time_cap(args, steps) if r == 0 and len(args.rungs) > 1 else None)
        scored = sorted(alive, key=lambda t: (-sweep.result(t, steps, first_seed)["classifier_score"],
                                              t["id"]))
        if r == len(args.rungs) - 1:
            alive = scored
            break
        keep = max(1, math.ceil(len(scored) / args.eta))
        if r == 0 and args.max_minutes:
            for trial in scored:
                res = sweep.result(trial, steps, first_seed)
                minutes = args.longest / res["steps_per_sec"] / 60
                if res.get("step", steps) < steps:  # stopped by the time cap
                    minutes = max(minutes, args.max_minutes * 1.25)
                trial["minutes_at_full_length"] = round(minutes, 1)
        fast = [t for t in scored
                if t.get("minutes_at_full_length", 0) <= (args.max_minutes or float("inf"))]
        promoted = []
        for trial in fast or scored:  # best first; if every trial is too slow, the best
            res = sweep.result(trial, steps, first_seed)
            hopeless = res["classifier_score"] < args.hopeless or res["modes"] < args.min_modes
            if len(promoted) < keep and not (hopeless and promoted):
                promoted.append(trial)
        for trial in scored:
            trial["stopped_at"] = None if trial in promoted else steps
        sweep.save()
    # The survivors on the other selection seeds; the winner by the mean over all of them.
    finalists = alive[:max(1, math.ceil(len(alive) / args.eta))] if len(alive) > 2 else alive
    run_rung(sweep, args, finalists, args.rungs[-1], args.select_seeds)
    winner = max(finalists, key=lambda t: mean_score(sweep, t, args.rungs[-1], args.select_seeds))
    sweep.state["finalists"] = [t["id"] for t in finalists]
    sweep.state["winner"] = dict(id=winner["id"], flags=winner["flags"],
                                 mean_classifier_score=round(mean_score(
                                     sweep, winner, args.rungs[-1], args.select_seeds), 3))
    sweep.save()
    if args.confirm_seeds:
        chosen = [t for t in trials if t is winner or t["id"] in args.confirm_also
                  or (t["id"] == 0 and args.confirm_base)]
        confirm(sweep, args, chosen)
    print(report(sweep.state))


def base_max_steps(base):
    with open(os.path.join(ROOT, base)) as f:
        for line in f:
            if line.startswith("--max_steps="):
                return int(line.split("=", 1)[1])
    raise SystemExit(f"{base} sets no --max_steps: give --confirm_steps")


def confirm(sweep, args, trials):
    """The chosen trials on fresh seeds at full length: the measurement, not the choice."""
    steps = args.confirm_steps or base_max_steps(sweep.state["base"])
    for trial in trials:
        for seed in args.confirm_seeds:
            train_trial(sweep, args, trial, seed, steps, f"confirm {steps}/{seed}",
                        f"confirm_trial{trial['id']:02d}_seed{seed}", steps)
    # Every trial measured on these seeds at this length, in this run or an earlier one
    # (a run with fewer trials, e.g. --no-confirm_base, drops no one's rows).
    measured = [t for t in sweep.state["trials"]
                if all(f"confirm {steps}/{s}" in t["results"] for s in args.confirm_seeds)]
    sweep.state["confirmation"] = {
        str(t["id"]): summary([t["results"][f"confirm {steps}/{s}"] for s in args.confirm_seeds],
                              steps, args.confirm_seeds) for t in measured}
    sweep.save()


def summary(results, steps, seeds):
    """Mean, min and max of each score over seeds, and the mean seconds."""
    out = dict(steps=steps, seeds=seeds)
    for key in SCORES + ("seconds",):
        values = [r[key] for r in results]
        out[key] = dict(mean=round(sum(values) / len(values), 3), min=min(values),
                        max=max(values))
    return out


def report(state):
    """A markdown table: each trial's flags and its score at each rung it reached."""
    rungs, seeds = state["rungs"], state["select_seeds"]
    lines = ["| trial | flags (on top of " + state["base"] + ") | "
             + " | ".join(f"score @ {s}" for s in rungs) + f" | mean seeds {seeds} |",
             "|---|---|" + "---|" * (len(rungs) + 1)]
    for t in state["trials"]:
        cells = []
        for steps in rungs:
            res = t["results"].get(f"{steps}/{seeds[0]}")
            cells.append(f"{res['classifier_score']:.2f} ({res['modes']} modes)" if res else "")
        done = [t["results"].get(f"{rungs[-1]}/{s}") for s in seeds]
        mean = (f"{sum(r['classifier_score'] for r in done) / len(done):.2f}"
                if all(done) else "")
        flags = " ".join(f"{k}={v}" for k, v in t["flags"].items()) or "(base)"
        lines.append(f"| {t['id']} | {flags} | " + " | ".join(cells) + f" | {mean} |")
    if state.get("winner"):
        lines.append(f"\nWinner: trial {state['winner']['id']}, mean score "
                     f"{state['winner']['mean_classifier_score']} over seeds {seeds}.")
    effects = marginal_effects(state)
    if effects:
        lines.append("\nFirst-rung score with minus without each value (trials with it): "
                     + ", ".join(f"{k} {v:+.2f} ({n})" for k, (v, n) in
                                 sorted(effects.items(), key=lambda kv: -kv[1][0])))
    for trial_id, c in state.get("confirmation", {}).items():
        lines.append(f"Fresh seeds {c['seeds']}, {c['steps']} steps, trial {trial_id}: " + ", ".join(
            f"{k} {c[k]['mean']} ({c[k]['min']}-{c[k]['max']})" for k in SCORES + ("seconds",)))
    return "\n".join(lines)


def marginal_effects(state):
    """Per flag value: the mean first-rung score of the trials with it minus that of the
    trials without it, and how many had it. A random search's rough reading of each lever
    alone (the other flags vary at random around it), not an ablation."""
    steps, seed = state["rungs"][0], state["select_seeds"][0]
    scored = [(t["flags"], t["results"][f"{steps}/{seed}"]["classifier_score"])
              for t in state["trials"] if f"{steps}/{seed}" in t["results"]]
    effects = {}
    for name, values in state["space"].items():
        for value in values:
            if not value:
                continue
            with_it = [score for flags, score in scored if flags.get(name) == value]
            without = [score for flags, score in scored if flags.get(name) != value]
            if with_it and without:
                effects[f"{name}={value}"] = (round(sum(with_it) / len(with_it)
                                                    - sum(without) / len(without), 2),
                                              len(with_it))
    return effects


README_BEGIN = "<!-- quality table: python benchmarks/sweep.py --readme (from docs/results/sweep_*.json) -->"
README_END = "<!-- end of quality table -->"


def readme_table(*states):
    """README's table of the sweeps' measurements: each sweep's base flagfile and winner
    (and any --confirm_also trial) on the fresh seeds, mean (min-max) of each score
    (regenerated, never edited by hand)."""
    rows = ["| configuration | fresh seeds, steps | classifier score | modes | recall | "
            "precision | Fréchet distance | minutes | CPU (2 cores) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for state in states:
        rows += _confirmation_rows(state)
    return "\n".join(rows)


def finished_sweeps(folder=None):
    """The sweep files of `folder` (sweep_*.json) that hold a confirmation, by name, each
    checked as --report checks one (folder: RESULTS)."""
    folder = folder or RESULTS
    states = []
    for name in sorted(os.listdir(folder)):
        if name.startswith("sweep_") and name.endswith(".json"):
            path = os.path.join(folder, name)
            state = read_json(path, "a sweep")
            check_trials(path, state)
            check_confirmation(path, state)
            if state.get("confirmation"):
                states.append(state)
    return states


def check_confirmation(path, state):
    """A finished sweep file as the table reads it: a space of SPACES with its base (its
    flags and values, which go into README's table, exactly those of SPACES), and a
    measurement of its own trials with every score; SystemExit in one line otherwise."""
    name, confirmation = state.get("space_name"), state.get("confirmation", {})
    trials = state.get("trials", [])
    keys = set(SCORES) | {"seconds"}
    if (name not in SPACES or state.get("base") != SPACES[name][0]
            or state.get("space") != {k: list(v) for k, v in SPACES[name][1].items()}
            or not isinstance(confirmation, dict)
            or any(not (isinstance(i, str) and i.isascii() and i.isdigit() and len(i) < 10
                        and int(i) < len(trials))
                   or not isinstance(c, dict) or not keys <= set(c)
                   or not all(isinstance(c[k], dict) and {"mean", "min", "max"} <= set(c[k])
                              for k in keys)
                   or not isinstance(c.get("seeds"), list) or not isinstance(c.get("steps"), int)
                   for i, c in confirmation.items())):
        raise SystemExit(f"{path}: not a measurement this benchmark wrote (space, base or "
                         "confirmation): fix or remove it")


def table_cpu(state):
    """The CPU a sweep file names, as a table cell: its model name (before any ':' of
    flags), at most 40 characters, with nothing that could end the cell or the table, open
    markup or fail to encode (a sweep file is input: `write_readme` writes this into README)."""
    name = str(state.get("cpu") or "").split(":", 1)[0]
    name = name.encode("utf-8", "ignore").decode("utf-8")  # lone surrogates dropped
    name = " ".join(name.translate({ord(c): " " for c in "|<>&`\\"}).split())[:40].strip()
    return name or "not recorded"


def _confirmation_rows(state):
    rows = []
    for trial_id, c in state.get("confirmation", {}).items():
        trial = state["trials"][int(trial_id)]
        name = (f"`{state['base']}`" if not trial["flags"] else
                f"`{state['base']}` + " + " ".join(f"`--{k}={v}`" for k, v in trial["flags"].items()))

        def cell(key, digits=2):
            m = c[key]
            return f"{m['mean']:.{digits}f} ({m['min']:.{digits}f}-{m['max']:.{digits}f})"
        rows.append(f"| {name} | {','.join(map(str, c['seeds']))}, {c['steps']:,} | "
                    f"{cell('classifier_score')} | {cell('modes', 1)} | {cell('recall')} | "
                    f"{cell('precision')} | {cell('frechet_distance', 1)} | "
                    f"{c['seconds']['mean'] / 60:.1f} | {table_cpu(state)} |")
    return rows


TABLE_FILES = ("README.md", os.path.join("docs", "quality.md"))  # where the table is kept


def write_readme(table):
    """Replaces the quality table (between its markers) in README and docs/quality.md."""
    for name in TABLE_FILES:
        path = os.path.join(ROOT, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
        # Encoded first and replaced whole: a failure or Ctrl-C leaves the old file.
        data = (text[:start] + "\n" + table + "\n" + text[end:]).encode("utf-8")
        fileio.atomic_write(path, data)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=sorted(SPACES), default="dcgan_small_data")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--rungs", default="3000,9000",
                        help="steps of each rung, increasing, comma-separated")
    parser.add_argument("--eta", type=int, default=3, help="keep the best 1/eta at each rung")
    parser.add_argument("--select_seeds", default="0,1,2")
    parser.add_argument("--sample_seed", type=int, default=0)
    parser.add_argument("--confirm_seeds", default="3,4,5",
                        help="fresh seeds the winner (and the base, see --confirm_base) are "
                        "measured on ('': none)")
    parser.add_argument("--confirm_also", default="",
                        help="more trial ids to measure on the fresh seeds (e.g. a runner-up)")
    parser.add_argument("--confirm_base", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the base (trial 0) on the fresh seeds too (a later run "
                        "with it adds the base's rows to a sweep measured without)")
    parser.add_argument("--confirm_steps", type=int, default=None,
                        help="their length (default: the base flagfile's --max_steps)")
    parser.add_argument("--hopeless", type=float, default=3.0,
                        help="stop a trial scoring under this at a rung")
    parser.add_argument("--min_modes", type=int, default=8)
    parser.add_argument("--max_minutes", type=float, default=10.0,
                        help="stop a trial too slow to train at full length in this (0: no limit)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--work", default=None, help="run directories (default: beside --out)")
    parser.add_argument("--report", action="store_true", help="print the table of --out")
    parser.add_argument("--readme", action="store_true",
                        help="write README's (and docs/quality.md's) quality table from --out")
    args = parser.parse_args(argv)
    try:
        args.rungs = [int(s) for s in args.rungs.split(",")]
        args.select_seeds = [int(s) for s in args.select_seeds.split(",")]
        args.confirm_seeds = [int(s) for s in args.confirm_seeds.split(",") if s]
        args.confirm_also = [int(s) for s in args.confirm_also.split(",") if s]
    except ValueError:
        parser.error("--rungs and --select_seeds take comma-separated integers")
    if (not args.rungs or any(s <= 0 for s in args.rungs) or args.rungs != sorted(set(args.rungs))
            or not args.select_seeds or args.trials < 1 or args.eta < 2
            or set(args.confirm_seeds) & set(args.select_seeds)):
        parser.error("--rungs must increase, --trials >= 1, --eta >= 2, --select_seeds "
                     "non-empty and apart from --confirm_seeds")
    args.longest = max(args.rungs[-1], args.confirm_steps or (
        base_max_steps(SPACES[args.space][0]) if args.confirm_seeds else 0))
    args.out = args.out or os.path.join(RESULTS, f"sweep_{args.space}.json")
    args.work = args.work or os.path.splitext(args.out)[0] + "_runs"
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.report or args.readme:
        state = read_json(args.out, "a sweep")
        check_trials(args.out, state)
        print(report(state))
        if args.readme:  # every finished sweep's rows, this one's among them
            if os.path.dirname(os.path.realpath(args.out)) != os.path.realpath(RESULTS):
                raise SystemExit(f"--readme writes the table of {RESULTS}/sweep_*.json: "
                                 f"copy {args.out} there first")
            write_readme(readme_table(*finished_sweeps()))
        return
    check_out("out", args.out)
    os.makedirs(args.work, exist_ok=True)
    search(args)


if __name__ == "__main__":
    main()
