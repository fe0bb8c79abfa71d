"""Checks that a change kept training's results: deterministic runs of this tree and of
another revision write byte-identical train_losses.pkl and train_samples.pkl, and a run
the other revision started and this tree resumed writes them as one this tree started
and resumed at the same step does (checkpoints and run directories written before the
change resume after it; a run stopped between sample steps has one more grid, its
last, than a whole run, in either tree).

    python benchmarks/same_outputs.py --against=6ebca54 [--out=docs/results/same_outputs.json]

The other revision is checked out in a temporary git worktree; both run the same
train_main.py command lines (--deterministic, on the embedded mnist_5k) with this
Python, one after the other on the same CPU (floating-point results may differ between
CPU models, never between two runs on one machine).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("train_losses.pkl", "train_samples.pkl")
RUNS = {  # name -> flags: the paths a refactor of the step could change
    "mlp_default": ["--max_steps=2000"],
    "dcgan_infogan_joint": ["--model=dcgan", "--g_channels=16,8,4", "--d_channels=4,8",
                            "--kernel_size=3", "--latent_categories=10", "--batch_size=32",
                            "--max_steps=200", "--log_every=20", "--sample_every=100"],
    "label_flips": ["--label_flip=0.1", "--max_steps=600", "--log_every=50"],
    "hinge_two_d_steps": ["--loss=hinge", "--max_steps=300", "--log_every=50",
                          "--d_steps_per_g_step=2"],
}


def train(tree, scratch, name, run_dir, flags):
    env = dict(os.environ, PYTHONPATH=tree, GAN_TF_CACHE=os.path.join(scratch, "cache"))
    result = subprocess.run(
        [sys.executable, os.path.join(tree, "train_main.py"), "--dataset=mnist_5k",
         "--eval_samples=0", "--deterministic", f"--output_dir={run_dir}", *flags],
        cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{name} failed in {tree}: {result.stderr.strip()[-500:]}")


def half_then_rest(first_tree, then_tree, scratch):
    """{run name: {file: bytes}}: each run of RUNS trained to half its steps (one
    checkpoint there) by `first_tree`, then resumed to its end by `then_tree`."""
    out = {}
    os.makedirs(scratch, exist_ok=True)
    for name, flags in RUNS.items():
        run_dir = os.path.join(scratch, "resumed_" + name)
        steps = int(next(f for f in flags if f.startswith("--max_steps=")).split("=")[1])
        train(first_tree, scratch, name, run_dir,
              flags + [f"--max_steps={steps // 2}", f"--checkpoint_every={steps // 2}"])
        train(then_tree, scratch, name, run_dir, flags)
        out[name] = {}
        for file in FILES:
            with open(os.path.join(run_dir, file), "rb") as f:
                out[name][file] = f.read()
    return out


def run_all(tree, scratch):
    """{run name: {file: bytes}} of every run of RUNS trained by the tree at `tree`."""
    out = {}
    for name, flags in RUNS.items():
        run_dir = os.path.join(scratch, os.path.basename(tree) + "_" + name)
        train(tree, scratch, name, run_dir, flags)
        out[name] = {}
        for file in FILES:
            with open(os.path.join(run_dir, file), "rb") as f:
                out[name][file] = f.read()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", required=True, help="the git revision to compare with")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from benchmarks.results_file import check_out, write_json
    check_out("out", args.out)
    scratch = tempfile.mkdtemp(prefix="gan_tf_same_")
    other = os.path.join(scratch, "other")
    subprocess.run(["git", "worktree", "add", "--detach", other, args.against], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        theirs, ours = run_all(other, scratch), run_all(ROOT, scratch)
        resumed = half_then_rest(other, ROOT, os.path.join(scratch, "theirs_first"))
        own = half_then_rest(ROOT, ROOT, os.path.join(scratch, "ours_first"))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", other], cwd=ROOT,
                       capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    report = {"command": "python benchmarks/same_outputs.py " + " ".join(sys.argv[1:]),
              "against": args.against,
              "runs": {name: {file: theirs[name][file] == ours[name][file] for file in FILES}
                       for name in RUNS}}
    report["resumed_from_theirs"] = {name: {file: resumed[name][file] == own[name][file]
                                            for file in FILES} for name in RUNS}
    report["identical"] = all(all(r.values()) for part in ("runs", "resumed_from_theirs")
                              for r in report[part].values())
    print(json.dumps(report, indent=2))
    if args.out:
        write_json(args.out, report, indent=2)
    sys.exit(0 if report["identical"] else 1)


if __name__ == "__main__":
    main()
