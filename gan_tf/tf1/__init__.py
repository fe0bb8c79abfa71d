"""gan_tf.tf1: a drop-in for the `tf` of a legacy TF1 model file.

A TF1 model file changes one line, `import tensorflow as tf` to
`from gan_tf import tf1 as tf`, and its generator and discriminator functions run
under gan_tf, eagerly and in tf.function, with their TF1 variable names:

- every `tf.compat.v1` name is forwarded (`variable_scope`, `get_variable`, the v1
  initializers, `tf.nn`, math ops, `get_collection`, `GraphKeys`, `AUTO_REUSE`, ...);
  `get_variable` and the layers refuse to run outside a VariableStore in TF2 code,
  where they would create fresh variables on every call;
- `tf.nn` (tf1.nn) is tf.compat.v1.nn but for `dropout` and `conv2d_transpose` (see there);
- `tf.layers` (tf1.layers) and `tf.contrib.layers.batch_norm` / `xavier_initializer`
  (tf1.contrib) replace what Keras 3 and TF2 removed, with TF1's names and formulas;
- `tf.make_template` makes templates whose variables live in each calling network's
  store (TensorFlow's own binds them to the first caller);
- what cannot work inside a model function (placeholders, sessions, variable
  initializers, `tf.train.Saver`) raises a one-line TF1PortError there, naming the call
  and what to do instead; at a legacy *script's* own level the same calls switch the
  process to TF1 graph mode and run as in TF1 (gan_tf.tf1.script), so a whole TF1
  training script runs with only its import line changed;
- other `tf.contrib` modules than layers, framework's arg_scope and slim raise a one-line
  TF1PortError.

The functions' variables live in a `VariableStore` (gan_tf.tf1.store): call the model
inside `store.scope()` (entered inside the tf.function, when traced); batch norm updates
its moving statistics in the training forward pass, so the legacy UPDATE_OPS collection
is empty and harmless.
"""
import functools as _functools
import weakref as _weakref

import tensorflow as _tf

from gan_tf.errors import TF1PortError as _TF1PortError
from gan_tf.tf1 import contrib, layers, losses, nn, train
from gan_tf.tf1 import script as _script
from gan_tf.tf1.refusals import TOP_LEVEL as _REFUSED, refusal as _refusal
from gan_tf.tf1.store import VariableStore
from gan_tf.tf1.store import active_store as _active_store
from gan_tf.tf1.store import check_active as _check_active
from gan_tf.tf1.store import get_variable as _store_get_variable

__all__ = ["VariableStore", "contrib", "get_collection", "get_variable", "layers", "losses",
           "make_template", "nn", "train"]


@_functools.wraps(_tf.compat.v1.get_variable)
def get_variable(*args, **kwargs):
    """tf.compat.v1.get_variable, refused (TF1PortError) outside a VariableStore in TF2
    code, where it would create a new variable on every call; its `regularizer` is
    recorded in the store, whose network's loss then includes it."""
    _check_active("tf.get_variable")
    return _store_get_variable(*args, **kwargs)


def get_collection(key, scope=None):
    """tf.compat.v1.get_collection; inside a gan_tf network, REGULARIZATION_LOSSES are its
    store's terms (tf1.losses.get_regularization_losses), as TF1 code expects."""
    if key == _tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES:
        return losses.get_regularization_losses(scope)
    return _tf.compat.v1.get_collection(key, scope)


class _Template:
    """tf.make_template's template for gan_tf's networks: each call opens the template's
    variable_scope with AUTO_REUSE in the VariableStore active at that call, so the
    variables live in the store of the network that calls it (gan_tf's network, the
    throwaway check network, an EMA copy each get their own) under TF1's names
    (`generator/...`; `generator_1` never appears), created on its first call there and
    reused after. TensorFlow's own EagerTemplate binds them to the first store that
    calls it, leaving every later network without variables."""

    def __init__(self, name, func, kwargs):
        self.name, self._func, self._kwargs = name, func, kwargs
        self._built_in = _weakref.WeakSet()  # the stores whose first call has been made

    def __call__(self, *args, **kwargs):
        call = f"tf.make_template({self.name!r})"
        _check_active(call)
        store = _active_store()
        before = {v.name for v in store.variables()}
        try:
            with _tf.compat.v1.variable_scope(self.name, reuse=_tf.compat.v1.AUTO_REUSE):
                result = self._func(*args, **{**self._kwargs, **kwargs})
        except ValueError as e:  # get_variable: the same name asked with another shape
            if "Trying to share variable" not in str(e):
                raise
            raise _TF1PortError(f"{call}: called with a different structure than on its "
                                f"first call ({str(e).splitlines()[0]})") from None
        new = sorted({v.name for v in store.variables()} - before)
        if new and store in self._built_in:  # TF1 refused this too
            raise _TF1PortError(f"{call}: a call after the first created new variables "
                                f"({', '.join(new[:3])}): a template's function must build "
                                "the same variables on every call")
        self._built_in.add(store)
        return result


def make_template(name_, func_, create_scope_now_=False, unique_name_=None,
                  custom_getter_=None, **kwargs):
    """tf.compat.v1.make_template. In a TF1 graph, TensorFlow's own; in TF2 code (eager
    or traced, where gan_tf's networks call it) a template whose variables live in each
    calling network's VariableStore (see _Template). `unique_name_` and
    `custom_getter_` are TF1 graph features: refused in TF2 code, in one line."""
    if not (_tf.executing_eagerly() or _tf.inside_function()):
        return _tf.compat.v1.make_template(name_, func_, create_scope_now_, unique_name_,
                                           custom_getter_, **kwargs)
    if unique_name_ is not None or custom_getter_ is not None:
        raise _TF1PortError("tf.make_template: unique_name_ and custom_getter_ are not "
                           "provided by gan_tf.tf1 in TF2 code; leave them out")
    return _Template(name_, func_, kwargs)


def __getattr__(name):
    """tf.compat.v1's `name`, or for a call that cannot work under gan_tf, a stand-in
    that raises TF1PortError when called; AttributeError for a name v1 does not have."""
    if name in _REFUSED:  # graph-only: a script's own TF1 graph, never a network's
        return _script.graph_call(f"tf.{name}", getattr(_tf.compat.v1, name),
                                  _refusal(f"tf.{name}", _REFUSED[name]),
                                  v1_behavior=name == "disable_v2_behavior")
    try:
        return getattr(_tf.compat.v1, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                             "(nor has tf.compat.v1)") from None


def __dir__():
    return sorted(set(globals()) | set(dir(_tf.compat.v1)))
