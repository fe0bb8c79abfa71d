"""Flags of train_main.py, made from TrainConfig's declarations (gan_tf.config): each
field is one flag, with the field's help, default, choices and check. They are read only
here and become a frozen TrainConfig.
"""
import dataclasses
import typing

from absl import flags

from gan_tf.config import FIELD_CHECKS, TrainConfig

FLAGS = flags.FLAGS
LIST_FLAGS = tuple(name for name, hint in typing.get_type_hints(TrainConfig).items()
                   if "Tuple" in str(hint))


def _base_type(hint):
    """int for Optional[int], tuple for Tuple[int, ...], ..."""
    if getattr(hint, "__origin__", None) is tuple:
        return tuple
    args = [a for a in getattr(hint, "__args__", ()) if a is not type(None)]
    return _base_type(args[0]) if args else hint


class _SwitchParser(flags.EnumParser):
    """An enum that also reads absl's boolean spellings: a bare --name (absl passes 'true')
    is "on", --noname ('false') is "off"."""

    def parse(self, argument):
        spelled = {"true": "on", "false": "off"}.get(str(argument).lower(), argument)
        return super().parse(spelled)


class _SwitchFlag(flags.EnumFlag):
    """An enum flag that may be given as a boolean (once one: --mixed_precision)."""

    def __init__(self, name, default, choices, help):
        super().__init__(name, None, help, choices, boolean=True)
        self.parser = _SwitchParser(choices)
        self._set_default(default)  # also what --help shows as the default

    def _serialize(self, value):
        """--name=value (a boolean flag's bare --name would read back as "on")."""
        return "" if value is None else f"--{self.name}={value}"


class _IntOrAutoParser(flags.IntegerParser):
    """An integer, or the word auto (any case) for None: the field's default, which the
    run then decides (--intra_op_threads)."""

    def parse(self, argument):
        if isinstance(argument, str) and argument.strip().lower() == "auto":
            return None
        try:
            return super().parse(argument)
        except ValueError:
            raise ValueError("must be auto or a whole number") from None

    def flag_type(self):
        return "int or auto"

    def __init__(self):
        super().__init__()
        self.syntactic_help = "auto or an integer"  # --help's "(...)" line


class _IntOrAutoFlag(flags.Flag):
    """An integer flag whose default is the word auto (None once parsed)."""

    def __init__(self, name, help):
        super().__init__(_IntOrAutoParser(), flags.ArgumentSerializer(), name, "auto", help)

    def _get_parsed_value_as_string(self, value):
        return "'auto'" if value is None else super()._get_parsed_value_as_string(value)


def define(field, hint):
    """The absl flag of one TrainConfig field."""
    meta, default = field.metadata, field.default
    if meta["flag_type"] == "switch":
        return flags.DEFINE_flag(_SwitchFlag(field.name, default, meta["choices"], meta["help"]))
    if meta["flag_type"] == "int_or_auto":
        assert default is None, field.name
        return flags.DEFINE_flag(_IntOrAutoFlag(field.name, meta["help"]))
    if meta["choices"]:
        return flags.DEFINE_enum(field.name, default, meta["choices"], meta["help"])
    kind = meta["flag_type"] or _base_type(hint)
    if kind is tuple:
        return flags.DEFINE_list(field.name, None if default is None else list(default),
                                 meta["help"])
    define_kind = {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer,
                   float: flags.DEFINE_float, str: flags.DEFINE_string}[kind]
    return define_kind(field.name, default, meta["help"])


_HINTS = typing.get_type_hints(TrainConfig)
for _field in dataclasses.fields(TrainConfig):
    define(_field, _HINTS[_field.name])
# The one flag that is not part of a run's configuration.
flags.DEFINE_boolean("tf_log", False, "Show TensorFlow's C++ start-up messages (hidden by "
                     "default).")


def _int_list(values):
    return None if values is None else tuple(int(v) for v in values)


def _validator(name):
    check, message = FIELD_CHECKS[name]

    def validate(value):
        try:
            return check(_int_list(value) if name in LIST_FLAGS else value)
        except (TypeError, ValueError):
            return False
    return validate, message


for _name in FIELD_CHECKS:
    if not isinstance(FLAGS[_name], flags.EnumFlag):
        flags.register_validator(_name, *_validator(_name))


def to_config(flag_values=FLAGS):
    """The parsed flags as a frozen TrainConfig."""
    values = {}
    for field in dataclasses.fields(TrainConfig):
        value = flag_values[field.name].value
        values[field.name] = _int_list(value) if field.name in LIST_FLAGS else value
    if (values["generator_fn"] or values["discriminator_fn"]) and not flag_values["model"].present:
        values["model"] = "tf1"
    return TrainConfig(**values)
