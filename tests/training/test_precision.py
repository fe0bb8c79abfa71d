"""--mixed_precision: auto's rule, the flag's spellings old and new, what config.json
records and what a resumed run computes in."""
import dataclasses
import json
import logging

import pytest
from absl import flags

from gan_tf import errors
from gan_tf.commands import train_flags
from gan_tf.config import TrainConfig
from gan_tf.runs import read_config
from gan_tf.training import distribute, loop, precision
from tests.helpers import MAIN, small_config


def test_cpu_flags_are_read_from_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx512f "
                    "avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert precision.cpu_flags(str(info)) == {"fpu", "sse2", "avx512f", "avx512_bf16"}
    assert precision.cpu_bfloat16_units(precision.cpu_flags(str(info))) == ("avx512_bf16",)
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert precision.cpu_flags(str(arm)) == {"fp", "asimd", "bf16"}
    assert precision.cpu_bfloat16_units({"fp", "asimd", "bf16"}) == ()
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_a_huge_cpuinfo_costs_a_bounded_read(tmp_path):
    info = tmp_path / "cpuinfo"
    with open(info, "w") as f:
        f.write("x" * (precision.CPUINFO_LIMIT + 10) + "\nflags\t: amx_bf16\n")
    assert precision.cpu_flags(str(info)) == frozenset()  # the line past the limit is unread


UNITS, NO_UNITS = (True, "this CPU has avx512_bf16"), (False, "no units")


@pytest.mark.parametrize("choice,model,device,recorded,units,expect", [
    ("off", "dcgan", "CPU", None, UNITS, "float32"),
    ("on", "dcgan", "CPU", None, NO_UNITS, "bfloat16"),
    ("on", "mlp", "GPU", None, UNITS, "float16"),
    ("on", "mlp", "TPU", None, UNITS, "bfloat16"),
    ("bfloat16", "mlp", "GPU", None, NO_UNITS, "bfloat16"),
    ("float16", "dcgan", "CPU", None, UNITS, "float16"),
    ("auto", "dcgan", "CPU", None, UNITS, "bfloat16"),
    ("auto", "dcgan", "CPU", None, NO_UNITS, "float32"),
    ("auto", "dcgan", "GPU", None, UNITS, "bfloat16"),
    ("auto", "mlp", "CPU", None, UNITS, "float32"),
    ("auto", "tf1", "TPU", None, UNITS, "float32"),
    ("auto", "dcgan", "CPU", "bfloat16", NO_UNITS, "bfloat16"),  # a resumed run keeps its type
    ("auto", "mlp", "CPU", "float32", UNITS, "float32"),
    ("off", "dcgan", "CPU", "bfloat16", UNITS, "float32"),  # an explicit choice changes it
    ("auto", "dcgan", "CPU", "off", UNITS, "float32"),  # a float32 run of 0.3.2
    ("auto", "dcgan", "GPU", "on", UNITS, "float16"),  # a --mixed_precision run of 0.3.2
    ("auto", "tf1", "CPU", "bfloat16", UNITS, "float32"),  # legacy functions: float32 always
    ("native", "mlp", "CPU", None, UNITS, "bfloat16"),  # native: every model, where units are
    ("native", "mlp", "CPU", None, NO_UNITS, "float32"),
    ("native", "dcgan", "GPU", None, UNITS, "bfloat16"),
    ("native", "mlp", "GPU", None, (False, "a GPU without bfloat16 units"), "float32"),
    ("native", "mlp", "CPU", "float32", UNITS, "float32"),  # and keeps a resumed run's type
    ("native", "mlp", "CPU", "bfloat16", NO_UNITS, "bfloat16"),
    ("native", "mlp", "CPU", "off", UNITS, "float32"),
])
def test_the_compute_type_of_each_choice(choice, model, device, recorded, units, expect):
    dtype, why = precision.resolve(choice, model, device, recorded, units)
    assert dtype == expect
    assert why.startswith(f"--mixed_precision={choice}")


