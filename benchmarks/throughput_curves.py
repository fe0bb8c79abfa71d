"""How training cost grows: steps/s and images/s against batch size and width, gan_tf
against the Keras tutorial's loop, each variant in its own process (the machinery of
benchmarks/throughput.py), and one plot of it.

    python benchmarks/throughput_curves.py --report=docs/results/throughput_curves.json \
        --plot=docs/results/throughput_curves.png          # about 12 minutes on 2 cores
    python benchmarks/throughput_curves.py --plot_only=docs/results/throughput_curves.json \
        --plot=docs/results/throughput_curves.png          # redraw from the JSON

Curves: the MLP (one hidden layer in G and D, as `tf1_mnist.cfg`) at batch 32-1024 with
128 units and at 128-1024 units with batch 128; the DCGAN (gan_tf's default sizes, the
tutorial's Adam 1e-4) at batch 32-1024 and with every layer's channels x1-x4 at batch 64.
Variants: gan_tf's MLP with and without XLA (train_main.py's MLP default was XLA up to
batch 128 after the first curves, 0.3.3-0.3.4, and is no XLA since the second, with
Adam's fused update, 0.3.5), its DCGAN (no XLA), each also computing in bfloat16, and the Keras
tutorial's loop around same-sized Keras models. gan_tf's MLP alternates its updates as the
TF1 notebook does (G runs forward twice a step); the tutorial's loop and gan_tf's DCGAN
update G and D from one forward pass.
"""
import argparse
import io
import json
import os
import platform
import sys

if __name__ == "__main__":  # the command's quiet default; importing this module changes nothing
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, read_json, write_bytes, write_json  # noqa: E402

BATCHES = (32, 64, 128, 256, 512, 1024)
MLP_WIDTHS, MLP_WIDTH_BATCH = (128, 256, 512, 1024), 128
DCGAN_SCALES, DCGAN_SCALE_BATCH = (1, 2, 3, 4), 64
VARIANTS = {"mlp": ("keras_loop", "gan_tf_xla", "gan_tf", "gan_tf_xla_bf16", "gan_tf_bf16"),
            "dcgan": ("keras_tutorial", "gan_tf", "gan_tf_bf16")}
LABELS = {"keras_loop": "Keras tutorial loop", "keras_tutorial": "Keras tutorial loop",
          "gan_tf_xla": "gan_tf (float32, XLA)", "gan_tf": "gan_tf (float32, no XLA)",
          "gan_tf_xla_bf16": "gan_tf (bfloat16, XLA)", "gan_tf_bf16": "gan_tf (bfloat16)"}


def groups():
    """{group name: variants}: the batch curves at the default width, then the width
    curves at one batch (a point both curves share is measured once)."""
    names = [f"mlp/b{b}/w128" for b in BATCHES]
    names += [f"mlp/b{MLP_WIDTH_BATCH}/w{w}" for w in MLP_WIDTHS]
    names += [f"dcgan/b{b}/x1" for b in BATCHES]
    names += [f"dcgan/b{DCGAN_SCALE_BATCH}/x{x}" for x in DCGAN_SCALES]
    return {g: VARIANTS[g.split("/")[0]] for g in dict.fromkeys(names)}


def curves(rates):
    """{curve: {variant: [(x, steps/s, images/s)]}} of the measured rates {group/variant}."""
    out = {}
    for key, rate in rates.items():
        group, variant = key.rsplit("/", 1)
        model, batch, size = group.split("/")
        batch, size = int(batch[1:]), int(size[1:])
        default = 128 if model == "mlp" else 1
        at = MLP_WIDTH_BATCH if model == "mlp" else DCGAN_SCALE_BATCH
        if size == default:
            out.setdefault(f"{model} vs batch", {}).setdefault(variant, []).append(
                (batch, rate, rate * batch))
        if batch == at:
            out.setdefault(f"{model} vs width", {}).setdefault(variant, []).append(
                (size, rate, rate * batch))
    for curve in out.values():
        for points in curve.values():
            points.sort()
    return out


def plot(report, path):
    """Four panels: images/s against batch and steps/s against width, per model."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = curves(report["steps_per_sec"])
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels = [("mlp vs batch", 2, "images/s", "batch size"),
              ("mlp vs width", 1, "steps/s", f"hidden units (batch {MLP_WIDTH_BATCH})"),
              ("dcgan vs batch", 2, "images/s", "batch size"),
              ("dcgan vs width", 1, "steps/s", f"channels x (batch {DCGAN_SCALE_BATCH})")]
    for ax, (curve, column, ylabel, xlabel) in zip(axes.flat, panels):
        for variant, points in data.get(curve, {}).items():
            ax.plot([p[0] for p in points], [p[column] for p in points], marker="o",
                    label=LABELS.get(variant, variant))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(curve.replace("mlp", "MLP").replace("dcgan", "DCGAN"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Training throughput, {report.get('cpu', '?')}", fontsize=10)
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=90)
    plt.close(fig)
    write_bytes(path, image.getvalue())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2, help="rounds per group (median)")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per variant and round")
    p.add_argument("--report", help="write the JSON results here")
    p.add_argument("--plot", help="draw the curves into this PNG")
    p.add_argument("--plot_only", help="only draw --plot from this JSON report")
    args = p.parse_args()
    if args.plot_only and not args.plot:
        p.error("--plot_only needs --plot")
    for flag in ("report", "plot"):
        check_out(flag, getattr(args, flag))
    if args.plot_only:
        plot(read_json(args.plot_only, "a throughput_curves report"), args.plot)
        return
    import tensorflow as tf
    from benchmarks import throughput
    medians, per_round, _ = throughput.measure(groups(), args.rounds, args.seconds, {}, False)
    report = {"cpu": throughput.cpu_flags(), "machine": f"{platform.machine()}, "
              f"{os.cpu_count()} CPUs", "tensorflow": tf.__version__, "rounds": args.rounds,
              "seconds_per_measurement": args.seconds,
              "command": " ".join(["python", "benchmarks/throughput_curves.py"] + sys.argv[1:]),
              "steps_per_sec": {k: round(x, 3) for k, x in medians.items()},
              "per_round": per_round, "curves": curves(medians)}
    print(json.dumps(report, indent=1))
    if args.report:
        write_json(args.report, report)
    if args.plot:
        plot(report, args.plot)


if __name__ == "__main__":
    main()
