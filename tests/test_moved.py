"""gan_tf/_moved.py: the module paths of gan_tf 0.2 import for one more version, with a
warning naming the new path; `python -m gan_tf.<tool>` still runs the tool."""
import json
import subprocess
import sys

import pytest

from gan_tf import _moved
from tests.helpers import ROOT, one_error_line, run_module


def test_each_old_path_gives_the_new_module_with_a_warning():
    """In one fresh process (a module warns only on its first import): every 0.2 path
    warns, naming its new path, and is the new module object itself (the same classes)."""
    code = """
import importlib, json, sys, warnings
from gan_tf import _moved
seen = {}
for old, new in sorted(_moved.MOVED.items()):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    seen[old] = [[str(w.message) for w in caught if w.category is DeprecationWarning],
                 module is importlib.import_module(new)]
print(json.dumps(seen))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(seen) == set(_moved.MOVED)
    for old, (messages, same) in seen.items():
        assert same, old
        assert any(f"{old} moved to {_moved.MOVED[old]}" in m for m in messages), (old, messages)


def test_the_new_paths_import_without_warnings():
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "import importlib, gan_tf._moved as m\n"
            "[importlib.import_module(n) for n in set(m.MOVED.values())]\n"
            "import gan_tf.runs; gan_tf.runs.checkpoints; print('clean')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.stdout.strip().endswith("clean"), result.stderr[-2000:]


def test_python_m_an_old_tool_name_runs_its_command(tmp_path):
    result = run_module("gan_tf.plot_losses", str(tmp_path / "none.pkl"))
    assert result.returncode == 1
    assert one_error_line(result).startswith("plot_losses.py: error: ")
    assert "none.pkl" in one_error_line(result)


def test_runs_restore_models_is_an_alias_with_a_warning():
    from gan_tf import runs
    from gan_tf.runs.restore import restore_models
    with pytest.warns(DeprecationWarning, match="gan_tf.runs.restore.restore_models"):
        assert runs.restore_models is restore_models
    with pytest.raises(AttributeError):
        runs.no_such_name
