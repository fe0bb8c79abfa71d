"""A legacy TF1 *script* under `from gan_tf import tf1 as tf`: placeholders, a Session
loop with feed_dict, variable initializers, `tf.train.Saver`, UPDATE_OPS.

TensorFlow 2.21 still runs TF1 graphs; only the eager default stands in the way. So the
first graph-only call a script makes at its own level (`tf.placeholder`, `tf.Session`,
`tf.global_variables_initializer`, `tf.train.Saver`, ...) switches the process to TF1
graph mode (`tf.compat.v1.disable_eager_execution`) and then runs as TF1 ran it;
`tf.disable_v2_behavior()` in the script does what it always did (graph mode and TF1's
other behaviours: `Dimension` shapes, reference variables). Made inside a model function
that gan_tf runs (a VariableStore is active, or a tf.function is tracing), the same calls
are refused in one line, as they cannot work there. A script that already ran TensorFlow
eagerly before its first graph call is refused in one line: its eager tensors and
variables cannot join a graph.
"""
import contextlib
import functools
import threading

import tensorflow as tf
from tensorflow.python.eager import context as _context

from gan_tf.errors import TF1PortError
from gan_tf.tf1.store import active_store


_importing = threading.local()  # .depth: > 0 while gan_tf imports a module of model functions


@contextlib.contextmanager
def model_code():
    """While gan_tf imports a user's module of model functions (--generator_fn), its
    module-level graph-only calls are a model's, refused, never a script's."""
    _importing.depth = getattr(_importing, "depth", 0) + 1
    try:
        yield
    finally:
        _importing.depth -= 1


def in_gan_tf_network():
    """Whether the code running is model code that gan_tf runs (eagerly inside a
    VariableStore, traced by a tf.function, or a module gan_tf imports for its model
    functions), not a script's own level."""
    return (active_store() is not None or tf.inside_function()
            or getattr(_importing, "depth", 0) > 0)


def eager_work_done():
    """Whether TensorFlow has executed anything eagerly in this process (its eager
    context is created by the first eager op, not by importing TensorFlow)."""
    return _context.context()._context_handle is not None  # pylint: disable=protected-access


def enter_graph_mode(call, v1_behavior=False):
    """Switches the process to TF1 graph mode for `call` (a no-op when already there);
    TF1PortError, one line, when eager work already happened."""
    if not tf.executing_eagerly():
        if v1_behavior:
            tf.compat.v1.disable_v2_behavior()
        return
    if eager_work_done():
        raise TF1PortError(
            f"{call}: this script already ran TensorFlow eagerly before its first TF1 graph "
            "call, and eager tensors cannot join a graph; build the graph first (call "
            "tf.disable_v2_behavior() at the top of the script), or run the model functions "
            "under gan_tf without placeholders and sessions")
    seed = _context.global_seed()  # a tf.set_random_seed before the switch: the graph's
    if v1_behavior:
        tf.compat.v1.disable_v2_behavior()
    else:
        tf.compat.v1.disable_eager_execution()
    if seed is not None:
        tf.compat.v1.set_random_seed(seed)


def graph_call(call, function, refusal, v1_behavior=False):
    """`function` (tf.compat.v1's) for a script: refused by `refusal` inside a gan_tf
    network; else graph mode is entered first and the call runs as in TF1."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        if in_gan_tf_network():
            return refusal(*args, **kwargs)
        enter_graph_mode(call, v1_behavior)
        return function(*args, **kwargs)
    return run
