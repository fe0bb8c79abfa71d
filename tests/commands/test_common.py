"""gan_tf.commands.common: every command line's flag and argument errors as one line and an exit code
(2: a bad flag or argument, 1: bad input found later), and the --out checks.

The error cases of each command line run through common.run in one Python process per
command line (tests.helpers.cli_errors); each tool's own tests start it as
`python -m` once more for what it writes."""
import os

import pytest

from gan_tf.commands import common, quiet
from tests.helpers import ROOT, cli_errors, nocap

TRAIN_FLAG_ERRORS = [
    (["--batch_size=0"], "--batch_size"),
    (["--z_dim=-3"], "--z_dim"),
    (["--epochs=0"], "--epochs"),
    (["--max_steps=0"], "--max_steps"),
    (["--log_every=0"], "--log_every"),
    (["--sample_every=-1"], "--sample_every"),
    (["--checkpoint_every=0"], "--checkpoint_every"),
    (["--d_steps_per_g_step=0"], "--d_steps_per_g_step"),
    (["--num_samples=0"], "--num_samples"),
    (["--model=resnet"], "--model"),
    (["--dataset=cifar10"], "--dataset"),
    (["--z_distribution=cauchy"], "--z_distribution"),
    (["--optimizer=sgd"], "--optimizer"),
    (["--label_smoothing=0"], "--label_smoothing"),
    (["--label_smoothing=1.5"], "--label_smoothing"),
    (["--g_learning_rate=-0.1"], "--g_learning_rate"),
    (["--d_beta1=1.0"], "--d_beta1"),
    (["--g_hidden=128,abc"], "--g_hidden"),
    (["--d_hidden=0"], "--d_hidden"),
    (["--g_channels=64"], "--g_channels"),
    (["--dropout=1"], "--dropout"),
    (["--leak=-1"], "--leak"),
    (["--seed=-1"], "--seed"),
    (["--batch_size=ten"], "--batch_size"),
    (["--init=zeros"], "--init"),
    (["--instance_noise=-0.1"], "--instance_noise"),
    (["--instance_noise_steps=0"], "--instance_noise_steps"),
    (["--label_flip=0.5"], "--label_flip"),
    (["--g_ema=1"], "--g_ema"),
    (["--d_translate=9"], "--d_translate"),
    (["--diffaugment=zoom"], "--diffaugment"),
    (["--diffaugment=translation", "--d_translate=2"], "--d_translate"),
    (["--generator_fn=a:g", "--discriminator_fn=a:d", "--spectral_norm"], "--spectral_norm"),
    (["--g_upsample=bilinear"], "--g_upsample"),
    (["--g_upsample=resize"], "--g_upsample"),  # --model=mlp
    (["--model=tf1", "--generator_fn=a:g", "--discriminator_fn=a:d", "--minibatch_stddev"],
     "--minibatch_stddev"),
    (["--eval_every=0"], "--eval_every"),
    (["--eval_samples=2"], "--eval_samples"),
    (["--max_seconds=0"], "--max_seconds"),
    (["--exclude_classes=3,10"], "--exclude_classes"),
    (["--loss=softplus"], "--loss"),
    (["--r1_gamma=-1"], "--r1_gamma"),
    (["--gradient_penalty=-10"], "--gradient_penalty"),
    (["--latent_categories=1"], "--latent_categories"),
    (["--latent_categories=10", "--info_weight=-1"], "--info_weight"),
    (["--latent_categories=10", "--conditional"], "--latent_categories"),
    (["--info_weight=2"], "--info_weight"),
    (["--no_such_flag=1"], "no_such_flag"),
    # Values the flag checks pass but TensorFlow cannot take (TrainConfig.validate).
    (["--seed=18446744073709551616"], "--seed"),
    (["--d_learning_rate=inf"], "--d_learning_rate"),
    (["--gradient_penalty=nan"], "--gradient_penalty"),
    (["--loss=hinge", "--label_flip=0.1"], "--label_flip"),
    (["--loss=wasserstein", "--label_smoothing=1"], "--label_smoothing"),
    (["extra"], "unexpected arguments"),
    # TensorFlow's checkpoint reader takes a path as a glob pattern: never readable back.
    (["--classifier_dir=cls[1]"], "--classifier_dir"),
]

