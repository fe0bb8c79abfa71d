"""Fuzzes gan_tf's pickle loader: mutated pickles, each loaded by `logs.read_pickle` (the
safe loader, any failure one LogFormatError) in worker processes, and every outcome checked.

    python benchmarks/fuzz_pickles.py --cases=50000 --out=docs/results/fuzz_pickles.json

Seeds: what gan_tf and the legacy notebooks write (loss pairs, sample grids, numpy
scalars and dtypes, protocols 0-5, numpy 1 and 2 module names) and the crafted files of
issue 31 (a buffer view freed under it, the byte-swap memory bomb, colliding keys).
Mutations: bytes flipped, opcodes inserted, chunks of one seed spliced into another,
sections repeated, integers made huge. A case passes when it loads, or fails with one
LogFormatError of one line; a worker that dies (a crash) or a case that takes longer
than --case_seconds fails the run. Workers run under an address-space limit
(--memory_gib) so that an allocation the loader lets through is an error here, not a
swapped machine. Writes counts, the slowest case and the peak memory to --out.
"""
import argparse
import json
import os
import pickle
import platform
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.results_file import check_out, write_json  # noqa: E402

OPCODES = [bytes([code]) for code in sorted({op.code.encode("latin-1")[0]
                                               for op in __import__("pickletools").opcodes})]


def seeds():
    """Legitimate pickles of every protocol and the crafted ones of the tests."""
    from tests import test_pickles as crafted  # the attacker's pickles, opcode by opcode
    values = [[(np.float32(1.5), np.float32(0.25))] * 3,
              [np.linspace(-1, 1, 2 * 784, dtype=np.float32).reshape(2, 28, 28)],
              [np.zeros((2, 3), ">f4"), np.ones((2, 2), np.float64).T, np.int64(-3), np.bool_(1)],
              {"d": [1.0, 2.0], "g": (3, "x", b"y", None, True)}]
    out = [pickle.dumps(v, protocol=p) for v in values for p in range(6)]
    out += [crafted.as_numpy1(pickle.dumps(values[1], protocol=p)) for p in range(6)]
    out += [crafted.use_after_free(), crafted.byteswap_bomb(4096),
            crafted.colliding_keys(50), crafted.colliding_keys(50, memo=True)]
    return out


def mutate(rng, data, pool):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        pos = rng.randrange(len(data) + 1)
        if kind == 0 and data:  # flip a byte
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert an opcode with a small argument
            data[pos:pos] = rng.choice(OPCODES) + bytes(rng.randrange(256)
                                                        for _ in range(rng.randrange(5)))
        elif kind == 2:  # splice a chunk of another seed
            other = rng.choice(pool)
            start = rng.randrange(len(other))
            data[pos:pos] = other[start:start + rng.randrange(1, 64)]
        elif kind == 3 and data:  # repeat a section
            end = min(len(data), pos + rng.randrange(1, 32))
            data[pos:pos] = data[pos:end] * rng.randrange(2, 50)
        elif kind == 4:  # a huge integer
            number = rng.getrandbits(rng.choice([64, 4096, 65536]))
            raw = number.to_bytes(number.bit_length() // 8 + 1, "little")
            data[pos:pos] = pickle.LONG4 + struct.pack("<i", len(raw)) + raw
        elif kind == 5 and data:  # delete
            del data[pos:pos + rng.randrange(1, 16)]
    return bytes(data)


WORKER = r"""
import json, resource, sys, time
limit = int(sys.argv[3]) << 30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from gan_tf.runs import logs
from gan_tf.errors import LogFormatError
folder, count = sys.argv[1], int(sys.argv[2])
with open(folder + "/progress", "w", buffering=1) as progress:
    for i in range(count):
        progress.write(f"{i}\n")
        start = time.perf_counter()
        try:
            logs.read_pickle(f"{folder}/{i}.pkl")
            outcome = "loaded"
        except LogFormatError as e:
            outcome = "one_line" if "\n" not in str(e) and len(str(e)) < 1000 else "long"
        except BaseException as e:
            outcome = "escaped:" + type(e).__name__
        seconds = time.perf_counter() - start
        progress.write(json.dumps([i, outcome, seconds]) + "\n")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run_batch(cases, args):
    """Loads `cases` in one worker: (outcomes, seconds, peak KiB, crash or None)."""
    with tempfile.TemporaryDirectory() as folder:
        for i, data in enumerate(cases):
            with open(os.path.join(folder, f"{i}.pkl"), "wb") as f:
                f.write(data)
        try:
            result = subprocess.run(
                [sys.executable, "-c", WORKER, folder, str(len(cases)), str(args.memory_gib)],
                capture_output=True, text=True, timeout=args.case_seconds * len(cases) + 60,
                env=dict(os.environ, PYTHONPATH=ROOT))
            crash = None if result.returncode == 0 else f"exit {result.returncode}"
        except subprocess.TimeoutExpired:
            result, crash = None, "timeout"
        # The worker writes a case's number as it starts it and a JSON line when it is done.
        started, lines = [], []  # none if the worker died before it began
        if os.path.exists(os.path.join(folder, "progress")):
            with open(os.path.join(folder, "progress")) as f:
                for line in f:
                    (lines if line.startswith("[") else started).append(json.loads(line))
        if crash and len(started) > len(lines):
            crashed = len(lines)  # the case it was loading
            # A new file of its own: an earlier crash's case (or a link) is never replaced.
            fd, kept = tempfile.mkstemp(dir=ROOT, prefix="fuzz_crash_", suffix=".pkl")
            with os.fdopen(fd, "wb") as f:
                f.write(cases[crashed])
            crash += f" on a case kept as {kept}"
        elif crash:
            crash += (" before its first case" if not started else
                      " after its last case" if len(lines) == len(cases) else
                      f" between cases {len(lines) - 1} and {len(lines)}")
        peak = int(result.stdout.split()[-1]) if result and result.returncode == 0 else 0
    return [(o, s) for _, o, s in lines], peak, crash


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case_seconds", type=float, default=2.0)
    parser.add_argument("--memory_gib", type=int, default=4)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    check_out("out", args.out)
    rng, pool = random.Random(args.seed), seeds()
    counts, slowest, peak, crashes, started = {}, (0.0, None), 0, [], time.time()
    for first in range(0, args.cases, args.batch):
        cases = [mutate(rng, rng.choice(pool), pool)
                 for _ in range(min(args.batch, args.cases - first))]
        outcomes, batch_peak, crash = run_batch(cases, args)
        for i, (outcome, seconds) in enumerate(outcomes):
            counts[outcome] = counts.get(outcome, 0) + 1
            if seconds > slowest[0]:
                slowest = (seconds, len(cases[i]))
        peak = max(peak, batch_peak)
        if crash:
            crashes.append(crash)
        print(f"{first + len(cases)} cases: {counts}, slowest {slowest[0]:.3f} s, "
              f"crashes {len(crashes)}", flush=True)
    report = {"command": "python benchmarks/fuzz_pickles.py " + " ".join(sys.argv[1:]),
              "cpu": cpu_name(), "cases": args.cases,
              "outcomes": counts, "crashes": crashes, "slowest_case_seconds": slowest[0],
              "slowest_case_bytes": slowest[1], "peak_worker_rss_mib": round(peak / 1024, 1),
              "seconds": round(time.time() - started, 1)}
    print(json.dumps(report, indent=2))
    if args.out:
        write_json(args.out, report, indent=2)
    bad = crashes or slowest[0] > args.case_seconds or any(
        not (k in ("loaded", "one_line")) for k in counts)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
