"""benchmarks/sweep.py's search, without training: `train` replaced by a fixed score of the
flags, seed and steps, so the successive halving, the early stops, the selection over seeds
and the resume after an interruption are checked exactly."""
import json
import os

import numpy as np
import pytest

from benchmarks import sweep


def fake_score(flags, steps, seed):
    """A made-up landscape: lecam and ema help, lr 0.001 collapses, longer is better."""
    score = 5.0 + steps / 3000 + 0.01 * seed
    score += 1.0 if flags.get("lecam_weight") else 0.0
    score += 0.5 if flags.get("g_ema") else 0.0
    score -= 4.0 if flags.get("g_learning_rate") == "0.001" else 0.0
    return dict(classifier_score=score, modes=10 if score > 4 else 5, recall=0.5,
                precision=0.8, frechet_distance=10.0, seconds=1.0,
                steps_per_sec=20.0 if flags.get("batch_size") == "64" else 100.0)


@pytest.fixture
def calls(monkeypatch):
    made = []

    def train(run_dir, base, flags, steps, final_steps, seed, max_seconds=None):
        made.append((run_dir, steps, seed))
        return fake_score(flags, steps, seed)
    monkeypatch.setattr(sweep, "train", train)
    return made


def test_trials_are_the_base_then_distinct_valid_draws_reproducibly():
    space = sweep.SPACES["dcgan_small_data"][1]
    trials = sweep.draw_trials(space, 20, sample_seed=0)
    assert trials[0] == {} and len(trials) == 20
    assert len({tuple(sorted(t.items())) for t in trials}) == 20
    assert all(sweep._valid(t) for t in trials)
    assert all(v in space[k] for t in trials for k, v in t.items())
    assert trials == sweep.draw_trials(space, 20, sample_seed=0) != sweep.draw_trials(space, 20, 1)


def test_a_linear_decay_keeps_the_searchs_length_across_rungs():
    assert sweep.command_flags({"lr_decay": "linear", "minibatch_stddev": "true"}, 1000, 9000) == [
        "--lr_decay=linear", "--minibatch_stddev", "--lr_decay_steps=9000", "--max_steps=1000"]


def test_halving_keeps_the_best_third_and_picks_the_best_mean_over_seeds(tmp_path, calls):
    sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000", "--confirm_seeds="])
    state = json.loads((tmp_path / "sweep.json").read_text())
    assert len([c for c in calls if c[1] == 1000]) == 9  # every trial at the first rung, seed 0
    promoted = [t for t in state["trials"] if "3000/0" in t["results"]]
    assert len(promoted) == 3  # ceil(9 / 3)
    scores = {t["id"]: t["results"]["1000/0"]["classifier_score"] for t in state["trials"]}
    assert min(scores[t["id"]] for t in promoted) >= max(
        s for i, s in scores.items() if i not in {t["id"] for t in promoted})
    winner = state["winner"]
    best = max(promoted, key=lambda t: fake_score(t["flags"], 3000, 0)["classifier_score"])
    assert winner["id"] == best["id"]
    assert all(f"3000/{s}" in best["results"] for s in (0, 1, 2))  # selected over 3 seeds
    assert winner["mean_classifier_score"] == pytest.approx(
        sum(fake_score(best["flags"], 3000, s)["classifier_score"] for s in (0, 1, 2)) / 3,
        abs=1e-3)
    assert "Winner: trial" in sweep.report(state)


def test_an_interrupted_sweep_goes_on_without_training_anything_twice(tmp_path, monkeypatch,
                                                                     calls):
    def flaky(run_dir, base, flags, steps, final_steps, seed, max_seconds=None):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append((run_dir, steps, seed))
        return fake_score(flags, steps, seed)
    argv = [f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000", "--confirm_seeds="]
    monkeypatch.setattr(sweep, "train", flaky)
    with pytest.raises(KeyboardInterrupt):
        sweep.main(argv)
    assert len(json.loads((tmp_path / "sweep.json").read_text())["trials"][0]["results"]) == 1
    monkeypatch.setattr(sweep, "train", lambda *a: (calls.append((a[0], a[3], a[5])),
                                                     fake_score(a[2], a[3], a[5]))[1])
    sweep.main(argv)
    assert len(calls) == len(set(calls))  # nothing trained twice
    whole = tmp_path / "whole"
    whole.mkdir()
    calls.clear()
    sweep.main([f"--out={whole / 'sweep.json'}", "--trials=9", "--rungs=1000,3000", "--confirm_seeds="])
    resumed = json.loads((tmp_path / "sweep.json").read_text())
    straight = json.loads((whole / "sweep.json").read_text())
    assert resumed["winner"] == straight["winner"]
    assert [t["stopped_at"] for t in resumed["trials"]] == [t["stopped_at"] for t in straight["trials"]]


def test_a_collapsed_trial_stops_early_and_another_sweep_is_not_mixed_in(tmp_path, calls):
    sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000",
                "--eta=2", "--hopeless=6.0", "--confirm_seeds="])
    state = json.loads((tmp_path / "sweep.json").read_text())
    for t in state["trials"]:
        if t["results"]["1000/0"]["classifier_score"] < 6.0 and t["id"] != state["winner"]["id"]:
            assert t["stopped_at"] == 1000
    with pytest.raises(SystemExit, match="another eta"):
        sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000",
                    "--eta=3", "--hopeless=6.0", "--confirm_seeds="])


