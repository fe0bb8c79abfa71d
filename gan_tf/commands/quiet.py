"""Quiets TensorFlow's start-up: every command imports this module first (before
anything imports TensorFlow); `show_tensorflow_log()` undoes it for --tf_log."""
import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile

# TensorFlow's C++ start-up messages, silenced by default (--tf_log shows them). On TF
# 2.21 TF_CPP_MIN_LOG_LEVEL=3 hides the `E0000 ... failed call to cuInit` line of a
# machine without a GPU (2 does not), but no environment variable reaches the I0000
# lines and the 'absl::InitializeLog()' warning written while its libraries load
# (GLOG_minloglevel and ABSL_MIN_LOG_LEVEL were tried): those go to a file in place of
# file descriptor 2 during `import tensorflow`, shown only if the import fails.
_SET_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" not in os.environ


_HOLD_STDERR = True  # False after show_tensorflow_log()


class _QuietImport(importlib.abc.MetaPathFinder):
    """Imports the `tensorflow` package with its C++ start-up messages held back, and
    without scikit-learn: TensorFlow imports Keras, whose scikit-learn wrappers import
    scikit-learn when it is installed (mlxtend installs it), 0.6-1 s of start-up for
    something gan_tf never uses; Keras takes it as not installed."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietImport)]
        spec = importlib.util.find_spec(name)  # once: the real spec, without this finder
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def quiet_load(module):
                with _held_stderr(_HOLD_STDERR), _without_module("sklearn"):
                    load(module)
            spec.loader.exec_module = quiet_load
        return spec


@contextlib.contextmanager
def _without_module(name):
    """`import name` fails with ImportError in the block (unless already imported), and
    imports as usual after it."""
    hidden = name not in sys.modules
    if hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        if hidden and sys.modules.get(name, 0) is None:
            del sys.modules[name]


@contextlib.contextmanager
def _held_stderr(hold=True):
    """Points file descriptor 2 (C++ code's stderr) at a temporary file for the block;
    what it held is written out only if the block raises (not for Ctrl-C: the user
    stopped it, nothing failed)."""
    if not hold:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except KeyboardInterrupt:
            raise
        except BaseException:
            held.seek(0)
            os.write(saved, held.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def show_tensorflow_log():
    """--tf_log: TensorFlow's C++ messages as TensorFlow prints them (call it before
    TensorFlow is imported)."""
    global _HOLD_STDERR
    _HOLD_STDERR = False
    if _SET_LOG_LEVEL:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)


if "tensorflow" not in sys.modules:  # the quiet default of every command line
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.meta_path.insert(0, _QuietImport())
