"""tf.contrib.framework's arg_scope and add_arg_scope (also slim.arg_scope), with TF1's
semantics: `with arg_scope([layers.conv2d, layers.fully_connected], activation_fn=...):`
gives those functions default keyword arguments for the calls inside it; nested scopes
merge (the inner value of a keyword wins), a call's own keyword wins over every scope,
a dict that an arg_scope yielded re-enters that scope, and a function not decorated with
`add_arg_scope` is refused in one line. Any other tf.contrib.framework name is refused.
"""
import contextlib
import functools
import inspect
import threading

from gan_tf.tf1.refusals import not_provided

__all__ = ["add_arg_scope", "arg_scope", "arg_scoped_arguments", "current_arg_scope",
           "has_arg_scope"]

_stack = threading.local()  # .scopes: [{function key: {keyword: value}}, ...]
_DECORATED = set()  # keys of functions decorated with add_arg_scope


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise not_provided(f"tf.contrib.framework.{name}", ", ".join(__all__))


def _scopes():
    return _stack.__dict__.setdefault("scopes", [{}])


def _key(function):
    """What an arg_scope keys a function by: the decorated function's own key (so the
    decorated and undecorated forms are one), else the function itself."""
    return getattr(function, "_key_op", function)


def _name(function):
    return getattr(function, "__qualname__", None) or repr(function)


def current_arg_scope():
    """The innermost scope: {function key: {keyword: value}}."""
    return _scopes()[-1]


def has_arg_scope(function):
    """Whether `function` takes defaults from arg_scope (decorated with add_arg_scope)."""
    return _key(function) in _DECORATED


def arg_scoped_arguments(function):
    """The keyword arguments `function` accepts from an arg_scope (all of its own)."""
    return list(inspect.signature(function).parameters)


def add_arg_scope(function):
    """Decorates `function` so that the innermost arg_scope's keywords for it become its
    defaults (the call's own keywords win)."""
    @functools.wraps(function)
    def with_scope(*args, **kwargs):
        scoped = current_arg_scope().get(_key(function))
        if scoped:
            kwargs = {**scoped, **kwargs}
        return function(*args, **kwargs)

    with_scope._key_op = _key(function)
    _DECORATED.add(_key(function))
    return with_scope


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs):
    """Default keyword arguments for the functions listed (or a scope an arg_scope yielded,
    re-entered as it was); yields the scope now in force, a dict."""
    if isinstance(list_ops_or_scope, dict):
        if kwargs:
            raise ValueError("arg_scope: when re-using a scope by supplying a dictionary, "
                             "kwargs must be empty")
        scope = dict(list_ops_or_scope)
    else:
        if not isinstance(list_ops_or_scope, (list, tuple)):
            raise TypeError("arg_scope: list_ops_or_scope must either be a list/tuple or a "
                            "reused scope (i.e. dict)")
        scope = dict(current_arg_scope())
        for function in list_ops_or_scope:
            if not has_arg_scope(function):
                raise ValueError(f"arg_scope: {_name(function)} is not decorated with "
                                 "@add_arg_scope (TF1 refused it too): decorate it, or pass "
                                 "its arguments in the call")
            key = _key(function)
            scope[key] = {**scope.get(key, {}), **kwargs}
    _scopes().append(scope)
    try:
        yield scope
    finally:
        _scopes().pop()