def test_the_winner_and_the_base_are_measured_on_fresh_seeds_at_full_length(tmp_path, calls):
    sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000"])
    state = json.loads((tmp_path / "sweep.json").read_text())
    full = sweep.base_max_steps(state["base"])  # dcgan_cpu.cfg's 24,000
    confirmed = [(steps, seed) for _, steps, seed in calls if steps == full]
    assert sorted(confirmed) == [(full, s) for s in (3, 3, 4, 4, 5, 5)]  # base and winner
    c = state["confirmation"][str(state["winner"]["id"])]
    assert c["seeds"] == [3, 4, 5] and c["steps"] == full
    winner = state["trials"][state["winner"]["id"]]
    assert c["classifier_score"]["mean"] == pytest.approx(sum(
        fake_score(winner["flags"], full, s)["classifier_score"] for s in (3, 4, 5)) / 3, abs=1e-3)
    with pytest.raises(SystemExit):
        sweep.parse_args(["--select_seeds=0,1,3"])  # a confirmation seed among the selection's


def test_a_trial_too_slow_for_ten_minutes_at_full_length_stops_at_the_first_rung(tmp_path, calls):
    # 24,000 steps (the confirmation's length) at 20 steps/s: 20 minutes.
    sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000",
                "--eta=2"])
    state = json.loads((tmp_path / "sweep.json").read_text())
    slow = [t for t in state["trials"] if t["flags"].get("batch_size") == "64"]
    assert slow and all(t["stopped_at"] == 1000 and t["minutes_at_full_length"] == 20.0
                        for t in slow)
    assert all(t["minutes_at_full_length"] == 4.0 for t in state["trials"] if t not in slow)


def test_marginal_effects_read_each_flag_value_from_the_first_rung(tmp_path, calls):
    sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000",
                "--confirm_seeds="])
    state = json.loads((tmp_path / "sweep.json").read_text())
    effects = sweep.marginal_effects(state)
    scores = [(t["flags"], t["results"]["1000/0"]["classifier_score"]) for t in state["trials"]]
    with_it = [v for f, v in scores if f.get("lecam_weight") == "0.1"]
    without = [v for f, v in scores if f.get("lecam_weight") != "0.1"]
    assert effects["lecam_weight=0.1"] == (round(np.mean(with_it) - np.mean(without), 2),
                                           len(with_it))


def test_first_rung_runs_get_a_time_cap_at_the_budgets_pace():
    args = sweep.parse_args(["--rungs=4000,12000"])  # confirmation at dcgan_cpu's 24,000
    # 4,000 of 24,000 steps in 10 minutes is 100 s; a quarter more and 20 s to start.
    assert sweep.time_cap(args, 4000) == pytest.approx(145.0)
    assert sweep.time_cap(sweep.parse_args(["--max_minutes=0"]), 4000) is None


