"""benchmarks/throughput.py's harness: the TF1 baselines train, and the variants' processes
take turns (the least-run next) until each has run its time."""
import json
import os

import numpy as np
import pytest

from benchmarks import throughput, throughput_variants


@pytest.mark.parametrize("name", throughput_variants.TF1_VARIANTS)
def test_each_tf1_baseline_trains_the_notebook_graph(name):
    images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype(np.float32)
    step, per_call = getattr(throughput_variants, name)(images, 16)
    gan = step.gan
    before = gan.sess.run(gan.d_vars + gan.g_vars)
    for _ in range(4):  # past an epoch of 40 images at batch 16: the fast feed reshuffles
        step()
    after = gan.sess.run(gan.d_vars + gan.g_vars)
    assert per_call == 1
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))


def test_the_one_thread_tf1_loop_asks_its_session_for_one_thread_per_op():
    images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype(np.float32)
    step, _ = throughput_variants.tf1_dataset_1thread(images, 16)
    assert step.gan.sess._config.intra_op_parallelism_threads == 1
    step, _ = throughput_variants.tf1_dataset(images, 16)
    assert step.gan.sess._config.intra_op_parallelism_threads == 0


class FakeWorker:
    """Answers "run SECONDS" with steps at a fixed rate, noting each turn."""

    def __init__(self, name, rate, turns):
        self.name, self.rate, self.turns = name, rate, turns

    def ask(self, line):
        seconds = float(line.split()[1])
        self.turns.append(self.name)
        return {"steps": int(self.rate * seconds), "seconds": seconds}


def test_variants_take_turns_until_each_has_run_its_time():
    turns = []
    workers = {"a": FakeWorker("a", 100, turns), "b": FakeWorker("b", 50, turns)}
    rates = throughput.interleaved_rates(workers, 2.0)
    assert rates == {"a": 100.0, "b": 50.0}
    assert turns == ["a", "b"] * 4  # 2 s in turns of 0.5 s, alternating


def test_importing_the_benchmark_leaves_the_environment_alone():
    """The suite's other tests start commands that must see the caller's environment as
    conftest left it (TensorFlow's log level unset): this module imports the benchmark."""
    import os
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


@pytest.mark.parametrize("name,expect", [
    ("mlp/b100", ("mlp", 100, None)), ("mlp/b128/w512", ("mlp", 128, 512)),
    ("dcgan/b64/x3", ("dcgan", 64, 3))])
def test_group_names_give_model_batch_and_size(name, expect):
    assert throughput.parse_group(name) == expect


@pytest.mark.parametrize("variant,group", [
    ("keras_loop", "mlp/b8/w16"), ("gan_tf_xla", "mlp/b8/w16"),
    ("keras_tutorial", "dcgan/b4/x2"), ("gan_tf", "dcgan/b4/x2")])
def test_the_sized_variants_build_at_their_width_and_train(variant, group):
    images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype(np.float32)
    step, per_call = throughput.build_variant(group, variant, images)
    step()
    assert per_call >= 1


