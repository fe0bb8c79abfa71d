"""outputs: the schedule of a run's events, and log records cut from per-step rows."""
import dataclasses
import glob
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import models
from gan_tf.training import loop
from gan_tf.training import outputs as outputs_lib
from gan_tf.training.outputs import RunOutputs, Schedule
from gan_tf.training.steps import METRIC_KEYS, GANTrainer
from tests.helpers import records as read_records
from tests.helpers import small_config


def tensorboard_scalars(run_dir, tag):
    """{step: value} of a scalar in a run's TensorBoard event files."""
    values = {}
    for path in glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*")):
        for raw in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


@pytest.fixture
def outputs(tmp_path):
    config = small_config(output_dir=str(tmp_path))
    g, d = models.build(config)
    outputs = RunOutputs(config, str(tmp_path), GANTrainer(config, g, d), None,
                         batches_per_epoch=10, log_every=3)
    outputs.logs.resume(0)
    outputs.open_events()
    return outputs


def test_schedule_ends_calls_only_where_the_model_is_needed():
    schedule = Schedule(max_steps=100, log_every=1, sample_every=30, checkpoint_every=40,
                        eval_every=100)
    assert schedule.steps_to_next_event(0, most=1000) == 30  # not at the first log record
    assert schedule.steps_to_next_event(30, most=1000) == 10
    assert schedule.steps_to_next_event(30, most=4) == 4
    assert schedule.due(40, final=False) == {"checkpoint"}
    assert schedule.due(41, final=True) == {"checkpoint", "eval", "sample"}


def test_records_are_cut_from_the_rows_of_calls_across_intervals(outputs, tmp_path):
    rows = np.random.default_rng(0).normal(size=(10, len(METRIC_KEYS))).astype(np.float32)
    # Three calls of 4, 4 and 2 steps (0.4, 0.8, 0.2 s), log_every=3: records at steps
    # 3, 6, 9 and, at the run's end, 10; an evaluation at step 10 joins its record.
    outputs.add_steps(rows[0:4], 0.4)
    outputs.log(4, None, final=False)
    outputs.add_steps(rows[4:8], 0.8)
    outputs.log(8, None, final=False)
    outputs.add_steps(rows[8:10], 0.2)
    outputs.log(10, {"classifier_score": 7.5}, final=True)
    outputs.flush()
    records = read_records(str(tmp_path))
    assert [r["step"] for r in records] == [3, 6, 9, 10]
    for record, (begin, end) in zip(records, [(0, 3), (3, 6), (6, 9), (9, 10)]):
        expected = rows[begin:end].astype(np.float64).mean(axis=0)
        np.testing.assert_allclose([record[k] for k in METRIC_KEYS], expected, rtol=1e-6)
    # steps/s from each step's share of its call's time: step 4 took 0.1 s, 5-6 0.2 s each
    np.testing.assert_allclose([r["steps_per_sec"] for r in records],
                               [10, 3 / 0.5, 3 / 0.5, 10])
    assert records[3]["time"] - records[2]["time"] == pytest.approx(0.1)  # step 10's time
    assert records[-1]["classifier_score"] == 7.5 and "classifier_score" not in records[-2]
    with open(tmp_path / "train_losses.pkl", "rb") as f:
        assert pickle.load(f) == [(np.float32(r["d_loss"]), np.float32(r["g_loss"]))
                                  for r in records]
    d_loss = tensorboard_scalars(str(tmp_path), "d_loss")
    assert sorted(d_loss) == [3, 6, 9, 10]
    np.testing.assert_allclose([d_loss[s] for s in (3, 6, 9, 10)],
                               [r["d_loss"] for r in records], rtol=1e-6)
    assert tensorboard_scalars(str(tmp_path), "eval/classifier_score") == {10: 7.5}
    assert outputs.last_record == records[-1] and not outputs.has_steps


def test_a_log_record_every_step_does_not_end_the_graph_calls(tmp_path, monkeypatch):
    calls = []
    build = loop._build_trainer

    def counting_build(*args):
        trainer = build(*args)
        steps = trainer.train_steps

        def counted(iterator, n):
            calls.append(int(n))
            return steps(iterator, n)
        trainer.train_steps = counted
        return trainer
    monkeypatch.setattr(loop, "_build_trainer", counting_build)
    config = small_config(output_dir=str(tmp_path), max_steps=60, log_every=1, sample_every=40,
                          checkpoint_every=40)
    loop.train(config)
    assert [r["step"] for r in read_records(str(tmp_path))] == list(range(1, 61))
    # The first call is one step (to time the step), then up to the events at 40 and 60.
    assert sum(calls) == 60 and len(calls) <= 6, calls
    # A resume after a stop between log records still gives one record per step.
    loop.train(dataclasses.replace(config, max_steps=70))
    assert [r["step"] for r in read_records(str(tmp_path))] == list(range(1, 71))


def test_mid_run_the_loss_plot_is_redrawn_at_most_every_plot_seconds(outputs, tmp_path,
                                                                     monkeypatch):
    outputs.add_steps(np.ones((6, len(METRIC_KEYS)), np.float32), 0.1)
    outputs.log(6, None, final=False)
    plot = tmp_path / "losses.png"
    outputs.save_plots(gif=False, mid_run=True)  # the first checkpoint draws it
    first = plot.stat().st_mtime_ns
    plot.unlink()
    outputs.save_plots(gif=False, mid_run=True)  # too soon
    assert not plot.exists()
    monkeypatch.setattr(outputs_lib, "PLOT_SECONDS", 0.0)
    outputs.save_plots(gif=False, mid_run=True)
    assert plot.stat().st_mtime_ns >= first
    monkeypatch.setattr(outputs_lib, "PLOT_SECONDS", 1e9)
    plot.unlink()
    outputs.save_plots(gif=False)  # the end of a run (or a stop) always draws it
    assert plot.exists()