TOOL_ERRORS = [  # (module, args, exit code, expected in the line); {tmp} is an empty folder
    ("gan_tf.sample", ["--num_samples=0", "--run_dir=x"], 2, "--num_samples"),
    ("gan_tf.sample", ["--seed=-1", "--run_dir=x"], 2, "--seed"),
    ("gan_tf.sample", ["--run_dir=x", "--out=x.txt"], 2, "--out"),
    ("gan_tf.sample", [], 2, "exactly one of --run_dir and --tf1_checkpoint"),
    ("gan_tf.sample", ["--run_dir=x", "--tf1_checkpoint=y"], 2, "exactly one of"),
    ("gan_tf.sample", ["--z_distribution=cauchy", "--run_dir=x"], 2, "--z_distribution"),
    ("gan_tf.sample", ["--run_dir={tmp}", "--out={tmp}/s.npy"], 1, "not a gan_tf run directory"),
    ("gan_tf.sample", ["--run_dir=x", "--checkpoint=first"], 2, "--checkpoint=first: must be best, latest or a step"),
    ("gan_tf.sample", ["--tf1_checkpoint=y", "--checkpoint=best"], 2, "--checkpoint chooses among a run's"),
    ("gan_tf.export", ["--run_dir=x", "--export_dir=y", "--checkpoint=-3"], 2, "--checkpoint=-3: must be"),
    # Digits str.isdigit takes and int() does not (a superscript, past Python's 4,300).
    ("gan_tf.sample", ["--run_dir=x", "--checkpoint=\u00b2"], 2, "must be best, latest or a step"),
    ("gan_tf.export", ["--run_dir=x", "--export_dir=y", "--checkpoint=" + "9" * 5000], 2,
     "must be best, latest or a step"),
    ("gan_tf.augment", ["--run_dir=x", "--sizes=\u00b2"], 2, "is not 'all' or a whole number"),
    ("gan_tf.augment", ["--run_dir=x", "--sizes=1" + "0" * 5000], 2, "is not 'all' or a whole"),
    ("gan_tf.export", [], 2, "--run_dir is required"),
    ("gan_tf.export", ["--run_dir=x"], 2, "--export_dir, --tf1_checkpoint_out or both"),
    ("gan_tf.export", ["--run_dir=x", "--export_dir=y", "--bogus=1"], 2, "bogus"),
    ("gan_tf.export", ["--run_dir={tmp}", "--export_dir={tmp}/e"], 1, "not a gan_tf run directory"),
    # Checkpoints and SavedModels TensorFlow could not read back: refused before the work.
    ("gan_tf.export", ["--run_dir=x", "--export_dir={tmp}/e[1]"], 2, "--export_dir={tmp}/e[1]: holds"),
    ("gan_tf.export", ["--run_dir=x", "--tf1_checkpoint_out={tmp}/t*/model.ckpt"], 2,
     "--tf1_checkpoint_out={tmp}/t*/model.ckpt: holds"),
    ("gan_tf.classifier", ["--output_dir={tmp}/c?"], 2, "--output_dir={tmp}/c?: holds"),
    ("gan_tf.plot_losses", [], 2, "usage"),
    ("gan_tf.plot_losses", ["a.pkl", "b.pkl"], 2, "usage"),
    ("gan_tf.plot_losses", ["{tmp}/no.pkl"], 1, "no.pkl"),
]


@pytest.fixture(scope="module")
def train_results(tmp_path_factory):
    """{case index: (exit code, stderr)} of train_main.py, and the folder of the runs."""
    root = tmp_path_factory.mktemp("train_cli")
    cases = [[*args, f"--output_dir={root}/run{i}"] for i, (args, _) in enumerate(TRAIN_FLAG_ERRORS)]
    cases.append(["--output_dir="])  # an empty --output_dir, in an empty working folder
    cases.append([f"--output_dir={root}/run[1]"])  # a run TensorFlow could not read back
    (root / "cwd").mkdir()
    return cli_errors("train_main", *cases, cwd=root / "cwd"), root


def one_line(code, stderr, expect_code):
    assert code == expect_code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("index", range(len(TRAIN_FLAG_ERRORS)),
                         ids=[" ".join(args) for args, _ in TRAIN_FLAG_ERRORS])
def test_invalid_flag_exits_with_one_line_naming_it(train_results, index):
    results, root = train_results
    line = one_line(*results[index], 2)
    assert TRAIN_FLAG_ERRORS[index][1] in line
    assert not os.path.exists(root / f"run{index}")  # nothing started


def test_an_empty_output_dir_flag_is_one_line_and_creates_nothing(train_results):
    results, root = train_results
    assert "--output_dir" in one_line(*results[-2], 2)
    assert os.listdir(root / "cwd") == []


