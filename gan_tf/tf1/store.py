"""A store for the variables that TF1 model code creates with `get_variable`.

TF1 model functions (`generator(z)`, `discriminator(x, reuse=True)`) create their
variables through `tf.compat.v1.variable_scope` and `get_variable`; in TF2 those only
create and reuse variables inside a variable store, the mechanism behind
`tf.compat.v1.make_template`. That store, `EagerVariableStore`, is not a public API,
so this module is the one place that touches it; tests/tf1/test_drop_in.py checks the
behaviour gan_tf relies on, so a TensorFlow upgrade that changes it fails there.
"""
import contextlib
import inspect
import threading

import tensorflow as tf
from tensorflow.python.framework import ops as _ops
from tensorflow.python.ops import variable_scope as _vs

from gan_tf.errors import TF1PortError

_entered = threading.local()  # .graphs: the graph each open scope() was entered in


class VariableStore:
    """get_variable-created variables of TF1 model code, created on the first call and
    reused after, eagerly and inside tf.function."""

    def __init__(self):
        self._eager_store = _vs.EagerVariableStore()
        self._regularizers = {}  # variable name -> (variable, regularizer), creation order

    @contextlib.contextmanager
    def scope(self):
        """Inside it, `variable_scope` / `get_variable` create variables in this store
        or reuse its ones; under tf.function, enter it inside the traced function. Each
        entry starts from the root variable scope with fresh `default_name` counts
        (dense, dense_1, ... restart), so a second call of the same model function gets
        the first call's names and so its variables, with or without `reuse=True`."""
        scopes = _vs.get_variable_scope_store()
        saved = scopes.current_scope, scopes.variable_scopes_count
        # AUTO_REUSE at the root, as in eager TF2, also while tf.function traces
        scopes.current_scope = _vs.VariableScope(_vs.AUTO_REUSE)
        scopes.variable_scopes_count = {}
        graphs = _entered.__dict__.setdefault("graphs", [])
        stores = _entered.__dict__.setdefault("stores", [])
        graphs.append(_ops.get_default_graph())
        stores.append(self)
        try:
            with self._eager_store.as_default():
                yield self
        finally:
            graphs.pop()
            stores.pop()
            scopes.current_scope, scopes.variable_scopes_count = saved

    def variables(self):
        """All variables, in creation order."""
        return list(self._eager_store._store._vars.values())  # pylint: disable=protected-access

    def trainable_variables(self):
        """The trainable variables, in creation order."""
        return [v for v in self.variables() if v.trainable]

    def add_regularizer(self, variable, regularizer):
        """Records `regularizer(variable)` as a term of this store's regularization loss
        (a variable's first creation records it; reuse does not add it twice)."""
        name = variable.name
        if name not in self._regularizers:
            self._regularizers[name] = (variable, regularizer)

    @property
    def regularized(self):
        """Whether any variable here has a regularizer."""
        return bool(self._regularizers)

    def regularization_losses(self):
        """{variable name: its regularizer's term}, each a scalar, computed now from the
        variables' current values (inside a traced step, in its graph)."""
        losses = {}
        for name, (variable, regularizer) in self._regularizers.items():
            term = regularizer(variable)
            if term is None:
                continue
            term = tf.convert_to_tensor(term)
            if term.shape.rank != 0:
                raise TF1PortError(f"the regularizer of {name} returned shape {term.shape}, "
                                   "not a scalar")
            losses[name] = term
        return losses


def active_store():
    """The VariableStore whose scope() is open in this graph, or None (a TF1 graph's own
    collections take regularizers then)."""
    graphs, stores = getattr(_entered, "graphs", []), getattr(_entered, "stores", [])
    if graphs and graphs[-1] is _ops.get_default_graph():
        return stores[-1]
    return None


def get_variable(*args, **kwargs):
    """tf.compat.v1.get_variable, with its `regularizer` (or the variable scope's) recorded
    in the active VariableStore, where the trainer adds it to the network's loss; TF's
    own eager get_variable would put it in a graph collection nothing reads."""
    store = active_store()
    if store is None:
        return tf.compat.v1.get_variable(*args, **kwargs)
    bound = _GET_VARIABLE.bind(*args, **kwargs)
    regularizer = bound.arguments.pop("regularizer", None)
    if regularizer is None:
        regularizer = tf.compat.v1.get_variable_scope().regularizer
    variable = tf.compat.v1.get_variable(*bound.args, **bound.kwargs)
    if regularizer is not None and regularizer(variable) is not None:  # as TF1 checked it
        store.add_regularizer(variable, regularizer)
    return variable


_GET_VARIABLE = inspect.signature(tf.compat.v1.get_variable)


def check_active(call):
    """Raises TF1PortError naming `call` when TF2 code (eager, or a tf.function being
    traced) would create variables with no VariableStore active: `get_variable` would then
    make new, freshly initialized variables on every call. A scope entered outside the
    tf.function being traced does not count: each trace would number the layers anew
    (dense_1, dense_2, ...). A TF1 graph has its own store."""
    if not (tf.executing_eagerly() or tf.inside_function()):
        return
    graphs = getattr(_entered, "graphs", [])
    if not graphs or graphs[-1] is not _ops.get_default_graph():
        raise TF1PortError(
            f"{call}: no gan_tf.tf1.VariableStore is active, so its variables would be "
            "created anew on every call; call the model function inside `with "
            "store.scope():` (inside the tf.function when traced), as porting.tf1_network does")
