"""The console scripts' entry points (setup.py installs them): gan-tf-train runs what
`python train_main.py` runs, gan-tf-<tool> what `python -m gan_tf.<tool>` runs."""
import importlib

from gan_tf.commands import common  # noqa: F401 - first: it quiets TensorFlow's start-up


def _tool(name):
    importlib.import_module(f"gan_tf.commands.{name}").run()


def train():
    """gan-tf-train: train_main.py."""
    from gan_tf.commands import train as command  # this module's `train` is this function
    command.run()


def sample():
    """gan-tf-sample: python -m gan_tf.sample."""
    _tool("sample")


def export():
    """gan-tf-export: python -m gan_tf.export."""
    _tool("export")


def anomaly():
    """gan-tf-anomaly: python -m gan_tf.anomaly."""
    _tool("anomaly")


def augment():
    """gan-tf-augment: python -m gan_tf.augment (synthetic data for a classifier)."""
    _tool("augment")


def classifier():
    """gan-tf-classifier: python -m gan_tf.classifier."""
    _tool("classifier")


def plot_losses():
    """gan-tf-plot-losses: python -m gan_tf.plot_losses."""
    _tool("plot_losses")


# console script name -> function here (setup.py installs them; a test checks they agree).
SCRIPTS = {"gan-tf-train": "train", "gan-tf-sample": "sample", "gan-tf-export": "export",
           "gan-tf-anomaly": "anomaly", "gan-tf-augment": "augment",
           "gan-tf-classifier": "classifier", "gan-tf-plot-losses": "plot_losses"}