def test_a_run_folder_with_pattern_characters_is_refused_before_training(train_results):
    """A run in run[1] trained, and then could never be resumed or sampled: TensorFlow's
    checkpoint reader matched the path as a glob pattern."""
    results, root = train_results
    assert "--output_dir: holds [, *, ? or a backslash" in one_line(*results[-1], 2)
    assert not os.path.exists(root / "run[1]")


@pytest.fixture(scope="module")
def tool_results(tmp_path_factory):
    """{(module, case index): (exit code, stderr)}, each tool's cases in one process."""
    tmp = tmp_path_factory.mktemp("tool_cli")
    results = {}
    for module in sorted({m for m, *_ in TOOL_ERRORS}):
        indices = [i for i, case in enumerate(TOOL_ERRORS) if case[0] == module]
        cases = [[a.format(tmp=tmp) for a in TOOL_ERRORS[i][1]] for i in indices]
        for i, result in zip(indices, cli_errors(module, *cases, cwd=tmp)):
            results[i] = result
    return results, tmp


@pytest.mark.parametrize("index", range(len(TOOL_ERRORS)),
                         ids=[f"{m} {' '.join(a)}"[:80] for m, a, *_ in TOOL_ERRORS])
def test_tool_errors_are_one_line(tool_results, index):
    results, tmp = tool_results
    _, _, code, expect = TOOL_ERRORS[index]
    assert expect.format(tmp=tmp) in one_line(*results[index], code)
    assert os.listdir(tmp) == []  # no output of a refused command


def test_a_tf1_checkpoint_out_is_checked_as_the_saver_records_it(tmp_path):
    """The TF1 Saver records the absolute path, so a relative --tf1_checkpoint_out under a
    working folder named w[1] could not be found again by its folder."""
    cwd = tmp_path / "w[1]"
    cwd.mkdir()
    [(code, stderr)] = cli_errors("gan_tf.export", ["--run_dir=x", "--tf1_checkpoint_out=t/m.ckpt"],
                                  cwd=cwd)
    assert "w[1]/t/m.ckpt: holds" in one_line(code, stderr, 2)
    assert os.listdir(cwd) == []


def test_check_outputs_wants_the_extension_and_refuses_existing_files(tmp_path):
    common.check_outputs(str(tmp_path / "a.csv"), ".csv", [str(tmp_path / "a.csv")], False)
    with pytest.raises(common.UsageError, match=r"--out=a.txt: must end with .csv"):
        common.check_outputs("a.txt", ".csv", [], False)
    (tmp_path / "a.png").write_bytes(b"mine")
    paths = [str(tmp_path / "a.csv"), str(tmp_path / "a.png")]
    with pytest.raises(common.UsageError, match=r"a.png exists; pass --overwrite"):
        common.check_outputs(str(tmp_path / "a.csv"), ".csv", paths, False)
    common.check_outputs(str(tmp_path / "a.csv"), ".csv", paths, True)


@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_check_outputs_refuses_what_no_file_can_replace_even_with_overwrite(tmp_path, kind):
    """--overwrite replaces a file; a folder (or a pipe) at an output's name would fail the
    final write after all the tool's work, so it is refused first."""
    out = tmp_path / "a.png"
    if kind == "folder":
        (out / "inside").mkdir(parents=True)
    else:
        os.mkfifo(out)
    with pytest.raises(common.UsageError, match="a.png.*not a file") as error:
        common.check_outputs(str(tmp_path / "a.csv"), ".csv", [str(out)], True)
    assert "\n" not in str(error.value)


def test_check_outputs_counts_a_dangling_link_as_existing(tmp_path):
    """A link whose target is gone is still something at that name (the user's, and
    os.path.exists says False): refused without --overwrite, like a file."""
    os.symlink(tmp_path / "gone.csv", tmp_path / "a.csv")
    with pytest.raises(common.UsageError, match=r"a.csv exists; pass --overwrite"):
        common.check_outputs(str(tmp_path / "a.csv"), ".csv", [str(tmp_path / "a.csv")], False)
    common.check_outputs(str(tmp_path / "a.csv"), ".csv", [str(tmp_path / "a.csv")], True)


def test_flag_values_refuses_positional_arguments():
    with pytest.raises(common.UsageError, match=r"unexpected arguments \['extra'\]"):
        common.flag_values(["tool", "extra"])


def test_fail_prints_the_program_and_message_and_exits_with_the_code(capsys, monkeypatch):
    import logging
    monkeypatch.setattr("sys.argv", ["/some/where/tool.py"])
    with pytest.raises(SystemExit) as exit_:
        common.fail("it broke", code=3)
    logging.disable(logging.NOTSET)  # fail() silences logging for the rest of a process
    assert exit_.value.code == 3
    assert capsys.readouterr().err == "tool.py: error: it broke\n"


