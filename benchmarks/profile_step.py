"""Where a gan_tf training step's time goes, op type by op type: a tf.profiler trace of a
throughput variant's calls, summed over the host's compute threads, per step.

    python benchmarks/profile_step.py [--group=mlpbcr/b128] [--variant=gan_tf_bf16@1]
        [--calls=6] [--top=15] [--inter_op=1]

GROUP and VARIANT are benchmarks/throughput.py's (e.g. mlp/b100 gan_tf@1, dcgancpu/b32
gan_tf_bf16@1, dcgan/b64 keras_tutorial@1: the loop gan_tf's DCGAN is set against).
Thread-ms add up the ops the executor's threads ran, so their sum exceeds
the wall time per step when ops run side by side; the shares are of that sum. Meant for
one thread per op (a variant ending @1): with more, an op's time on its executor thread
still counts once, but the work of the helper threads it splits into is not counted.
The wall time a step is of the traced calls alone. Keep the machine otherwise idle.
"""
import argparse
import collections
import glob
import os
import re
import sys
import tempfile
import time

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODELS = ("mlp", "mlpbcr", "mlpwide", "dcgan", "dcgancpu")  # throughput.py's groups
GROUP = re.compile(rf"({'|'.join(MODELS)})/b[1-9][0-9]{{0,4}}(/[wx][1-9][0-9]{{0,4}})?")
# gan_tf's steps, and the Keras tutorial's loop that the DCGAN's are set against
VARIANT = re.compile(r"(gan_tf(_xla)?(_bf16)?|keras_tutorial)(@[0-9]{1,3})?")

# The events of the executor and of Python that enclose the ops (not op types).
ENCLOSING = {"Process", "Run", "RunAsync", "Start", "FunctionRun", "DoCompute", "Root",
             "EagerExecute", "EagerKernelExecute", "TFE_Py_ExecuteCancelable"}


def op_thread_ms(space, steps):
    """{op type: thread-ms per step} from an XSpace's host compute threads (the lines
    named tf_Compute*): the op events, named "node:OpType"; events named otherwise (the
    executor's, which enclose ops) and functions' (OpType __inference*) are left out."""
    totals = collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                node, sep, op = plane.event_metadata[event.metadata_id].name.rpartition(":")
                if not (sep and node) or node.endswith(":") or op in ENCLOSING or \
                        op.startswith("__inference"):
                    continue
                totals[op] += event.duration_ps
    return {name: ps / 1e9 / steps for name, ps in totals.items()}


def parse_args(argv=None):
    """The command's arguments, checked before TensorFlow starts: a malformed group or
    variant, or a count under 1, is a one-line usage error."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--group", default="mlpbcr/b128")
    p.add_argument("--variant", default="gan_tf_bf16@1")
    p.add_argument("--calls", type=int, default=6)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--inter_op", type=int, default=0,
                   help="ops run side by side (0: TensorFlow's default); 1 with a variant "
                   "@1 makes the thread-ms a step's CPU ms")
    args = p.parse_args(argv)
    if not GROUP.fullmatch(args.group):
        p.error(f"--group={args.group!r}: MODEL/bBATCH[/wWIDTH|/xSCALE], MODEL one of "
                f"{', '.join(MODELS)} (e.g. mlpbcr/b128, dcgancpu/b32/x2)")
    if not VARIANT.fullmatch(args.variant):
        p.error(f"--variant={args.variant!r}: gan_tf[_xla][_bf16][@THREADS] or "
                "keras_tutorial[@THREADS] (e.g. gan_tf_bf16@1)")
    if args.variant.startswith("keras") and not args.group.startswith("dcgan/"):
        p.error(f"--variant={args.variant}: the Keras tutorial's loop is a dcgan/ group's")
    for name in ("calls", "top"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if not 0 <= args.inter_op <= 4096:
        p.error("--inter_op must be 0 (TensorFlow's default) to 4096")
    return args


def main():
    args = parse_args()

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    from benchmarks import throughput
    from gan_tf import data
    from gan_tf.training import threads
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    variant, _, forced = args.variant.partition("@")
    if variant == "keras_tutorial":  # threads per op as gan_tf's variant@N sets them
        if forced:
            tf.config.threading.set_intra_op_parallelism_threads(int(forced))
    else:  # gan_tf's variants read their threads from the whole name
        variant = args.variant
        threads.configure(throughput.gan_tf_config(args.group, variant))
    step, per_call = throughput.build_variant(args.group, variant,
                                              data.load_mnist_5k().train_images)
    for _ in range(5):  # tracing and warm-up
        step()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(args.calls):
            step()
        wall = (time.perf_counter() - start) / (args.calls * per_call) * 1e3
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        if len(paths) != 1:
            raise SystemExit(f"expected one trace file from tf.profiler, found {len(paths)}")
        with open(paths[0], "rb") as f:
            space.ParseFromString(f.read())
    ops = op_thread_ms(space, args.calls * per_call)
    total = sum(ops.values())
    print(f"{throughput.cpu_flags()}\n{args.group}/{args.variant}: {wall:.2f} ms a step "
          f"(wall, traced), {total:.2f} thread-ms of ops")
    for name, ms in sorted(ops.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"{ms:8.3f} thread-ms  {100 * ms / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
