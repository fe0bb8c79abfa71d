"""The code examples in README.md and docs/ run as written."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python_block(path, after_heading):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    section = text.split(after_heading, 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, path, "exec"), namespace)
    return namespace


def test_readme_library_example_runs():
    namespace = run_python_block("README.md", "## Library use")
    assert sorted(v.name for v in namespace["G"].trainable_variables) == [
        "generator/dense/bias:0", "generator/dense/kernel:0",
        "generator/dense_1/bias:0", "generator/dense_1/kernel:0"]
    assert float(namespace["d_loss"]) > 0 and float(namespace["g_loss"]) > 0


def test_porting_walk_through_runs():
    namespace = run_python_block("docs/porting.md", "## A runnable walk-through")
    assert namespace["losses"].shape == (5, 2)
    assert namespace["samples"].shape == (16, 28, 28, 1)
    assert sorted(namespace["loaded"]) == ["generator/dense/bias", "generator/dense/kernel",
                                           "generator/dense_1/bias", "generator/dense_1/kernel"]


def test_the_settings_a_resume_may_change_are_the_declared_ones_everywhere():
    """README once said only the length and intervals may change while RESUMABLE_FIELDS
    held 20 fields. Now README names none itself and points at docs/flags.md, whose
    "on resume" column must say "may change" for exactly the fields declared resumable."""
    from gan_tf.config import RESUMABLE_FIELDS
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert '"on resume" column of [docs/flags.md](docs/flags.md)' in readme
    with open(os.path.join(ROOT, "docs", "flags.md"), encoding="utf-8") as f:
        rows = re.findall(r"^\| `--(\w+)` \| [^|]* \| ([^|]*) \|", f.read(), re.M)
    rules = {name: rule.strip() for name, rule in rows if name != "tf_log"}  # not a run setting
    assert {name for name, rule in rules.items() if rule != "must match"} == set(RESUMABLE_FIELDS)


COMMAND = re.compile(r"^(?:[A-Z_]+='[^']*' \\\n)?(python train_main\.py|gan-tf-train|python -m "
                     r"gan_tf\.(\w+))((?:\\\n|[^\n#])*)", re.M)


def documented_commands():
    """{tool: [argv, ...]} of every command line in README's and the docs' sh blocks
    (train for train_main.py / gan-tf-train)."""
    found = {}
    for path in ["README.md"] + [os.path.join("docs", n) for n in sorted(os.listdir(
            os.path.join(ROOT, "docs"))) if n.endswith(".md")]:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", f.read(), re.S)
        for block in blocks:
            for m in COMMAND.finditer(block):
                argv = m.group(3).replace("\\\n", " ").split()
                found.setdefault(m.group(2) or "train", []).append((path, argv))
    return found


def test_every_documented_command_names_a_tool_and_flags_that_exist():
    """Each command line of README and docs/ parses as written: its tool exists and takes
    every flag it gives, with a valid value (training flags also make a valid
    TrainConfig), so a renamed flag or module cannot leave the docs behind."""
    import json
    import subprocess
    import sys
    commands = documented_commands()
    assert len(commands.get("train", [])) >= 5 and {"sample", "export", "anomaly"} <= set(commands)
    code = """
import importlib, json, sys
from absl import flags
from gan_tf._moved import COMMANDS
bad = []
for tool, cases in json.loads(sys.argv[1]).items():
    before = set(flags.FLAGS)
    if tool == "train":
        from gan_tf.commands import train_flags
    else:
        importlib.import_module(COMMANDS["gan_tf." + tool]).define_flags()
    for path, argv in cases:
        flags.FLAGS.unparse_flags()
        try:
            flags.FLAGS(["prog"] + argv)
            if tool == "train":
                train_flags.to_config().validate()
        except Exception as e:
            bad.append([tool, path, " ".join(argv), str(e)])
    for name in set(flags.FLAGS) - before:  # the next tool defines its own
        delattr(flags.FLAGS, name)
print(json.dumps(bad))
"""
    result = subprocess.run([sys.executable, "-c", code, json.dumps(commands)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_version_is_the_same_in_setup_the_package_and_the_changelog():
    import gan_tf
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        setup_version = re.search(r'version="([^"]+)"', f.read()).group(1)
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        changelog_version = re.search(r"^## (\S+)", f.read(), re.M).group(1)
    assert setup_version == gan_tf.__version__ == changelog_version


def test_the_flag_reference_is_generated_from_the_flags_and_covers_every_field():
    """docs/flags.md is the flag definitions' own text (README links it instead of a
    table of its own), and every TrainConfig field is a flag with a row there."""
    import dataclasses

    from gan_tf.commands import flag_docs
    from gan_tf.config import TrainConfig
    with open(flag_docs.PATH, encoding="utf-8") as f:
        text = f.read()
    assert text == flag_docs.markdown(), "run python -m gan_tf.commands.flag_docs"
    rows = set(re.findall(r"^\| `--(\w+)` \|", text, re.M))
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= rows


def test_readmes_quality_table_is_the_one_the_sweeps_json_gives():
    """README's and docs/quality.md's quality table is written by benchmarks/sweep.py
    --readme from the finished sweeps' results, never by hand: a number changed alone
    fails here."""
    from benchmarks import sweep
    states = sweep.finished_sweeps()
    assert "dcgan_small_data" in [state["space_name"] for state in states]
    for name in sweep.TABLE_FILES:
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            text = f.read()
        block = text[text.index(sweep.README_BEGIN) + len(sweep.README_BEGIN):
                     text.index(sweep.README_END)]
        assert block.strip() == sweep.readme_table(*states), name


@pytest.mark.parametrize("name,score", [("anomaly_fashion_one_class.json", "features"),
                                        ("anomaly_fashion_one_class_rotation.json", "combined")])
def test_anomaly_page_holds_the_fashion_table_its_json_gives(name, score):
    """docs/anomaly.md's Fashion-MNIST one-class tables (the results and the published rows
    beside them; the plain DCGAN's and the rotation head's) are what `benchmarks/anomaly.py
    --table` prints from each results file, and README's summary quotes the same mean."""
    from benchmarks import anomaly as bench
    from benchmarks import anomaly_one_class
    results = anomaly_one_class.load(os.path.join(ROOT, "docs", "results", name))
    assert results["classes"] == list(range(10)) and results["seeds"] == [0, 1, 2]
    with open(os.path.join(ROOT, "docs", "anomaly.md"), encoding="utf-8") as f:
        assert bench.any_table(results) in f.read()
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert f"{results['auroc'][score]['mean_auroc']:.3f}" in f.read()
