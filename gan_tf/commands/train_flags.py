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


AUTO = "auto"  # the word an "int_or_auto" flag takes for its field's default, None


class _IntOrAutoParser(flags.IntegerParser):
    """An integer, or the word auto (any case), kept as "auto" so that the flag writes
    itself back (a None value would be left out of a flagfile); to_config makes it None."""

    def __init__(self, message):
        super().__init__()
        self.message = message
        self.syntactic_help = "auto or an integer"  # --help's "(...)" line

    def parse(self, argument):
        if isinstance(argument, str) and argument.strip().lower() == AUTO:
            return AUTO
        try:
            return super().parse(argument)
        except ValueError:
            raise ValueError(self.message) from None

    def flag_type(self):
        return "int or auto"


def _auto_message(message):
    """A field check's message with the word auto added: "must be auto or ..."."""
    return message.replace("must be ", f"must be {AUTO} or ", 1)


def define(field, hint):
    """The absl flag of one TrainConfig field."""
    meta, default = field.metadata, field.default
    if meta["flag_type"] == "switch":
        return flags.DEFINE_flag(_SwitchFlag(field.name, default, meta["choices"], meta["help"]))
    if meta["flag_type"] == "int_or_auto":
        assert default is None, field.name
        parser = _IntOrAutoParser(_auto_message(meta["check"][1]))
        return flags.DEFINE(parser, field.name, AUTO, meta["help"],
                            serializer=flags.ArgumentSerializer())
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


AUTO_FLAGS = tuple(f.name for f in dataclasses.fields(TrainConfig)
                   if f.metadata["flag_type"] == "int_or_auto")


def _int_list(values):
    return None if values is None else tuple(int(v) for v in values)


def field_value(name, value):
    """A flag's value as its TrainConfig field takes it."""
    if name in LIST_FLAGS:
        return _int_list(value)
    if name in AUTO_FLAGS and value == AUTO:
        return None
    return value


def _validator(name):
    check, message = FIELD_CHECKS[name]

    def validate(value):
        try:
            return check(field_value(name, value))
        except (TypeError, ValueError):
            return False
    return validate, _auto_message(message) if name in AUTO_FLAGS else message


for _name in FIELD_CHECKS:
    if not isinstance(FLAGS[_name], flags.EnumFlag):
        flags.register_validator(_name, *_validator(_name))


def to_config(flag_values=FLAGS):
    """The parsed flags as a frozen TrainConfig."""
    values = {}
    for field in dataclasses.fields(TrainConfig):
        values[field.name] = field_value(field.name, flag_values[field.name].value)
    if (values["generator_fn"] or values["discriminator_fn"]) and not flag_values["model"].present:
        values["model"] = "tf1"
    return TrainConfig(**values)
