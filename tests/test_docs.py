"""The code examples in README.md and docs/ run as written."""
import os
import re

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


def test_readme_names_exactly_the_settings_a_resume_may_change():
    """README once said only the length and intervals may change while RESUMABLE_FIELDS
    held 20 fields: the paragraph and the set are checked against each other."""
    from gan_tf.config import RESUMABLE_FIELDS
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    paragraph = text.split("Resumable settings", 1)[1].split("A run with any other", 1)[0]
    named = set(re.findall(r"`--(\w+)`", paragraph))
    assert named == set(RESUMABLE_FIELDS)


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