def test_the_curves_sort_each_point_into_the_batch_or_width_curve_and_plot(tmp_path):
    from benchmarks import throughput_curves as curves
    groups = curves.groups()
    assert "mlp/b128/w128" in groups and "dcgan/b64/x1" in groups  # shared points, once
    rates = {f"{g}/{v}": float(len(g) + len(v)) for g, names in groups.items() for v in names}
    drawn = curves.curves(rates)
    by_batch = drawn["mlp vs batch"]["gan_tf_xla"]
    assert [p[0] for p in by_batch] == list(curves.BATCHES)
    assert by_batch[0][2] == by_batch[0][1] * 32  # images/s = steps/s x batch
    assert [p[0] for p in drawn["dcgan vs width"]["keras_tutorial"]] == list(curves.DCGAN_SCALES)
    path = tmp_path / "curves.png"
    curves.plot({"steps_per_sec": rates, "cpu": "test"}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ratios_set_each_variant_against_its_baseline_and_the_fastest_tf1_loop():
    """ratios_of, on made-up medians: the fastest TF1 loop is found, the bfloat16 MLP
    without XLA is set against it and against float32, and the default run against the
    loop the MLP runs by default (no XLA since 0.3.5)."""
    medians = {f"mlp/b100/{n}": 100.0 for n in throughput.MLP_VARIANTS}
    # the fastest TF1 loop neither first nor last of TF1_VARIANTS, so no index finds it
    assert throughput_variants.TF1_VARIANTS.index("tf1_session_fast") == 1
    medians.update({"mlp/b100/tf1_session_fast": 200.0, "mlp/b100/gan_tf": 300.0,
                    "mlp/b100/gan_tf_bf16": 330.0, "mlp/b100/step_matmuls_gflops": 50.0,
                    "mlp/b100/step_matmuls_gflops_run_threads": 40.0,
                    "mlp/b100/default_run": 270.0, "mlp/b100/default_run_log_every_1": 285.0,
                    "dcgan/b64/keras_tutorial": 10.0, "dcgan/b64/gan_tf": 9.5,
                    "dcgan/b64/gan_tf_bf16": 18.0})
    ratios, gflops = throughput.ratios_of(medians, [100], [64])
    assert gflops["mlp/b100/step_matmuls_alone"] == 50.0  # the faster thread setting's
    assert ratios["mlp/b100/tf1_fastest is tf1_session_fast"] == 1.0
    assert ratios["mlp/b100/gan_tf vs tf1_fastest"] == pytest.approx(1.5)
    assert ratios["mlp/b100/gan_tf_bf16 vs tf1_fastest"] == pytest.approx(1.65)
    assert ratios["mlp/b100/gan_tf_bf16 vs gan_tf"] == pytest.approx(1.1)
    assert ratios["mlp/b100/default_run vs benchmark loop"] == pytest.approx(0.9)
    assert ratios["mlp/b100/default_step (gan_tf) vs tf1_fastest"] == pytest.approx(1.5)
    assert ratios["dcgan/b64/gan_tf_bf16 vs keras_tutorial"] == pytest.approx(1.8)
    macs = throughput_variants.mlp_macs_per_example()
    assert gflops["mlp/b100/gan_tf"] == pytest.approx(300.0 * 2 * 100 * macs / 1e9)
    assert ratios["mlp/b100/gan_tf share of step_matmuls_alone"] == pytest.approx(
        gflops["mlp/b100/gan_tf"] / 50.0)
    # where auto computes the MLP in bfloat16 (an AMX CPU), the default run is set against
    # the bfloat16 loop, and the default step is that loop
    medians["mlp/b100/step_matmuls_gflops_run_threads"] = 60.0
    ratios, gflops = throughput.ratios_of(medians, [100], [64], mlp_dtype="bfloat16")
    assert gflops["mlp/b100/step_matmuls_alone"] == 60.0
    assert ratios["mlp/b100/default_run vs benchmark loop"] == pytest.approx(270.0 / 330.0)
    assert ratios["mlp/b100/default_step (gan_tf_bf16) vs tf1_fastest"] == pytest.approx(1.65)


@pytest.mark.parametrize("name,expect", [("gan_tf", None), ("gan_tf@1", 1), ("gan_tf_bf16@0", 0)])
def test_a_variant_name_may_force_the_threads_per_op(name, expect):
    cfg = throughput.gan_tf_config("mlp/b8/w16", name)
    assert (cfg.intra_op_threads, cfg.batch_size, cfg.g_hidden) == (expect, 8, (16,))
    assert cfg.mixed_precision == ("bfloat16" if "_bf16" in name else "off")


def test_the_cpu_flagfiles_dcgan_group_scales_from_dcgan_cpu_cfg():
    cfg = throughput.gan_tf_config("dcgancpu/b64/x2", "gan_tf_bf16@1")
    assert (cfg.model, cfg.batch_size, cfg.g_channels, cfg.d_channels, cfg.kernel_size) == (
        "dcgan", 64, (128, 64), (64, 128), 5)
    assert (cfg.mixed_precision, cfg.intra_op_threads, cfg.dropout) == ("bfloat16", 1, 0.0)
    flagfile = throughput.gan_tf_config("dcgancpu/b32", "gan_tf")
    assert (flagfile.g_channels, flagfile.d_channels, flagfile.g_learning_rate) == (
        (64, 32), (32, 64), 5e-4)
    assert throughput.steps_per_call("dcgancpu", 32, None) == 24
    assert throughput.steps_per_call("dcgancpu", 256, 4) == 1


@pytest.mark.parametrize("group,bcr", [("mlpbcr/b256", 1.0), ("mlpwide/b128", 0.0)])
def test_the_wide_mlp_groups_are_the_wide_bcr_flagfiles_networks(group, bcr):
    from benchmarks.quality import flag_values
    cfg = throughput.gan_tf_config(group, "gan_tf_bf16")
    path = os.path.join(throughput.ROOT, "flags", "mlp_info_wide_bcr.cfg")
    for name in ("g_hidden", "d_hidden", "bn_momentum", "leak", "z_dim", "z_distribution",
                 "g_learning_rate", "d_learning_rate", "g_beta1", "d_beta1",
                 "latent_categories"):
        value = getattr(cfg, name)
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        assert flag_values(path, name) == [text], name
    assert cfg.g_batchnorm and flag_values(path, "bcr_weight") == ["1"]
    assert (cfg.model, cfg.bcr_weight, cfg.mixed_precision) == ("mlp", bcr, "bfloat16")
    assert cfg.batch_size == int(group.split("/b")[1])
    assert throughput.steps_per_call(group.split("/")[0], 256, None) == 8


def test_the_thread_scan_reports_both_rates_and_what_auto_picks():
    from benchmarks import threads_scan
    row = threads_scan.row("mlp/b100", "gan_tf", {"mlp/b100/gan_tf@0": 200.0,
                                                  "mlp/b100/gan_tf@1": 220.0})
    assert row == {"steps_per_sec_default": 200.0, "steps_per_sec_1": 220.0,
                   "one_over_default": 1.1, "batch_x_widest": 12800, "auto": 1}  # any CPU
    assert threads_scan.row("dcgan/b64", "gan_tf", {"dcgan/b64/gan_tf@0": 8.0,
                                                    "dcgan/b64/gan_tf@1": 7.0})["auto"] == 0
    assert threads_scan.row("dcgancpu/b32/x2", "gan_tf_bf16", {
        "dcgancpu/b32/x2/gan_tf_bf16@0": 8.0, "dcgancpu/b32/x2/gan_tf_bf16@1": 8.4})[
            "batch_x_widest"] == 32 * 128


def test_the_curves_command_writes_its_report_from_the_measurements(tmp_path, monkeypatch):
    """throughput_curves.main on made-up measurements (measure returns the medians, the
    rounds and each worker's threads per op)."""
    from benchmarks import throughput_curves as curves
    rates = {f"{g}/{v}": 10.0 for g, names in curves.groups().items() for v in names}
    monkeypatch.setattr(throughput, "measure", lambda *args, **kwargs: (rates, {}, {}))
    report = tmp_path / "curves.json"
    monkeypatch.setattr("sys.argv", ["throughput_curves.py", f"--report={report}"])
    curves.main()
    assert json.loads(report.read_text())["steps_per_sec"] == rates


def test_the_thread_weights_check_compares_the_two_counts_digests(tmp_path, monkeypatch):
    """benchmarks/thread_weights.py on made-up digests: a cell whose two counts give other
    weights is reported different; and one real child run trains and hashes a tiny MLP."""
    from benchmarks import thread_weights
    digests = {("a/b8/gan_tf", 1): "1" * 64, ("a/b8/gan_tf", 2): "1" * 64,
               ("c/b8/gan_tf", 1): "2" * 64, ("c/b8/gan_tf", 2): "3" * 64}
    monkeypatch.setattr(thread_weights, "in_child", lambda cell, n, steps: digests[cell, n])
    report = tmp_path / "weights.json"
    monkeypatch.setattr("sys.argv", ["thread_weights.py", "--cells=a/b8/gan_tf,c/b8/gan_tf",
                                     f"--report={report}"])
    thread_weights.main()
    cells = json.loads(report.read_text())["cells"]
    assert [cells[c]["same_weights"] for c in ("a/b8/gan_tf", "c/b8/gan_tf")] == [True, False]
    monkeypatch.undo()  # a real child: the same count gives the same weights
    digest = thread_weights.in_child("mlp/b8/w16/gan_tf", 1, 2)
    assert len(digest) == 64 and digest == thread_weights.in_child("mlp/b8/w16/gan_tf", 1, 2)


@pytest.mark.parametrize("cores,siblings,expect", [
    ("2", "2", ", 2 cores, 1 thread per core"), ("1", "2", ", 1 core, 2 threads per core"),
    (None, None, ""), ("0", "2", "")])
def test_the_cpu_line_names_the_bfloat16_flags_and_the_core_layout(tmp_path, cores, siblings,
                                                                   expect):
    lines = ["processor\t: 0", "model name\t: Some CPU",
             "flags\t\t: fpu avx512f avx512_bf16 amx_bf16"]
    lines += [f"siblings\t: {siblings}"] * (siblings is not None)
    lines += [f"cpu cores\t: {cores}"] * (cores is not None)
    info = tmp_path / "cpuinfo"
    info.write_text("\n".join(lines) + "\n")
    assert throughput.cpu_flags(str(info)) == f"Some CPU: avx512f avx512_bf16 amx_bf16{expect}"


def test_the_step_profile_sums_op_types_over_the_compute_threads_only():
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    from benchmarks.profile_step import op_thread_ms
    space = xplane_pb2.XSpace()
    host, device = space.planes.add(name="/host:CPU"), space.planes.add(name="/device:GPU:0")
    for plane in (host, device):
        for i, name in enumerate(["ExecutorState::Process", "d/MatMul:_MklMatMul",
                                  "g/MatMul_1:_MklMatMul", "g/Cast:Cast", "x:Start",
                                  "train_steps", "while/f:__inference_body_12"], 1):
            plane.event_metadata[i].name = name
    for line_name, scale in (("tf_Compute/1", 1), ("tf_Compute/2", 2), ("python", 100)):
        line = host.lines.add(name=line_name)
        for metadata_id, ms in ((1, 9.0), (2, 3.0), (3, 1.0), (4, 0.5), (5, 7.0), (6, 5.0),
                                (7, 4.0)):
            line.events.add(metadata_id=metadata_id, duration_ps=int(ms * scale * 1e9))
    device.lines.add(name="tf_Compute/1").events.add(metadata_id=2, duration_ps=10 ** 15)
    # two steps: (1 + 2) ms-scales of each op type, halved; enclosing events left out
    assert op_thread_ms(space, 2) == pytest.approx({"_MklMatMul": 6.0, "Cast": 0.75})


@pytest.mark.parametrize("argv,message", [
    (["--group=bogus"], "--group='bogus'"), (["--group=mlp/b0"], "--group="),
    (["--variant=nope"], "--variant='nope'"), (["--variant=gan_tf@-1"], "--variant="),
    (["--calls=0"], "--calls must be at least 1"), (["--top=-2"], "--top must be at least 1"),
    (["--group=mlp/b100", "--variant=keras_tutorial"], "a dcgan/ group's"),
    (["--inter_op=-1"], "--inter_op must be 0")])
def test_the_step_profile_refuses_bad_arguments_in_one_line(argv, message, capsys):
    from benchmarks.profile_step import parse_args
    with pytest.raises(SystemExit) as stop:
        parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_ratios_of_the_dcgan_alone_leave_the_mlp_out():
    """--models=dcgan: no MLP group was measured, so no MLP or default-run ratio."""
    medians = {"dcgan/b64/keras_tutorial": 10.0, "dcgan/b64/gan_tf": 10.5}
    ratios, gflops = throughput.ratios_of(medians, [], [64])
    assert ratios == {"dcgan/b64/gan_tf vs keras_tutorial": pytest.approx(1.05)}
    assert gflops == {}


@pytest.mark.parametrize("argv,message", [
    (["--models=gan"], "--models='gan'"), (["--models="], "--models=''"),
    (["--models=dcgan,dcgan"], "each once"), (["--rounds=0"], "--rounds must be positive"),
    (["--seconds=-1"], "--seconds must be positive"), (["--seconds=nan"], "--seconds must be"),
    (["--seconds=inf"], "--seconds must be"), (["--batches=64,x"], "--batches: positive"),
    (["--batches=0"], "--batches: positive"), (["--batches="], "--batches: positive")])
def test_the_throughput_command_refuses_bad_arguments_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        throughput.parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_throughput_command_measures_the_models_asked_for():
    assert throughput.parse_args([]).models == ["mlp", "dcgan"]
    assert throughput.parse_args(["--models=dcgan", "--quick"]).models == ["dcgan"]
    assert throughput.parse_args(["--batches=1024,512,1024"]).batches == [512, 1024]
    assert throughput.parse_args([]).batches is None  # each model's own list


def test_the_step_profile_takes_the_documented_groups_and_variants():
    from benchmarks.profile_step import parse_args
    args = parse_args(["--group=dcgancpu/b32/x2", "--variant=gan_tf_xla_bf16@1", "--calls=2"])
    assert (args.group, args.variant, args.calls, args.top) == (
        "dcgancpu/b32/x2", "gan_tf_xla_bf16@1", 2, 15)
    assert throughput.gan_tf_config(args.group, args.variant).batch_size == 32
    assert parse_args(["--group=dcgan/b64", "--variant=keras_tutorial@1"]).variant == \
        "keras_tutorial@1"


def test_the_default_runs_rate_is_its_steady_state_over_whole_periods():
    """Calls as the loop makes them (cut at every 1,000-step sample/checkpoint): the
    first call's tracing, the first period's one-off costs and the end are left out;
    each period's own event cost (0.25 s here) stays in."""
    calls, t, step = [], 3.0, 0  # (return time, steps): a 1-step call after 3 s of tracing
    calls.append((t, 1))
    step = 1
    for n in [499] + [500] * 11:  # 1 s per 500 steps; events at every multiple of 1,000
        t += n / 500
        step += n
        calls.append((t, n))
        if step % 1000 == 0:
            t += 0.25 + (2.0 if step == 1000 else 0.0)  # the first events cost more
    assert step == 6000
    # from the return at step 2,000 to the one at 5,000: 3,000 steps, 6 s + 3 events
    assert throughput_variants.steady_rate(calls, 1000) == pytest.approx(3000 / 6.75)
    with pytest.raises(ValueError, match="run at least 4000"):
        throughput_variants.steady_rate(calls[:7], 1000)  # 3,000 steps
    with pytest.raises(ValueError, match="not cut at every 300 steps"):
        throughput_variants.steady_rate(calls, 300)


def test_the_loop_ends_a_call_at_every_sample_and_checkpoint_step(tmp_path, monkeypatch):
    """What steady_rate relies on, from a real run: a call ends at each period."""
    from gan_tf.training import loop
    from tests.helpers import run_config
    monkeypatch.setattr(throughput_variants._TimedTrainer, "calls", [])
    monkeypatch.setattr(loop, "GANTrainer", throughput_variants._TimedTrainer)
    loop.train(run_config(tmp_path / "run", max_steps=120, sample_every=10,
                          checkpoint_every=15, log_every=7))
    calls = throughput_variants._TimedTrainer.calls
    ends = set(np.cumsum([n for _, n in calls]).tolist())
    assert {30, 60, 90, 120} <= ends and sum(n for _, n in calls) == 120
    assert throughput_variants.steady_rate(calls, 30) > 0  # steps 60 to 90
