"""benchmarks/fuzz_pickles.py's bookkeeping of a worker that dies: every crash case kept
under a name of its own, and a death after the last case reported, not an IndexError."""
import argparse
import os

from benchmarks import fuzz_pickles


def test_each_crash_keeps_its_case_under_a_new_name(tmp_path, monkeypatch):
    monkeypatch.setattr(fuzz_pickles, "ROOT", str(tmp_path))
    # A worker that dies while loading its second case (it wrote that case's number).
    monkeypatch.setattr(fuzz_pickles, "WORKER", "import sys\n"
                        "open(sys.argv[1] + '/progress', 'w').write('0\\n[0, \"loaded\", 0.1]\\n1\\n')\n"
                        "sys.exit(3)\n")
    args = argparse.Namespace(case_seconds=1.0, memory_gib=1)
    kept = []
    for case in (b"first", b"second"):
        outcomes, _, crash = fuzz_pickles.run_batch([b"ok", case], args)
        assert outcomes == [("loaded", 0.1)] and crash.startswith("exit 3 on a case kept as ")
        kept.append(crash.rsplit(" ", 1)[1])
    assert len(set(kept)) == 2 and [open(p, "rb").read() for p in kept] == [b"first", b"second"]
    assert all(os.path.dirname(p) == str(tmp_path) for p in kept)


def test_a_worker_that_dies_after_its_last_case_is_a_crash_without_a_case(tmp_path, monkeypatch):
    monkeypatch.setattr(fuzz_pickles, "ROOT", str(tmp_path))
    monkeypatch.setattr(fuzz_pickles, "WORKER", "import sys\n"
                        "open(sys.argv[1] + '/progress', 'w').write('0\\n[0, \"loaded\", 0.1]\\n')\n"
                        "sys.exit(3)\n")
    outcomes, _, crash = fuzz_pickles.run_batch([b"ok"], argparse.Namespace(
        case_seconds=1.0, memory_gib=1))
    assert outcomes == [("loaded", 0.1)] and crash == "exit 3 after its last case"
    assert os.listdir(tmp_path) == []


def test_a_worker_that_dies_before_its_first_case_blames_no_case(tmp_path, monkeypatch):
    monkeypatch.setattr(fuzz_pickles, "ROOT", str(tmp_path))
    monkeypatch.setattr(fuzz_pickles, "WORKER", "import sys\nsys.exit(3)\n")  # no progress
    outcomes, _, crash = fuzz_pickles.run_batch([b"ok"], argparse.Namespace(
        case_seconds=1.0, memory_gib=1))
    assert outcomes == [] and crash == "exit 3 before its first case"
    assert os.listdir(tmp_path) == []