@pytest.mark.parametrize("argv,expect", [
    ([], "auto"),
    (["--mixed_precision"], "on"),  # a boolean flag before 0.3.3
    (["--nomixed_precision"], "off"),
    (["--mixed_precision=true"], "on"),
    (["--mixed_precision=false"], "off"),
    (["--mixed_precision=auto"], "auto"),
    (["--mixed_precision=bfloat16"], "bfloat16"),
    (["--mixed_precision=float16"], "float16"),
    (["--mixed_precision=native"], "native"),
])
def test_the_flag_takes_its_old_boolean_spellings_and_the_new_choices(argv, expect):
    try:
        flags.FLAGS([MAIN, *argv])
        assert train_flags.to_config(flags.FLAGS).mixed_precision == expect
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.parametrize("argv", [["--mixed_precision=bfloat16"], ["--nomixed_precision"], []])
def test_the_flag_writes_itself_back_as_its_value(argv):
    """A flagfile written from the parsed flags reads back the same (a boolean flag's bare
    --mixed_precision would read back as "on")."""
    try:
        flags.FLAGS([MAIN, *argv])
        flag = flags.FLAGS["mixed_precision"]
        assert flag.serialize() == f"--mixed_precision={flag.value}"
        assert flag.default_as_str == "'auto'"
    finally:
        flags.FLAGS.unparse_flags()


def test_a_choice_that_is_none_of_them_is_a_flag_error():
    try:
        with pytest.raises(flags.IllegalFlagValueError,
                           match="auto.off.on.bfloat16.float16.native"):
            flags.FLAGS([MAIN, "--mixed_precision=float32x"])
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.parametrize("value,expect", [(True, "on"), (False, "off")])
def test_the_boolean_field_of_before_reads_as_on_and_off(value, expect):
    assert TrainConfig(mixed_precision=value).mixed_precision == expect


def test_a_legacy_model_function_takes_auto_but_refuses_a_half_type():
    base = dict(model="tf1", generator_fn="m:g", discriminator_fn="m:d")
    TrainConfig(mixed_precision="auto", **base).validate()
    for half in ("bfloat16", "native"):
        with pytest.raises(errors.ConfigError, match="mixed_precision"):
            TrainConfig(mixed_precision=half, **base).validate()


def computing_line(caplog):
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Computing in")]
    assert len(lines) == 1, lines
    return lines[0]


def test_auto_records_its_choice_and_a_resumed_run_keeps_it(tmp_path, monkeypatch, caplog):
    """A DCGAN started with auto on a CPU with bfloat16 units computes in bfloat16 and
    config.json says so; resumed on a CPU without them it goes on in bfloat16."""
    caplog.set_level(logging.INFO)
    config = small_config("dcgan", output_dir=str(tmp_path), max_steps=2, log_every=1,
                          checkpoint_every=2, mixed_precision="auto")
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ("amx_bf16",))
    loop.train(config)
    assert computing_line(caplog) == ("Computing in bfloat16, variables in float32 "
                                      "(--mixed_precision=auto: this CPU has amx_bf16).")
    with open(tmp_path / "config.json") as f:
        stored = json.load(f)
    assert stored["compute_dtype"] == "bfloat16" and stored["mixed_precision"] == "auto"

    caplog.clear()
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ())
    loop.train(small_config("dcgan", output_dir=str(tmp_path), max_steps=4, log_every=1,
                            checkpoint_every=2, mixed_precision="auto"))
    assert computing_line(caplog).startswith("Computing in bfloat16, variables in float32 "
                                             "(--mixed_precision=auto: what the run started")
    assert json.load(open(tmp_path / "config.json"))["compute_dtype"] == "bfloat16"

    caplog.clear()  # an explicit choice on resume is taken, and recorded
    loop.train(small_config("dcgan", output_dir=str(tmp_path), max_steps=6, log_every=1,
                            checkpoint_every=2, mixed_precision="off"))
    assert computing_line(caplog) == "Computing in float32 (--mixed_precision=off)."
    assert json.load(open(tmp_path / "config.json"))["compute_dtype"] == "float32"


