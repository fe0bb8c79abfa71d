"""docs/architecture.md's rules of what may import what, checked on every module's
imports (module level and inside functions)."""
import ast
import os

from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, "gan_tf")
# Tools that are still library and command at once (issue 26 moves their commands out).
TOOLS = {"sample", "export", "anomaly", "augment", "classifier", "plot_losses"}


def imports():
    """{module: set of imported gan_tf / absl module names}."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            module = module[:-len(".__init__")] if module.endswith(".__init__") else module
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            names = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                    names.update(f"{node.module}.{a.name}" for a in node.names)
                elif isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
            found[module] = {n for n in names if n.split(".")[0] in ("gan_tf", "absl")}
    return found


def gan_tf_modules(names):
    """The gan_tf modules among imported names (`from gan_tf.errors import X` -> errors)."""
    return {".".join(n.split(".")[:2]) for n in names if n.startswith("gan_tf.")}


def test_tf1_imports_only_itself_and_the_errors():
    for module, names in imports().items():
        if module.startswith("gan_tf.tf1"):
            assert gan_tf_modules(names) <= {"gan_tf.tf1", "gan_tf.errors"}, module


def test_models_import_layers_data_errors_and_tf1_only():
    allowed = {"gan_tf.models", "gan_tf.layers", "gan_tf.data", "gan_tf.errors", "gan_tf.tf1"}
    for module, names in imports().items():
        if module.startswith("gan_tf.models"):
            assert gan_tf_modules(names) <= allowed, (module, gan_tf_modules(names) - allowed)


def test_nothing_outside_the_commands_imports_them():
    for module, names in imports().items():
        if not module.startswith("gan_tf.commands"):
            assert not any(n.startswith("gan_tf.commands") for n in names), module


def test_absl_only_in_the_command_line_code():
    users = {m for m, names in imports().items() if any(n.startswith("absl") for n in names)}
    allowed = {"gan_tf.cli"} | {f"gan_tf.{t}" for t in TOOLS}
    assert {m for m in users if not m.startswith("gan_tf.commands")} <= allowed
