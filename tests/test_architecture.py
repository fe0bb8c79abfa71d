"""docs/architecture.md's rules of what may import what, checked on every module's
imports (module level and inside functions)."""
import ast
import os

from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, "gan_tf")


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


def part(name):
    """The part of gan_tf a module belongs to: its package (`training`, `runs`, ...), its
    own name for a top-level module (`errors`, `fileio`, ...), and `porting` for the two
    modules of gan_tf/tf1/ above the models (network.py, checkpoints.py)."""
    bits = name.split(".")
    if len(bits) < 2:
        return "gan_tf"
    if bits[1] == "tf1" and len(bits) > 2 and bits[2] in ("network", "checkpoints"):
        return "porting"
    return bits[1]


BASE = {"errors", "config_checks", "config", "fileio", "losses", "inference", "randomness"}
# part -> the parts it may import (docs/architecture.md, "What may import what")
ALLOWED = {
    "errors": set(), "config_checks": set(), "config": {"errors", "config_checks"},
    "fileio": {"errors"}, "losses": set(), "inference": {"errors"}, "randomness": set(),
    "tf1": {"errors"},
    "data": {"errors", "fileio"},
    "models": {"errors", "data", "tf1", "porting"},
    "porting": {"errors", "config_checks", "data", "fileio", "tf1", "models"},
    "runs": BASE | {"models", "tf1", "porting"},
    "evaluation": BASE | {"data", "models", "runs"},
    "training": BASE | {"data", "models", "tf1", "porting", "runs", "evaluation"},
    "applications": BASE | {"data", "models", "runs", "evaluation", "training"},
    "commands": BASE | {"data", "models", "tf1", "porting", "runs", "evaluation", "training",
                        "applications"},
    "gan_tf": {"config", "errors", "_moved"}, "_moved": set(),
}


def test_each_part_imports_only_what_the_architecture_allows():
    wrong = {}
    for module, names in imports().items():
        used = {part(n) for n in names if n.startswith("gan_tf.")} - {part(module)}
        if used - ALLOWED[part(module)]:
            wrong[module] = sorted(used - ALLOWED[part(module)])
    assert not wrong


def test_the_allowed_imports_have_no_cycle_but_models_and_porting():
    """Layers: a part never imports one that imports it, except the models' build() and
    the legacy network (tf1/network.py), which wrap each other's networks."""
    def reaches(start, goal, seen=()):
        return any(p == goal or (p not in seen and reaches(p, goal, seen + (p,)))
                   for p in ALLOWED[start])
    cyclic = {p for p in ALLOWED if reaches(p, p)}
    assert cyclic == {"models", "porting"}


def test_tf1_drop_in_imports_only_itself_and_the_errors():
    """A model file that does `from gan_tf import tf1 as tf` gets TensorFlow's TF1 API back
    and nothing of gan_tf's training."""
    for module, names in imports().items():
        if part(module) == "tf1":
            assert {part(n) for n in names if n.startswith("gan_tf.")} <= {"tf1", "errors"}, module


def test_nothing_outside_the_commands_imports_them():
    for module, names in imports().items():
        if not module.startswith("gan_tf.commands"):
            assert not any(n.startswith("gan_tf.commands") for n in names), module


def test_absl_only_in_the_commands():
    users = {m for m, names in imports().items() if any(n.startswith("absl") for n in names)}
    assert all(m.startswith("gan_tf.commands") for m in users), users


def test_library_imports_sit_at_the_top_of_files():
    """Inside library functions only what is optional (mlxtend, PIL), errors.py's
    TensorFlow (that module must import without it: the commands name errors before
    TensorFlow loads) and a deprecated name's module `__getattr__`: the import structure is
    readable from the top of each file."""
    late = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py") and "commands" not in folder and name != "errors.py":
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    # a module's __getattr__ serves a moved name on first use (PEP 562)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                            and node.name != "__getattr__":
                        for inner in ast.walk(node):
                            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                                mod = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                                if mod and mod.split(".")[0] not in ("mlxtend", "PIL", "importlib"):
                                    late.setdefault(os.path.relpath(path, ROOT), []).append(mod)
    assert not late
