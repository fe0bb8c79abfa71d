"""The benchmarks' results files: a path they cannot write stops them before their work,
in one line; a written file replaces a link instead of writing through it."""
import json
import os
import subprocess
import sys

import pytest

from benchmarks import results_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("kind", ["link", "dangling_link", "pipe"])
def test_a_link_or_a_device_at_the_path_is_refused_and_kept(tmp_path, kind):
    """The write replaces the path: /dev/null or /dev/stdout given as --report would
    themselves be replaced (by root, even in /dev). Refused before the work."""
    target = tmp_path / "users_file.txt"
    target.write_text("the user's")
    path = tmp_path / "report.json"
    if kind == "pipe":
        os.mkfifo(path)
    else:
        os.symlink(target if kind == "link" else tmp_path / "gone", path)
    with pytest.raises(SystemExit) as e:
        results_file.check_out("report", str(path))
    assert ("symbolic link" if "link" in kind else "not a regular file") in str(e.value.code)
    assert target.read_text() == "the user's"
    assert os.path.islink(path) if "link" in kind else not os.path.isfile(path)


def test_dev_null_is_refused():
    with pytest.raises(SystemExit, match="not a regular file"):
        results_file.check_out("report", os.devnull)


def test_a_file_at_the_path_is_replaced_whole(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    results_file.check_out("report", str(path))
    results_file.write_json(str(path), {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}


def test_a_missing_folder_is_made_when_it_can_be(tmp_path):
    path = tmp_path / "new" / "deeper" / "out.json"
    results_file.check_out("out", str(path))
    assert not (tmp_path / "new").exists()  # the check creates nothing
    results_file.write_json(str(path), [1, 2])
    assert json.loads(path.read_text()) == [1, 2]


@pytest.mark.parametrize("make,message", [
    (lambda t: str(t), "is a folder"),
    (lambda t: "", "is empty"),
    (lambda t: str(t / "a_file" / "out.json"), "is not a folder"),
    (lambda t: str(t / "link_to_folder"), "is a folder"),  # not replaced by a file
    (lambda t: os.path.relpath(t / "a_file" / "out.json"), "is not a folder"),
])
def test_paths_that_cannot_be_written_are_one_line(tmp_path, make, message):
    (tmp_path / "a_file").write_text("x")
    os.symlink(tmp_path, tmp_path / "link_to_folder")
    with pytest.raises(SystemExit) as e:
        results_file.check_out("out", make(tmp_path))
    assert message in str(e.value.code) and "\n" not in str(e.value.code)
    assert (tmp_path / "a_file").read_text() == "x"


def test_a_write_that_fails_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit) as e:
        results_file.write_json(str(tmp_path / "a_file" / "out.json"), {})
    assert str(e.value.code).startswith("cannot write") and "\n" not in str(e.value.code)


# Each benchmark that writes a results file, with arguments that would start its work
# (minutes to hours of it) were the path not checked first.
BENCHMARKS = [
    ("anomaly", ["--out={bad}"]),
    ("crash_resume", ["--report={bad}"]),
    ("fuzz_pickles", ["--cases=1", "--out={bad}"]),
    ("info_codes", ["{tmp}/no_run", "--out={bad}"]),
    ("longer", ["--flagfile=tf1_mnist", "--out={bad}"]),
    ("quality", ["--out={bad}"]),
    ("same_outputs", ["--against=HEAD", "--out={bad}"]),
    ("scaling", ["--report={bad}"]),
    ("sweep", ["--out={bad}"]),
    ("thread_weights", ["--report={bad}"]),
    ("threads_scan", ["--report={bad}"]),
    ("throughput", ["--report={bad}"]),
    ("throughput_curves", ["--report={bad}"]),
    ("throughput_curves", ["--plot={bad}"]),
    ("truncation", ["{tmp}/no_run", "--out={bad}"]),
]


@pytest.mark.parametrize("name,argv", BENCHMARKS, ids=lambda x: x if isinstance(x, str) else
                         x[-1].split("=")[0])
def test_every_benchmark_refuses_an_unwritable_results_path_before_its_work(
        tmp_path, name, argv):
    blocker = tmp_path / "a_file"  # a file where the results' folder would be
    blocker.write_text("the user's")
    bad = str(blocker / "results.json")
    args = [a.format(bad=bad, tmp=tmp_path) for a in argv]
    home = tmp_path / "home"  # where TensorFlow and matplotlib may keep their caches
    home.mkdir()
    env = dict(os.environ, HOME=str(home), TF_CPP_MIN_LOG_LEVEL="2")
    try:
        done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", f"{name}.py"),
                               *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}.py started its work with an unwritable results path")
    err = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and err and "cannot write in" in err[-1], err[-3:]
    assert blocker.read_text() == "the user's"
    assert sorted(os.listdir(tmp_path)) == ["a_file", "home"]  # no run, no work folder made
