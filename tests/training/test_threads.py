"""--intra_op_threads (gan_tf.training.threads): auto's rule, setting it before TensorFlow
starts, its errors, and that the thread count leaves a run's numbers as they are."""
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from gan_tf.config import TrainConfig
from gan_tf.errors import RunError
from gan_tf.training import precision, threads
from tests.helpers import (ROOT, assert_config_refuses, cli_errors, one_error_line, records,
                           run_main)


AMX, NO_AMX = ("avx512_bf16", "amx_bf16"), ("avx512_bf16",)  # the Xeon's and the EPYC's flags
WITH, WITHOUT = (f", the bound measured for a CPU {w} AMX" for w in ("with", "without"))


@pytest.mark.parametrize("overrides,accelerator,expect", [
    (dict(), False, 1),                                   # the default run: 100 x 128
    (dict(batch_size=256), False, 1),                     # 32,768: the bound, included
    (dict(batch_size=257), False, 0),
    (dict(g_hidden=(128, 1024)), False, 0),               # the widest layer counts
    (dict(d_hidden=(64,), g_hidden=(256,)), False, 1),    # 25,600
    (dict(), True, 0),                                    # a GPU trains
    (dict(strategy="tpu"), None, 0),
    (dict(jit_compile=True), False, 0),
    (dict(model="dcgan"), False, 0),
    (dict(model="tf1", generator_fn="m:g", discriminator_fn="m:d"), False, 0),
    (dict(intra_op_threads=0), False, 0),                 # explicit values win
    (dict(intra_op_threads=3), False, 3),
    (dict(model="dcgan", intra_op_threads=1), False, 1),
])
def test_auto_gives_one_thread_to_small_mlp_steps_on_a_cpu(overrides, accelerator, expect,
                                                           monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    threads_per_op, why = threads.resolve(TrainConfig(**overrides), accelerator, cpu_units=AMX)
    assert threads_per_op == expect
    assert why.startswith("--intra_op_threads=" + ("auto: " if "intra_op_threads" not in overrides
                                                    else f"{expect}"))


@pytest.mark.parametrize("overrides,expect", [
    (dict(), 1),                              # the default run, 12,800: 1.18x on the EPYC
    (dict(d_hidden=(100,), g_hidden=(100,), batch_size=128), 1),    # 12,800
    (dict(batch_size=101), 0),                # 12,928
    (dict(batch_size=256), 0),                # 32,768: 0.90x on the EPYC, 1.12x on the Xeon
    (dict(mixed_precision="bfloat16"), 1),    # bfloat16 12,800: 1.14x
    (dict(mixed_precision="bfloat16", batch_size=128, g_hidden=(256, 512, 1024),
          d_hidden=(1024, 512)), 0),          # 131,072 without bCR: 0.99x
])
def test_a_cpu_without_amx_gets_the_smaller_bounds_measured_on_the_epyc(overrides, expect):
    for units in (NO_AMX, ()):                # with avx512_bf16 only, or no bfloat16 units
        if units == () and "mixed_precision" in overrides:
            continue                          # emulated bfloat16 takes float32's bound
        got, why = threads.resolve(TrainConfig(**overrides), False, {}, cpu_units=units)
        assert got == expect
        assert why.startswith("--intra_op_threads=auto: ")
        assert why.endswith(WITHOUT) if expect == 0 else (
            "on a CPU without AMX, " in why)
    # the same steps under the Xeon's bounds
    assert threads.resolve(TrainConfig(**overrides), False, {}, cpu_units=AMX)[0] == 1


def test_auto_keeps_a_thread_count_the_environment_sets(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    assert threads.resolve(TrainConfig(), False) == (
        2, "--intra_op_threads=auto: TF_NUM_INTRAOP_THREADS=2 in the environment")
    assert threads.resolve(TrainConfig(intra_op_threads=1), False)[0] == 1  # the flag wins
    assert threads.resolve(TrainConfig(), False, resumed=True, recorded=1)[0] == 2  # the record
    for ignored in ("0", " ", "abc", "-3", "²", "4097"):  # values TensorFlow ignores, or
        environ = {"TF_NUM_INTRAOP_THREADS": ignored}  # a count config.json could not hold
        assert threads.resolve(TrainConfig(), False, environ)[0] == 1
    assert threads.resolve(TrainConfig(), False, {"TF_NUM_INTRAOP_THREADS": "4096"})[0] == 4096


# The wide MLP flagfile's networks and batch (flags/mlp_info_wide_bcr.cfg): batch x widest
# layer 131,072.
WIDE = dict(g_hidden=(256, 512, 1024), d_hidden=(1024, 512), batch_size=128)
WIDE_BCR = dict(WIDE, bcr_weight=1.0)


@pytest.mark.parametrize("overrides,units,why", [
    (WIDE_BCR, (), "a small MLP step with bCR on a CPU without AMX, batch x widest layer "
                   "131,072 <= 262,144"),
    (dict(WIDE_BCR, batch_size=256), AMX, "a small MLP step with bCR on a CPU with AMX, batch x "
                                          "widest layer 262,144 <= 262,144"),
    (dict(WIDE_BCR, batch_size=256), NO_AMX, "a small MLP step with bCR on a CPU without AMX, "
                                             "batch x widest layer 262,144 <= 262,144"),
    (dict(WIDE_BCR, batch_size=257), (), "an MLP step with bCR of batch x widest layer "
                                         "263,168 > 262,144" + WITHOUT),
    (WIDE, AMX, "an MLP step of batch x widest layer 131,072 > 32,768" + WITH),
    (dict(WIDE, mixed_precision="bfloat16"), AMX,
     "a small bfloat16 MLP step on a CPU with AMX, batch x widest layer 131,072 <= 131,072"),
    (dict(WIDE, mixed_precision="bfloat16", batch_size=129), AMX,
     "a bfloat16 MLP step of batch x widest layer 132,096 > 131,072" + WITH),
    (dict(WIDE, mixed_precision="bfloat16"), NO_AMX,
     "a bfloat16 MLP step of batch x widest layer 131,072 > 12,800" + WITHOUT),
    (dict(WIDE, mixed_precision="bfloat16"), (),   # emulated bfloat16: float32's bound
     "an MLP step of batch x widest layer 131,072 > 12,800" + WITHOUT),
    (dict(WIDE_BCR, mixed_precision="bfloat16", batch_size=512), AMX,
     "a small bfloat16 MLP step with bCR on a CPU with AMX, batch x widest layer 524,288 <= "
     "524,288"),
    (dict(WIDE_BCR, mixed_precision="bfloat16", batch_size=513), AMX,
     "a bfloat16 MLP step with bCR of batch x widest layer 525,312 > 524,288" + WITH),
    (dict(WIDE_BCR, mixed_precision="on"), AMX,   # on: bfloat16 on a CPU
     "a small bfloat16 MLP step with bCR on a CPU with AMX, batch x widest layer 131,072 <= "
     "524,288"),
    (dict(WIDE_BCR, mixed_precision="native", batch_size=256), NO_AMX,
     "a small bfloat16 MLP step with bCR on a CPU without AMX, batch x widest layer 262,144 <= "
     "262,144"),
    (dict(WIDE_BCR, mixed_precision="native", batch_size=512), NO_AMX,
     "a bfloat16 MLP step with bCR of batch x widest layer 524,288 > 262,144" + WITHOUT),
    # (0.995x on the EPYC, 1.09x on the Xeon)
    (dict(WIDE_BCR, mixed_precision="native", batch_size=512), (),  # native: float32 here
     "an MLP step with bCR of batch x widest layer 524,288 > 262,144" + WITHOUT),
])
def test_auto_s_mlp_bound_grows_with_bfloat16_units_and_bcr(overrides, units, why):
    """Measured faster with one thread (benchmarks/threads_scan.py's mlpbcr and mlpwide
    cells): bCR's second D pass runs beside the first, and bfloat16's kernels are small."""
    config = TrainConfig(**overrides)
    assert threads.resolve(config, False, {}, cpu_units=units) == (
        1 if "<=" in why else 0, "--intra_op_threads=auto: " + why)
    assert threads.resolve(config, True, {}, cpu_units=units) == (
        0, "--intra_op_threads=auto: a GPU or TPU trains")


# The CPU DCGAN flagfiles' network and batch (flags/dcgan_cpu.cfg).
CPU_DCGAN = dict(model="dcgan", batch_size=32, g_channels=(64, 32), d_channels=(32, 64))
UNITS = ("amx_bf16",)
NO_FASTER = (", where one thread per op was measured no faster (batch x widest convolution "
             "2,048-16,384)")  # on the EPYC: 0.97-1.02x at 2,048, 0.85-0.91x from 4,096


@pytest.mark.parametrize("overrides,units,why", [
    (dict(), UNITS, "a small bfloat16 DCGAN step on a CPU with AMX, batch x widest convolution "
                    "2,048 <= 4,096"),
    (dict(), NO_AMX, "a bfloat16 DCGAN step on a CPU without AMX" + NO_FASTER),  # 0.97-1.02x
    (dict(batch_size=64), AMX, "a small bfloat16 DCGAN step on a CPU with AMX, batch x "
                               "widest convolution 4,096 <= 4,096"),
    (dict(batch_size=64), NO_AMX, "a bfloat16 DCGAN step on a CPU without AMX" + NO_FASTER),
    (dict(batch_size=65), UNITS, "a bfloat16 DCGAN step of batch x widest convolution 4,160 > "
                                 "4,096" + WITH),
    (dict(d_channels=(32, 256)), UNITS, "a bfloat16 DCGAN step of batch x widest convolution "
                                        "8,192 > 4,096" + WITH),  # D's widest too
    (dict(g_channels=None, d_channels=None), UNITS,
     "a bfloat16 DCGAN step of batch x widest convolution 8,192 > 4,096" + WITH),
    (dict(), (), "a DCGAN step in float32"),                  # auto's type without units
    (dict(mixed_precision="off"), UNITS, "a DCGAN step in float32"),
    (dict(mixed_precision="bfloat16"), (), "bfloat16 on a CPU without bfloat16 units"),
    (dict(mixed_precision="bfloat16"), UNITS, "a small bfloat16 DCGAN step on a CPU with AMX, "
                                              "batch x widest convolution 2,048 <= 4,096"),
    (dict(jit_compile=True), UNITS, "the step is XLA-compiled"),
])
def test_auto_gives_one_thread_to_small_bfloat16_dcgan_steps_on_a_cpu_with_amx(
        overrides, units, why):
    """Measured faster with one thread (benchmarks/threads_scan.py) on the Xeon with AMX: the
    flagfiles' DCGAN in bfloat16 at batch 32 and 64; slower or even past batch x widest
    4,096 and in float32. On the EPYC without AMX no size was faster."""
    config = TrainConfig(**{**CPU_DCGAN, **overrides})
    assert threads.resolve(config, False, {}, cpu_units=units) == (
        1 if "<=" in why else 0, "--intra_op_threads=auto: " + why)
    on_gpu = "the step is XLA-compiled" if "XLA" in why else "a GPU or TPU trains"
    assert threads.resolve(config, True, {}, cpu_units=units) == (
        0, "--intra_op_threads=auto: " + on_gpu)


@pytest.mark.parametrize("overrides,recorded,expect", [
    (CPU_DCGAN, None, 0),        # a DCGAN run of 0.3.11: the rule of its time, not today's
    (CPU_DCGAN, 2, 2),           # what the run recorded, whatever the rule says now
    (CPU_DCGAN, 0, 0),
    (dict(CPU_DCGAN, model="tf1", generator_fn="m:g", discriminator_fn="m:d"), 1, 1),
    (dict(), None, 1),           # an MLP of 0.3.11: the rule of its time (float32's bound)
    (dict(), 0, 0),              # a wide float32 MLP's numbers depend on the count: the
    (dict(batch_size=1024), 1, 1),  # record is kept for the MLP too
    (WIDE_BCR, None, 0),         # 0.3.8-0.3.11 gave it TensorFlow's default
    (WIDE_BCR, 0, 0),            # and 0.3.12 recorded that: not today's rule (1)
    (dict(CPU_DCGAN, intra_op_threads=3), 1, 3),  # the flag wins over the record
])
def test_a_resumed_run_keeps_the_count_it_recorded(overrides, recorded, expect):
    config = TrainConfig(**overrides)
    got, why = threads.resolve(config, False, {}, resumed=True, recorded=recorded,
                               cpu_units=UNITS)
    assert got == expect
    kept = recorded is not None
    assert (why == "--intra_op_threads=auto: what the run ran with (config.json)") == (
        kept and "intra_op_threads" not in overrides)
    # a new run: nothing recorded to keep, today's rule
    assert threads.resolve(config, False, {}, recorded=recorded, cpu_units=UNITS)[0] == (
        threads.resolve(config, False, {}, cpu_units=UNITS)[0])


def test_a_resumed_mlp_from_before_the_record_gets_the_old_bound_on_any_cpu():
    """0.3.8-0.3.11 gave every MLP up to 32,768 one thread, whatever the CPU: such a run
    resumes as it ran, also where today's rule (12,800 without AMX) says otherwise."""
    config = TrainConfig(batch_size=256)  # 32,768
    for units in (AMX, NO_AMX, ()):
        assert threads.resolve(config, False, {}, resumed=True, cpu_units=units) == (
            1, "--intra_op_threads=auto: a small MLP step on a CPU, batch x widest layer "
               "32,768 <= 32,768, gan_tf 0.3.11's rule for a run from before the record")
    assert threads.resolve(config, False, {}, cpu_units=NO_AMX)[0] == 0  # a new run


@pytest.mark.parametrize("value", [-1, 1.5, "2", True, 5000])
def test_an_invalid_thread_count_is_refused(value):
    assert_config_refuses(dict(intra_op_threads=value), "intra_op_threads",
                          "must be a whole number of threads")


THREADS_MESSAGE = ("must be auto or a whole number of threads from 0 (TensorFlow's default) "
                   "to 4096")


@pytest.mark.parametrize("argv,expect", [
    ([], None),
    (["--intra_op_threads=auto"], None),  # the default, as the docs and the run's log spell it
    (["--intra_op_threads=AUTO"], None),
    (["--intra_op_threads=0"], 0),
    (["--intra_op_threads=3"], 3),
])
def test_the_flag_takes_auto_or_a_count_and_writes_itself_back(argv, expect, tmp_path):
    from absl import flags
    from gan_tf.commands import train_flags
    try:
        flags.FLAGS(["train_main.py", *argv])
        assert train_flags.to_config(flags.FLAGS).intra_op_threads == expect
        flag = flags.FLAGS["intra_op_threads"]
        assert flag.default_as_str == "'auto'"
        assert flag.serialize() == f"--intra_op_threads={'auto' if expect is None else expect}"
        # A flagfile written from the parsed flags, read after one that sets a count,
        # gives back the same value (an explicit auto undoes the count).
        counted, written = tmp_path / "counted.cfg", tmp_path / "written.cfg"
        counted.write_text("--intra_op_threads=2\n")
        written.write_text(flags.FLAGS.flags_into_string())
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train_main.py", f"--flagfile={counted}", f"--flagfile={written}"])
        assert train_flags.to_config(flags.FLAGS).intra_op_threads == expect
    finally:
        flags.FLAGS.unparse_flags()


def test_auto_on_the_command_line_undoes_a_flagfiles_count(tmp_path):
    from absl import flags
    from gan_tf.commands import train_flags
    flagfile = tmp_path / "one_thread.cfg"
    flagfile.write_text("--model=mlp\n--intra_op_threads=1\n")
    try:
        flags.FLAGS(["train_main.py", f"--flagfile={flagfile}"])
        assert train_flags.to_config(flags.FLAGS).intra_op_threads == 1
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train_main.py", f"--flagfile={flagfile}", "--intra_op_threads=auto"])
        assert train_flags.to_config(flags.FLAGS).intra_op_threads is None
    finally:
        flags.FLAGS.unparse_flags()


def test_the_flag_refuses_other_words_and_counts_in_one_line():
    values = ["autoo", "1.5", "two", "", "-2", "5000"]
    errors = cli_errors("train_main", *([f"--intra_op_threads={v}"] for v in values))
    for value, (code, err) in zip(values, errors):
        assert code != 0
        assert err.strip() == (f"train_main.py: error: flag --intra_op_threads={value}: "
                               + THREADS_MESSAGE)


def started_tensorflow():
    """Makes sure this process's TensorFlow runtime has started (the suite's has)."""
    tf.constant(1.0).numpy()
    return tf.config.threading.get_intra_op_parallelism_threads()


def test_auto_keeps_the_threads_of_a_tensorflow_that_already_runs(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    current = started_tensorflow()
    assert threads.resolve(TrainConfig(), False)[0] != current  # auto would want a change
    got, why = threads.configure(TrainConfig())
    assert got == current == tf.config.threading.get_intra_op_parallelism_threads()
    assert "already started" in why


def test_an_explicit_count_that_can_no_longer_be_set_is_an_error():
    current = started_tensorflow()
    with pytest.raises(RunError, match=f"^--intra_op_threads={current + 3}: TensorFlow already "
                                       "started"):
        threads.configure(TrainConfig(intra_op_threads=current + 3))
    assert threads.configure(TrainConfig(intra_op_threads=current))[0] == current


# Trains the default MLP (batch 100, 128 units) for 200 steps in a fresh process with the
# given --intra_op_threads, and prints the threads in force and the final weights' bytes.
_TRAIN = """
import hashlib, json, sys
from gan_tf import data
from gan_tf.config import TrainConfig
from gan_tf.training import precision, threads
config = TrainConfig(dataset="mnist_5k", mixed_precision="off",
                     intra_op_threads=None if sys.argv[1] == "auto" else int(sys.argv[1]))
got, why = threads.configure(config)
import tensorflow as tf
from gan_tf import models
from gan_tf.training.steps import GANTrainer
tf.random.set_seed(0)
g, d = models.build(config)
trainer = GANTrainer(config, g, d)
iterator = iter(data.make_dataset(data.load_mnist_5k().train_images, 100, seed=0))
trainer.train_steps(iterator, tf.constant(200, tf.int64))
digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in g.variables + d.variables))
print(json.dumps([tf.config.threading.get_intra_op_parallelism_threads(), why,
                  digest.hexdigest()]))
"""


def default_run_reason():
    """What auto says of the default run on this machine's CPU: the Xeon's bound with AMX,
    the EPYC's without."""
    amx = "amx_bf16" in precision.cpu_bfloat16_units()
    return (f"--intra_op_threads=auto: a small MLP step on a CPU {'with' if amx else 'without'}"
            f" AMX, batch x widest layer 12,800 <= {'32,768' if amx else '12,800'}")


def train_with(threads_flag):
    result = subprocess.run([sys.executable, "-c", _TRAIN, threads_flag], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": ROOT, "CUDA_VISIBLE_DEVICES": "",
                                 "TF_NUM_INTRAOP_THREADS": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_thread_count_is_set_and_a_fixed_count_repeats_its_weights():
    """In a fresh process auto sets one thread per op for the default MLP, and 200 steps
    with it give bitwise the weights of a run told --intra_op_threads=1. Whether another
    count gives the same bits depends on the CPU (the same at 1 and 2 threads on the
    AVX-512 CPUs of docs/performance.md, not on an EPYC without AVX-512), which is why a
    resumed run keeps the count its config.json records (the tests below)."""
    auto, one = train_with("auto"), train_with("1")
    assert auto[:2] == [1, default_run_reason()]
    assert one[:2] == [1, "--intra_op_threads=1"]
    assert auto[2] == one[2]


@pytest.mark.parametrize("flag,environment,line,recorded", [
    ("--intra_op_threads=0", "", "Running TensorFlow's default threads per op "
                                 "(--intra_op_threads=0).", 0),
    ("--eval_samples=0", "", f"Running 1 thread per op ({default_run_reason()}).", 1),
    ("--eval_samples=0", "3", "Running 3 threads per op (--intra_op_threads=auto: "
                              "TF_NUM_INTRAOP_THREADS=3 in the environment).", 3)])
def test_the_run_says_what_it_chose_and_records_it(tmp_path, flag, environment, line, recorded):
    result = run_main("--dataset=mnist_5k", "--max_steps=2", "--eval_samples=0",
                      f"--output_dir={tmp_path / 'run'}", flag,
                      env={"CUDA_VISIBLE_DEVICES": "", "TF_NUM_INTRAOP_THREADS": environment})
    assert result.returncode == 0, one_error_line(result)
    assert line in result.stderr
    assert stored_config(tmp_path / "run")["threads_per_op"] == recorded


def train_cpu_dcgan(run_dir, *flags):
    """train_main.py on the CPU flagfiles' DCGAN in float32 (auto's type on any CPU would
    vary), logging every 2 steps, a checkpoint every 4."""
    result = run_main("--dataset=mnist_5k", "--model=dcgan", "--g_channels=64,32",
                      "--d_channels=32,64", "--batch_size=32", "--mixed_precision=off",
                      "--eval_samples=0", "--log_every=2", "--checkpoint_every=4",
                      f"--output_dir={run_dir}", *flags,
                      env={"CUDA_VISIBLE_DEVICES": "", "TF_NUM_INTRAOP_THREADS": ""})
    assert result.returncode == 0, one_error_line(result)
    return result.stderr


def stored_config(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        return json.load(f)


def logged_losses(run_dir):
    return [{k: v for k, v in r.items() if "loss" in k} for r in records(run_dir)]


def test_a_resumed_dcgan_goes_on_with_the_threads_it_ran_with(tmp_path):
    """config.json records the threads per op in force, and a resume under auto takes them
    again (a convolution's numbers depend on them): a run started with one thread and
    resumed without the flag logs what one straight run with one thread logs. A run from
    before the record (gan_tf 0.3.11) resumes at TensorFlow's default, as it ran."""
    split, whole = tmp_path / "split", tmp_path / "whole"
    train_cpu_dcgan(split, "--max_steps=4", "--intra_op_threads=1")
    assert stored_config(split)["threads_per_op"] == 1
    resumed = train_cpu_dcgan(split, "--max_steps=8")
    assert ("Running 1 thread per op (--intra_op_threads=auto: what the run ran with "
            "(config.json)).") in resumed
    assert stored_config(split)["threads_per_op"] == 1
    train_cpu_dcgan(whole, "--max_steps=8", "--intra_op_threads=1")
    assert logged_losses(split) == logged_losses(whole)

    stored = stored_config(split)  # as gan_tf 0.3.11 wrote it
    del stored["threads_per_op"]
    (split / "config.json").write_text(json.dumps(stored))
    resumed = train_cpu_dcgan(split, "--max_steps=10")
    assert ("Running TensorFlow's default threads per op (--intra_op_threads=auto: a DCGAN "
            "run from before gan_tf 0.3.12, which ran it at TensorFlow's default).") in resumed
    assert stored_config(split)["threads_per_op"] == 0


def test_a_resumed_mlp_keeps_its_recorded_count_and_one_from_before_gets_the_old_rule(tmp_path):
    """Since 0.3.13 an MLP resumes with the count it recorded (a wide float32 MLP's numbers
    depend on it), even where auto's rule now says otherwise; a run without the record
    (gan_tf 0.3.11) gets 0.3.8-0.3.11's float32 rule, here TensorFlow's default."""
    run = tmp_path / "run"
    wide = ("--dataset=mnist_5k", "--g_hidden=1024", "--d_hidden=64", "--batch_size=64",
            "--mixed_precision=off", "--eval_samples=0", "--checkpoint_every=2",
            f"--output_dir={run}")  # batch x widest 65,536 > 32,768: auto's default
    env = {"CUDA_VISIBLE_DEVICES": "", "TF_NUM_INTRAOP_THREADS": ""}
    for flags, line in [(("--max_steps=2", "--intra_op_threads=1"),
                         "Running 1 thread per op (--intra_op_threads=1)."),
                        (("--max_steps=4",), "Running 1 thread per op (--intra_op_threads="
                                             "auto: what the run ran with (config.json)).")]:
        result = run_main(*wide, *flags, env=env)
        assert result.returncode == 0, one_error_line(result)
        assert line in result.stderr
        assert stored_config(run)["threads_per_op"] == 1
    stored = stored_config(run)  # as gan_tf 0.3.11 wrote it
    del stored["threads_per_op"]
    (run / "config.json").write_text(json.dumps(stored))
    result = run_main(*wide, "--max_steps=6", env=env)
    assert result.returncode == 0, one_error_line(result)
    assert ("Running TensorFlow's default threads per op (--intra_op_threads=auto: an MLP step "
            "of batch x widest layer 65,536 > 32,768, gan_tf 0.3.11's rule for a run from "
            "before the record).") in result.stderr
    assert stored_config(run)["threads_per_op"] == 0
