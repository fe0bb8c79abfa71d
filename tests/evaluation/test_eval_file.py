"""gan_tf.evaluation's eval.json: every evaluation of a run, rewritten after each one and
cut back at a resume, its earlier classifier record read back as untrusted input."""
import json
import os
import threading

from gan_tf.evaluation import write_eval_file
from tests.helpers import run_config


def test_a_pipe_at_eval_json_does_not_hang_the_rewrite_of_eval_json(tmp_path):
    """write_eval_file reads the earlier eval.json's classifier record: a named pipe there
    (made after training's start-up check, nothing writing to it) blocked that read forever."""
    os.mkfifo(tmp_path / "eval.json")
    records = [{"step": 10, "time": 1.0, "classifier_score": 5.0}]
    done = []
    thread = threading.Thread(target=lambda: done.append(
        write_eval_file(str(tmp_path), run_config(tmp_path), records)), daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert done, "write_eval_file blocked on the pipe"
    with open(tmp_path / "eval.json") as f:
        doc = json.load(f)
    assert doc["classifier"] is None and doc["final"]["classifier_score"] == 5.0