def test_every_tool_refuses_an_unwritable_output_before_its_work(small_run, tmp_path):
    """Issue 25 (17): a read-only or missing folder was a traceback after the work (the
    synthetic-data tool's after all its classifier runs). /dev/null/x cannot be a folder
    for anyone, root included."""
    import pickle
    losses = tmp_path / "train_losses.pkl"
    losses.write_bytes(pickle.dumps([(1.0, 2.0), (0.5, 1.5)]))
    run = f"--run_dir={small_run}"
    cases = {
        "gan_tf.sample": [[run, "--out=/dev/null/s.npy"]],
        "gan_tf.plot_losses": [[str(losses), "--out=/dev/null/x.png"]],
        "gan_tf.anomaly": [[run, "--out=/dev/null/a.csv"]],
        "gan_tf.augment": [[run, "--out=/dev/null/a.json"]],
        "gan_tf.export": [[run, "--export_dir=/dev/null/e"],
                          [run, "--tf1_checkpoint_out=/dev/null/c/"]],
    }
    for module, args in cases.items():
        for (code, stderr), case in zip(cli_errors(module, *args, cwd=tmp_path), args):
            line = one_line(code, stderr, 2)
            assert "cannot write in /dev/null" in line, (module, line)
    assert sorted(os.listdir(tmp_path)) == ["train_losses.pkl"]


def test_a_read_only_output_folder_is_one_line_before_the_work(small_run, tmp_path):
    import subprocess
    import sys
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    command = nocap([sys.executable, "-m", "gan_tf.sample", f"--run_dir={small_run}",
                     f"--out={ro}/s.npy"])
    if command is None:
        pytest.skip("root without setpriv: permissions cannot bind here")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    line = one_line(result.returncode, result.stderr, 2)
    assert f"cannot write in {ro} (Permission denied)" in line
    assert os.listdir(ro) == []


@pytest.mark.parametrize("raised,shown", [(KeyboardInterrupt, False), (ImportError, True)])
def test_held_tensorflow_lines_are_shown_when_the_import_fails_not_on_ctrl_c(capfd, raised,
                                                                              shown):
    """Issue 25 (16): Ctrl-C during `import tensorflow` dumped its held-back start-up lines."""
    with pytest.raises(raised):
        with quiet._held_stderr():
            os.write(2, b"I0000 start-up line\n")
            raise raised()
    assert ("I0000 start-up line" in capfd.readouterr().err) == shown


_PLANT_THEN_RUN = """
import importlib, sys
module_name, patched, out, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
owner_name, attribute = patched.rsplit(".", 1)
owner = importlib.import_module(owner_name)
original = getattr(owner, attribute)
def planting(*args, **kwargs):  # another process creates the output during the tool's work
    with open(out, "wb") as f:
        f.write(b"the user's")
    return original(*args, **kwargs)
setattr(owner, attribute, planting)
sys.argv = [module_name] + argv
importlib.import_module(module_name).run()
"""


@pytest.mark.parametrize("tool,patched,out,extra", [
    ("sample", "gan_tf.applications.sampling.draw", "s.npy", ["--num_samples=4"]),
    ("sample", "gan_tf.applications.sampling.draw", "s.png", ["--num_samples=4"]),
    ("plot_losses", "gan_tf.runs.logs.load_losses", "l.png", []),
])
def test_an_output_created_while_a_tool_works_is_kept(small_run, tmp_path, tool, patched, out,
                                                      extra):
    """Checked free at the start, created by something else before the tool wrote it: the
    tool keeps it and says so in one line (exit 1) unless --overwrite was given."""
    import subprocess
    import sys
    planted = tmp_path / out
    if tool == "sample":
        argv = [f"--run_dir={small_run}", f"--out={tmp_path / 's.npy'}"] + extra
    else:
        argv = [str(small_run / "train_losses.pkl"), f"--out={planted}"]
    result = subprocess.run(
        [sys.executable, "-c", _PLANT_THEN_RUN, f"gan_tf.commands.{tool}", patched,
         str(planted)] + argv, cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=ROOT),
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "created by something else" in result.stderr.strip().splitlines()[-1]
    assert planted.read_bytes() == b"the user's"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
    overwritten = subprocess.run(
        [sys.executable, "-c", _PLANT_THEN_RUN, f"gan_tf.commands.{tool}", patched,
         str(planted)] + argv + ["--overwrite"], cwd=str(tmp_path),
        env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=300)
    assert overwritten.returncode == 0, overwritten.stderr[-2000:]
    assert planted.read_bytes() != b"the user's"
