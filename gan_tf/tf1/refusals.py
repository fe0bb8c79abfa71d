"""What legacy TF1 code may call but cannot work inside a model function that gan_tf runs
eagerly or in tf.function: each becomes a one-line TF1PortError naming the call and what
to do instead, raised when it is called (so a module that merely mentions it imports)."""
from gan_tf.errors import TF1PortError

_NO_FEED = ("a model function under gan_tf receives its inputs as arguments: take the "
            "tensor (and `training` as a Python bool) as an argument instead of a placeholder")
_NO_SESSION = ("gan_tf runs the model itself, eagerly and in tf.function: call the function "
               "and use its result instead of running a session")
_NO_INIT = ("variables are created and initialized on the model's first call under gan_tf: "
            "remove this call")
_NO_GRAPH_MODE = "gan_tf runs TensorFlow 2 (eager and tf.function): remove this call"
_NO_SAVER = ("gan_tf writes checkpoints itself (train_main.py), and `python -m gan_tf.export "
             "--tf1_checkpoint_out=...` writes them under their TF1 names: remove the Saver")

TOP_LEVEL = {
    "placeholder": _NO_FEED, "sparse_placeholder": _NO_FEED,
    "Session": _NO_SESSION, "InteractiveSession": _NO_SESSION,
    "get_default_session": _NO_SESSION,
    "global_variables_initializer": _NO_INIT, "local_variables_initializer": _NO_INIT,
    "initialize_all_variables": _NO_INIT, "variables_initializer": _NO_INIT,
    "disable_eager_execution": _NO_GRAPH_MODE, "disable_v2_behavior": _NO_GRAPH_MODE,
}
TRAIN = {"Saver": _NO_SAVER, "import_meta_graph": _NO_SAVER}


def refusal(call, advice):
    """A stand-in for `call` that raises TF1PortError("call: cannot work ...; advice")."""

    def refuse(*args, **kwargs):
        raise TF1PortError(f"{call}: cannot work in a model function under gan_tf; {advice}")

    refuse.__name__ = call.rsplit(".", 1)[-1]
    refuse.__doc__ = f"Not available under gan_tf: {advice}."
    return refuse


def not_provided(call, provided):
    """The TF1PortError for a tf.layers / tf.contrib name that gan_tf.tf1 does not provide."""
    return TF1PortError(f"{call}: not provided by gan_tf.tf1 (it provides {provided}); "
                        "write it with tf.get_variable and tf.nn ops")


def check_options(call, options, defaults):
    """Refuses TF1 options gan_tf.tf1 does not apply (regularizers, constraints, renorm,
    ...) when given a value other than TF1's default; an option TF1 did not have is a
    TypeError, as Python would raise."""
    for key, value in options.items():
        if key not in defaults:
            raise TypeError(f"{call}() got an unexpected keyword argument {key!r}")
        default = defaults[key]
        if value is default or (isinstance(value, (bool, int, float)) and value == default):
            continue
        raise TF1PortError(f"{call}: {key}={value!r} is not supported by gan_tf.tf1 "
                           f"(only its TF1 default, {default!r}); apply it in your own code")