def test_a_runner_up_can_be_measured_on_the_fresh_seeds_too(tmp_path, calls):
    argv = [f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000"]
    sweep.main(argv)
    state = json.loads((tmp_path / "sweep.json").read_text())
    other = next(t["id"] for t in state["trials"]
                 if t["id"] not in (0, state["winner"]["id"]) and t["stopped_at"] is None)
    before = len(calls)
    sweep.main(argv + [f"--confirm_also={other}"])
    assert len(calls) - before == 3  # only the runner-up's three fresh seeds are new
    state = json.loads((tmp_path / "sweep.json").read_text())
    assert set(state["confirmation"]) == {"0", str(state["winner"]["id"]), str(other)}


def test_the_base_can_wait_for_a_later_run_of_the_measurement(tmp_path, calls):
    argv = [f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000"]
    sweep.main(argv + ["--no-confirm_base"])
    state = json.loads((tmp_path / "sweep.json").read_text())
    winner = str(state["winner"]["id"])
    assert winner != "0" and set(state["confirmation"]) == {winner}
    before = len(calls)
    sweep.main(argv)  # the default: the base's fresh seeds added, nothing else retrained
    assert len(calls) - before == 3
    state = json.loads((tmp_path / "sweep.json").read_text())
    assert set(state["confirmation"]) == {"0", winner}


def test_the_readme_table_holds_every_finished_sweeps_measurement(tmp_path, calls):
    """--readme's table: the rows of every sweep file that has a confirmation (a search
    measured on no fresh seeds adds none), the files by name."""
    sweep.main([f"--out={tmp_path / 'sweep_dcgan_small_data.json'}", "--trials=3", "--rungs=1000,3000"])
    sweep.main([f"--out={tmp_path / 'sweep_mlp_small_data.json'}", "--space=mlp_small_data",
                "--trials=3", "--rungs=1000,3000", "--confirm_seeds="])  # no measurement
    sweep.main([f"--out={tmp_path / 'sweep_other.json'}", "--space=mlp_small_data", "--trials=3",
                "--rungs=1000,3000"])
    (tmp_path / "quality.json").write_text("[]")  # not a sweep file: not read
    # Two machines: each file's rows name its own CPU.
    for name, cpu in [("sweep_dcgan_small_data.json", "AMD EPYC: avx512_bf16, 2 cores"),
                      ("sweep_other.json", "Intel(R) Xeon(R) Processor")]:
        state = json.loads((tmp_path / name).read_text())
        (tmp_path / name).write_text(json.dumps(dict(state, cpu=cpu)))
    states = sweep.finished_sweeps(str(tmp_path))
    assert [s["space_name"] for s in states] == ["dcgan_small_data", "mlp_small_data"]
    assert "confirmation" not in json.loads((tmp_path / "sweep_mlp_small_data.json").read_text())
    table = sweep.readme_table(*states).splitlines()
    # The header, then each finished sweep's measured trials (the base, the winner when
    # it is not the base), in the files' order.
    counts = [len(state["confirmation"]) for state in states]
    assert len(table) == 2 + sum(counts) and all(counts)
    assert all(states[0]["base"] in row for row in table[2:2 + counts[0]])
    assert all(states[1]["base"] in row for row in table[2 + counts[0]:])
    # Minutes are a CPU's: each row names the machine its sweep file recorded.
    assert table[0].endswith("| minutes | CPU (2 cores) |")
    assert all(row.endswith("| AMD EPYC |") for row in table[2:2 + counts[0]])
    assert all(row.endswith("| Intel(R) Xeon(R) Processor |") for row in table[2 + counts[0]:])


@pytest.mark.parametrize("cpu,cell", [
    ("AMD EPYC: avx512f avx512_bf16, 2 cores", "AMD EPYC"), (None, "not recorded"),
    ("a|b\n| c", "a b c"), ("x" * 100, "x" * 40), (7, "7"), ("  ", "not recorded"),
    ("<!-- end of quality table -->", "!-- end of quality table --"),
    ("<b>R&D</b> `x`", "b R D /b x"), ("\ud800EPYC\udfff", "EPYC"), ("\ud800", "not recorded"),
    ("Intel(R) Xeon(R) CPU           E5-2680", "Intel(R) Xeon(R) CPU E5-2680")])
def test_the_readme_tables_cpu_cell_cannot_break_the_table(cpu, cell):
    """A sweep file is input: its CPU name becomes one table cell, whatever it holds."""
    assert sweep.table_cpu({"cpu": cpu}) == cell


def test_a_hostile_cpu_name_leaves_readme_whole(tmp_path, monkeypatch, calls):
    """A sweep file's CPU name that cannot be encoded or that holds the table's end marker
    neither truncates README nor moves the marker: the table is written once, whole."""
    for name in sweep.TABLE_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"before\n{sweep.README_BEGIN}\nold\n{sweep.README_END}\nafter\n")
    sweep.main([f"--out={tmp_path / 'sweep_dcgan_small_data.json'}", "--trials=3", "--rungs=1000,3000"])
    monkeypatch.setattr(sweep, "ROOT", str(tmp_path))
    state = json.loads((tmp_path / "sweep_dcgan_small_data.json").read_text())
    state["cpu"] = "\ud800" + sweep.README_END
    for _ in range(2):  # a second write reads the first's output
        sweep.write_readme(sweep.readme_table(state))
    for name in sweep.TABLE_FILES:
        text = (tmp_path / name).read_text()
        assert text.startswith("before\n") and text.endswith(f"{sweep.README_END}\nafter\n")
        assert text.count(sweep.README_END) == 1 and "old" not in text


def test_a_later_measurement_keeps_the_rows_of_an_earlier_one(tmp_path, calls):
    argv = [f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000"]
    sweep.main(argv)
    sweep.main(argv + ["--no-confirm_base"])  # nothing new to train, nothing dropped
    state = json.loads((tmp_path / "sweep.json").read_text())
    assert set(state["confirmation"]) == {"0", str(state["winner"]["id"])}


@pytest.mark.parametrize("change", [
    lambda s: s.update(base="flags/elsewhere.cfg"), lambda s: s.update(space_name="nope"),
    lambda s: s["confirmation"].update({"99": {}}),
    lambda s: s["confirmation"].update({"-1": s["confirmation"]["0"]}),
    lambda s: s["confirmation"]["0"].pop("recall"),
    lambda s: s["confirmation"].update({"\u00b9": s["confirmation"]["0"]}),  # int() refuses
    # A flag of the file's own space (check_trials passes it) that SPACES does not hold:
    # its name would go into README's table as written.
    lambda s: (s["space"].update({"x|\n# owned": ["1"]}),
               s["trials"][0]["flags"].update({"x|\n# owned": "1"}))])
def test_a_damaged_finished_sweep_stops_the_readme_table_in_one_line(tmp_path, calls, change):
    path = tmp_path / "sweep_x.json"
    sweep.main([f"--out={path}", "--trials=3", "--rungs=1000,3000"])
    state = json.loads(path.read_text())
    change(state)
    path.write_text(json.dumps(state))
    with pytest.raises(SystemExit, match="not a measurement this benchmark wrote"):
        sweep.finished_sweeps(str(tmp_path))


def test_readme_refuses_a_sweep_file_outside_the_results_folder(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(sweep, "write_readme", lambda table: pytest.fail("README written"))
    sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=3", "--rungs=1000,3000"])
    with pytest.raises(SystemExit, match="copy .* there first"):
        sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=3", "--rungs=1000,3000",
                    "--readme"])


@pytest.mark.parametrize("content,message", [
    ("{not json", "cannot read a sweep"), ("[1, 2]", "not a sweep"), ("", "cannot read a sweep")])
def test_a_damaged_sweep_file_is_one_line_not_a_traceback(tmp_path, calls, content, message):
    (tmp_path / "sweep.json").write_text(content)
    for extra in ([], ["--report"]):
        with pytest.raises(SystemExit, match=message):
            sweep.main([f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000",
                        "--confirm_seeds=", *extra])
    assert calls == []


def test_a_sweep_file_cannot_make_the_sweep_train_flags_outside_its_space(tmp_path, calls):
    argv = [f"--out={tmp_path / 'sweep.json'}", "--trials=9", "--rungs=1000,3000",
            "--confirm_seeds="]
    sweep.main(argv)
    state = json.loads((tmp_path / "sweep.json").read_text())
    state["trials"][3]["flags"] = {"output_dir": "/etc"}
    (tmp_path / "sweep.json").write_text(json.dumps(state))
    calls.clear()
    with pytest.raises(SystemExit, match="trial 3 is not one this sweep's space can draw"):
        sweep.main(argv)
    assert calls == []


@pytest.mark.parametrize("name", sorted(sweep.SPACES))
def test_every_value_of_every_space_is_a_valid_flag_on_its_base(name):
    """Each value a space may draw, set on its base flagfile alone (or with the flag
    sweep._valid says it needs), parses and validates as train_main.py would take it (a
    typo in a space would otherwise fail hours in)."""
    from absl import flags

    from gan_tf.commands import train_flags
    from tests.helpers import MAIN
    base, space = sweep.SPACES[name]
    for flag, values in space.items():
        for value in filter(None, values):
            drawn = {flag: value}
            if not sweep._valid(drawn):  # --augment_target adapts --diffaugment's policies
                drawn["diffaugment"] = next(filter(None, space["diffaugment"]))
            assert sweep._valid(drawn)
            argv = [MAIN, f"--flagfile={os.path.join(sweep.ROOT, base)}",
                    *sweep.command_flags(drawn, 1000, 3000)]
            try:
                flags.FLAGS(argv)
                config = train_flags.to_config(flags.FLAGS)
                config.validate()
            finally:
                flags.FLAGS.unparse_flags()
            shown = str(getattr(config, flag)).replace(" ", "").strip("()[]")
            assert value in (shown, "true") or float(value) == pytest.approx(float(shown)), (
                flag, value, shown)


def test_logged_rates_are_the_last_and_the_median_of_the_runs_steps_per_sec(tmp_path):
    """A run's speed as the sweep records it: evaluation-only records (no steps/s) are
    skipped, wherever they fall, also last."""
    lines = [{"step": 100, "steps_per_sec": 50.0}, {"step": 200, "steps_per_sec": 52.0},
             {"step": 200, "classifier_score": 9.1}, {"step": 300, "steps_per_sec": 40.0},
             {"step": 300, "classifier_score": 9.2}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert sweep.logged_rates(str(tmp_path)) == (40.0, 50.0)


@pytest.mark.parametrize("text", ["", '{"step": 1}\n', "not json\n{}\n"])
def test_a_run_without_logged_rates_is_a_one_line_error(tmp_path, text):
    (tmp_path / "metrics.jsonl").write_text(text)
    with pytest.raises(SystemExit, match=f"^{tmp_path}: "):
        sweep.logged_rates(str(tmp_path))
