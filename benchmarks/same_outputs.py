"""Checks that a change kept training's results: deterministic runs of this tree and of
another revision write byte-identical train_losses.pkl and train_samples.pkl.

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


def run_all(tree, scratch):
    """{run name: {file: bytes}} of every run of RUNS trained by the tree at `tree`."""
    out = {}
    env = dict(os.environ, PYTHONPATH=tree, GAN_TF_CACHE=os.path.join(scratch, "cache"))
    for name, flags in RUNS.items():
        run_dir = os.path.join(scratch, os.path.basename(tree) + "_" + name)
        result = subprocess.run(
            [sys.executable, os.path.join(tree, "train_main.py"), "--dataset=mnist_5k",
             "--eval_samples=0", "--deterministic", f"--output_dir={run_dir}", *flags],
            cwd=tree, env=env, capture_output=True, text=True)
        if result.returncode:
            raise SystemExit(f"{name} failed in {tree}: {result.stderr.strip()[-500:]}")
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
    scratch = tempfile.mkdtemp(prefix="gan_tf_same_")
    other = os.path.join(scratch, "other")
    subprocess.run(["git", "worktree", "add", "--detach", other, args.against], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        theirs, ours = run_all(other, scratch), run_all(ROOT, scratch)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", other], cwd=ROOT,
                       capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    report = {"command": "python benchmarks/same_outputs.py " + " ".join(sys.argv[1:]),
              "against": args.against,
              "runs": {name: {file: theirs[name][file] == ours[name][file] for file in FILES}
                       for name in RUNS}}
    report["identical"] = all(all(r.values()) for r in report["runs"].values())
    print(json.dumps(report, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    sys.exit(0 if report["identical"] else 1)


if __name__ == "__main__":
    main()
