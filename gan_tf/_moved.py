"""The module paths of gan_tf 0.2 that moved in 0.3, kept importable for one version.

`import gan_tf.trainer` (or `from gan_tf import trainer`) still works: it gives the module
at its new path (`gan_tf.training.steps`) with a DeprecationWarning naming that path.
`python -m gan_tf.sample` and the other tools' old names are not deprecated: they run the
tool's command (`gan_tf.commands.sample`), as `gan-tf-sample` does.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# old path -> new path (CHANGELOG.md, 0.3.0)
MOVED = {
    "gan_tf.train": "gan_tf.training.loop",
    "gan_tf.trainer": "gan_tf.training.steps",
    "gan_tf.info": "gan_tf.training.steps",
    "gan_tf.outputs": "gan_tf.training.outputs",
    "gan_tf.progress": "gan_tf.training.progress",
    "gan_tf.signals": "gan_tf.training.stopping",
    "gan_tf.divergence": "gan_tf.training.stopping",
    "gan_tf.distribute": "gan_tf.training.distribute",
    "gan_tf.tricks": "gan_tf.training.augmentations",
    "gan_tf.diffaugment": "gan_tf.training.augmentations",
    "gan_tf.batching": "gan_tf.inference",
    "gan_tf.memory": "gan_tf.inference",
    "gan_tf.checkpoints": "gan_tf.runs.checkpoints",
    "gan_tf.logs": "gan_tf.runs.logs",
    "gan_tf.pickles": "gan_tf.runs.pickles",
    "gan_tf.plots": "gan_tf.runs.plots",
    "gan_tf.classifier": "gan_tf.evaluation.classifier",
    "gan_tf.metrics": "gan_tf.evaluation.metrics",
    "gan_tf.layers": "gan_tf.models.layers",
    "gan_tf.models.legacy": "gan_tf.tf1.network",
    "gan_tf.porting": "gan_tf.tf1.checkpoints",
    "gan_tf.datafiles": "gan_tf.data.files",
    "gan_tf.anomaly": "gan_tf.applications.anomaly",
    "gan_tf.augment": "gan_tf.applications.synthetic",
    "gan_tf.sample": "gan_tf.applications.sampling",
    "gan_tf.export": "gan_tf.applications.export",
    "gan_tf.plot_losses": "gan_tf.runs.plots",
    "gan_tf.cli": "gan_tf.commands.common",
}
# `python -m gan_tf.<tool>` -> the module whose code runs as __main__
COMMANDS = {f"gan_tf.{tool}": f"gan_tf.commands.{tool}" for tool in (
    "sample", "export", "anomaly", "augment", "classifier", "plot_losses")}


class _Loader(importlib.abc.Loader):
    def __init__(self, old):
        self.old = old

    def create_module(self, spec):
        warnings.warn(f"{self.old} moved to {MOVED[self.old]} in gan_tf 0.3; the old path "
                      "goes in 0.4", DeprecationWarning, stacklevel=3)
        return importlib.import_module(MOVED[self.old])

    def exec_module(self, module):
        pass  # the module at its new path is already executed

    def get_code(self, name):
        """What `python -m OLD` runs (runpy asks the loader for code, not a module)."""
        target = COMMANDS.get(self.old, MOVED[self.old])
        return importlib.util.find_spec(target).loader.get_code(target)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        # origin: the file `python -m OLD` runs (runpy makes it sys.argv[0])
        origin = importlib.util.find_spec(COMMANDS.get(name, MOVED[name])).origin
        return importlib.util.spec_from_loader(name, _Loader(name), origin=origin)


def install():
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
