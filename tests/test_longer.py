"""benchmarks/longer.py without training: `measure` replaced by a made-up run, so what the
results file keeps, resumes and refuses is checked exactly."""
import json

import pytest

from benchmarks import longer

FLAGFILE = "dcgan_cpu"  # a shipped flagfile: its length is read from flags/dcgan_cpu.cfg
LENGTH = longer.base_max_steps(f"flags/{FLAGFILE}.cfg")


def made_up_run(flagfile, seed, factor, work):
    length = longer.base_max_steps(f"flags/{flagfile}.cfg")
    score = {"classifier_score": 8.0 + seed / 10}
    return dict(seed=seed, length=length, steps=factor * length, at_length=score,
                served=score, served_checkpoint=f"best-{length}", last=score, curve=[])


@pytest.fixture
def measured(monkeypatch):
    seeds = []

    def measure(flagfile, seed, factor, work):
        seeds.append(seed)
        return made_up_run(flagfile, seed, factor, work)
    monkeypatch.setattr(longer, "measure", measure)
    return seeds


def run(out, seeds):
    longer.main([f"--flagfile={FLAGFILE}", f"--seeds={seeds}", f"--out={out}",
                 f"--work={out.parent / 'runs'}"])
    return json.loads(out.read_text())


def test_a_rerun_measures_only_the_missing_seeds_and_keeps_the_others(tmp_path, measured):
    out = tmp_path / "longer.json"
    assert [r["seed"] for r in run(out, "3,4")["runs"]] == [3, 4]
    doc = run(out, "5,3")  # 3 is measured: only 5 runs, and 4 stays in the file
    assert measured == [3, 4, 5]
    assert [r["seed"] for r in doc["runs"]] == [3, 4, 5]
    assert doc["mean"]["at_length"] == pytest.approx(8.4)


@pytest.mark.parametrize("change,message", [
    (dict(length=LENGTH + 2000), f"at {LENGTH + 2000} steps, and it now sets {LENGTH}"),
    (dict(flagfile="mlp_info"), "another measurement than --flagfile=dcgan_cpu --factor=2"),
    (dict(factor=3), "another measurement"),
    (dict(runs=[{"seed": "3"}]), "another measurement"),
    (dict(runs={"seed": 3}), "another measurement"),
    (dict(runs=[{"seed": 9, "length": LENGTH}]), "another measurement"),  # no scores: the
    (dict(runs=[{**made_up_run(FLAGFILE, 9, 2, None), "served": {"classifier_score": "9"}}]),
     "another measurement"),  # mean failed after the new seeds' runs, losing them
])
def test_a_file_of_another_measurement_is_refused_and_left_as_it_was(tmp_path, measured, change,
                                                                   message):
    """The file an earlier run wrote for another length of the flagfile (its runs would be
    averaged with this length's), another flagfile or factor, or not this benchmark's."""
    doc = dict(flagfile=FLAGFILE, factor=2, runs=[made_up_run(FLAGFILE, 3, 2, None)])
    if "length" in change:
        doc["runs"][0]["length"] = change.pop("length")
    doc.update(change)
    out = tmp_path / "longer.json"
    out.write_text(json.dumps(doc))
    before = out.read_text()
    with pytest.raises(SystemExit, match=message):
        run(out, "3,4")
    assert measured == [] and out.read_text() == before


def test_longer_runs_evaluate_on_the_flagfiles_own_last_step():
    """benchmarks/longer.py reads the in-run evaluation at the flagfile's length: the
    interval must divide it (mlp_info's 20,000 // 6 = 3,333 never reached step 20,000)."""
    for length in (24000, 20000, 55000, 200, 7):
        interval = longer.eval_interval(length)
        assert length % interval == 0 and length // interval >= 6
    assert longer.eval_interval(24000) == 4000 and longer.eval_interval(20000) == 2500


SEEDS = "--seeds takes distinct comma-separated whole numbers"


@pytest.mark.parametrize("argv,message", [
    (["--flagfile=../setup"], "--flagfile takes the name of a file in flags/"),
    (["--flagfile=flags/dcgan_cpu"], "--flagfile takes the name of a file in flags/"),
    (["--flagfile=no_such_flagfile"], "no flags/no_such_flagfile.cfg"),
    (["--flagfile=dcgan_cpu", "--seeds=3,,4"], SEEDS),
    (["--flagfile=dcgan_cpu", "--seeds=three"], SEEDS),
    (["--flagfile=dcgan_cpu", "--seeds=3,3"], SEEDS),
    (["--flagfile=dcgan_cpu", "--seeds=-1"], SEEDS),
    (["--flagfile=dcgan_cpu", "--factor=0"], "--factor must be at least 1"),
])
def test_bad_arguments_are_one_line_errors_before_any_run(tmp_path, measured, capsys, argv,
                                                         message):
    with pytest.raises(SystemExit) as exit_:
        longer.main([*argv, f"--out={tmp_path / 'out.json'}", f"--work={tmp_path / 'runs'}"])
    assert exit_.value.code == 2 and measured == []
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)
    assert not (tmp_path / "out.json").exists()
