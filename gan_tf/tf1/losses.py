"""tf.losses for legacy model files: tf.compat.v1.losses, but for the regularization
losses, which inside a gan_tf network live in its VariableStore (gan_tf.tf1.store), not
in a graph collection: `get_regularization_loss(scope)` and
`get_regularization_losses(scope)` read them there (TF1's own, in a TF1 graph)."""
import tensorflow as tf

from gan_tf.tf1.store import active_store


def get_regularization_losses(scope=None):
    """The regularization terms of the variables whose names start with `scope` (all
    without), from the active store; TF1's collection in a TF1 graph."""
    store = active_store()
    if store is None:
        return tf.compat.v1.losses.get_regularization_losses(scope)
    return [term for name, term in store.regularization_losses().items()
            if scope is None or name.startswith(scope)]


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of get_regularization_losses(scope), 0.0 when there are none."""
    if active_store() is None:
        return tf.compat.v1.losses.get_regularization_loss(scope, name)
    terms = get_regularization_losses(scope)
    return tf.add_n(terms, name=name) if terms else tf.constant(0.0)


def __getattr__(name):
    return getattr(tf.compat.v1.losses, name)
