"""README's library example runs as written."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_library_example_runs():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme.split("## Library use", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert sorted(v.name for v in namespace["G"].trainable_variables) == [
        "generator/dense/bias:0", "generator/dense/kernel:0",
        "generator/dense_1/bias:0", "generator/dense_1/kernel:0"]
    assert float(namespace["d_loss"]) > 0 and float(namespace["g_loss"]) > 0