def test_native_gives_the_mlp_bfloat16_where_the_cpu_has_units(tmp_path, monkeypatch, caplog):
    """auto keeps an MLP in float32; native computes it in bfloat16 on a CPU with units,
    records that, and a resumed run keeps it on a CPU without them."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ("amx_bf16",))
    config = small_config("mlp", output_dir=str(tmp_path), max_steps=2, log_every=1,
                          checkpoint_every=2, mixed_precision="native")
    loop.train(config)
    assert computing_line(caplog) == ("Computing in bfloat16, variables in float32 "
                                      "(--mixed_precision=native: this CPU has amx_bf16).")
    stored = json.load(open(tmp_path / "config.json"))
    assert (stored["compute_dtype"], stored["gan_tf_run"]) == ("bfloat16", 5)
    caplog.clear()
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ())
    loop.train(dataclasses.replace(config, max_steps=4))
    assert computing_line(caplog).startswith("Computing in bfloat16, variables in float32 "
                                             "(--mixed_precision=native: what the run started")
    caplog.clear()  # a new run on a CPU without units: float32
    loop.train(dataclasses.replace(config, output_dir=str(tmp_path / "new")))
    assert computing_line(caplog) == ("Computing in float32 (--mixed_precision=native: this "
                                      "CPU has no bfloat16 units (no avx512_bf16 or amx_bf16)).")


def test_auto_on_a_cpu_without_units_computes_in_float32(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ())
    loop.train(small_config("dcgan", output_dir=str(tmp_path), max_steps=1,
                            mixed_precision="auto"))
    assert "float32" in computing_line(caplog) and "no bfloat16 units" in computing_line(caplog)
    assert json.load(open(tmp_path / "config.json"))["compute_dtype"] == "float32"


def test_a_run_of_before_the_record_resumes_in_its_type_and_a_damaged_record_is_refused(
        tmp_path, monkeypatch, caplog):
    """A float32 DCGAN run of 0.3.2 (no compute_dtype; "mixed_precision": false), resumed
    with the new default on a CPU with bfloat16 units, goes on in float32."""
    caplog.set_level(logging.INFO)
    config = small_config("dcgan", output_dir=str(tmp_path), max_steps=2, checkpoint_every=2)
    loop.train(config)
    path = tmp_path / "config.json"
    stored = json.loads(path.read_text())
    del stored["compute_dtype"]
    stored["mixed_precision"] = False  # as 0.3.2 wrote it
    path.write_text(json.dumps(stored))
    assert read_config(str(tmp_path)).mixed_precision == "off"
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ("avx512_bf16",))
    caplog.clear()
    loop.train(small_config("dcgan", output_dir=str(tmp_path), max_steps=3, checkpoint_every=2,
                            mixed_precision="auto"))
    assert computing_line(caplog) == ("Computing in float32 (--mixed_precision=auto: the "
                                      "run's own --mixed_precision=off).")
    assert json.loads(path.read_text())["compute_dtype"] == "float32"

    stored = json.loads(path.read_text())
    stored["compute_dtype"] = "int8"
    path.write_text(json.dumps(stored))
    with pytest.raises(errors.RunError, match="compute_dtype 'int8' is not one of"):
        loop.train(small_config("dcgan", output_dir=str(tmp_path), max_steps=4,
                                checkpoint_every=2))
    assert json.loads(path.read_text())["compute_dtype"] == "int8"  # left for the user to mend


def test_a_slow_choice_is_warned_about(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ())
    assert "emulated and slower" in precision.cpu_note("bfloat16", "CPU")
    assert "bfloat16 is the CPU's half type" in precision.cpu_note("float16", "CPU")
    assert precision.cpu_note("float32", "CPU") is None
    assert precision.cpu_note("float16", "GPU") is None
    monkeypatch.setattr(precision, "cpu_bfloat16_units", lambda flags=None: ("avx512_bf16",))
    assert precision.cpu_note("bfloat16", "CPU") is None


def test_workers_that_would_compute_in_different_types_stop(monkeypatch):
    """Under multi_worker every worker says its type; one that differs stops them all
    (a float16 worker's loss-scaling optimizer would otherwise hang the collectives)."""
    import tensorflow as tf
    monkeypatch.setattr(distribute, "is_multi_worker", lambda strategy: True)
    said = []

    def agree(strategy, values):
        said.append(values)
        return [v / 2 for v in values]  # the mean with a worker that said zeros: others differ
    monkeypatch.setattr(distribute, "agree", agree)
    config = TrainConfig(model="dcgan", mixed_precision="off")
    with pytest.raises(errors.DistributeError, match="the workers chose different compute types"):
        distribute.choose_precision(config, tf.distribute.get_strategy())
    assert said == [[1.0, 0.0, 0.0]]  # float32, one-hot over precision.DTYPES
    monkeypatch.setattr(distribute, "agree", lambda strategy, values: list(values))
    assert distribute.choose_precision(config, tf.distribute.get_strategy())[0] == "float32"
