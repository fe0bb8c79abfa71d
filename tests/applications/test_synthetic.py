"""Synthetic training data for the classifier (gan_tf.augment)."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from gan_tf import data, models
from gan_tf.applications import sampling, synthetic
from gan_tf.commands import augment as augment_command
from gan_tf.commands.common import UsageError
from gan_tf.evaluation import classifier
from gan_tf.training import loop
from tests.helpers import cli_errors, small_config


def test_stratified_subset_takes_each_class_equally_chosen_by_seed():
    labels = data.load_mnist_5k().train_labels
    a, b = (synthetic.stratified_subset(labels, 105, 0, 10),
            synthetic.stratified_subset(labels, 105, 1, 10))
    assert len(a) == len(set(a)) == 105
    np.testing.assert_array_equal(np.bincount(labels[a]), [11] * 5 + [10] * 5)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, synthetic.stratified_subset(labels, 105, 0, 10))
    np.testing.assert_array_equal(synthetic.stratified_subset(labels, None, 0, 10),
                                  np.arange(len(labels)))
    without_3 = labels[labels != 3]  # a run's left-out class is not asked for
    counts = np.bincount(without_3[synthetic.stratified_subset(without_3, 50, 0, 10)],
                         minlength=10)
    np.testing.assert_array_equal(counts, [6, 6, 6, 0, 6, 6, 5, 5, 5, 5])
    assert synthetic.subset_problem(without_3, 50, 10) is None


def test_a_class_with_fewer_than_its_share_is_named_before_any_work():
    """Full MNIST holds 5,421 fives: --sizes=55000 asks 5,500 of each class."""
    labels = np.repeat(np.arange(10), [60, 60, 60, 7, 60, 60, 60, 60, 60, 60])
    assert synthetic.subset_problem(labels, 100, 10) == (
        "100 images need 10 of class 3; the training images hold 7")
    assert synthetic.subset_problem(labels, 70, 10) is None
    assert synthetic.subset_problem(labels, None, 10) is None
    with pytest.raises(ValueError, match="need 10 of class 3"):
        synthetic.stratified_subset(labels, 100, 0, 10)


class CentrePixelLabeller(tf.Module):
    """A stand-in classifier whose answer is known: the class is the argmax of ten
    pixels in the middle row, so a test can recompute it from the images in numpy."""

    image_shape = (28, 28, 1)

    def __call__(self, images, training=False):
        flat = tf.reshape(images, [-1, 28 * 28])
        return flat[:, 14 * 28 + 9:14 * 28 + 19], flat


@pytest.mark.parametrize("conditional", [True, False])
def test_synthesize_labels_samples_by_class_asked_or_by_classifier(conditional):
    config = small_config(conditional=conditional)
    g, _ = models.build(config)
    labeller = None if conditional else CentrePixelLabeller()
    images, labels = synthetic.synthesize(g, config.z_dim, config.z_distribution, 40, seed=3,
                                        label_classifier=labeller)
    assert images.shape == (40, 28, 28, 1) and labels.shape == (40,)
    if conditional:  # every class equally often, each image drawn for its label
        np.testing.assert_array_equal(np.bincount(labels), [4] * 10)
        again, _ = synthetic.synthesize(g, config.z_dim, config.z_distribution, 40, seed=3)
        np.testing.assert_array_equal(images, again)
    else:  # each image keeps the label of its own pixels, after the shuffle too
        expected = np.argmax(images.reshape(-1, 28 * 28)[:, 14 * 28 + 9:14 * 28 + 19], axis=1)
        assert len(set(expected)) > 3  # a test that can tell images apart
        np.testing.assert_array_equal(labels, expected)
        with pytest.raises(ValueError, match="label_classifier"):
            synthetic.synthesize(g, config.z_dim, config.z_distribution, 4, seed=0)


def test_a_conditional_run_without_a_class_synthesizes_only_the_classes_it_trained():
    """A run trained with --exclude_classes=7 never learned class 7: its images of 7 would
    put a class the held-out set lacks into a tenth of every synthetic set."""
    config = small_config(conditional=True)
    g, _ = models.build(config)
    trained = [0, 1, 2, 3, 4, 5, 6, 8, 9]
    images, labels = synthetic.synthesize(g, config.z_dim, config.z_distribution, 36, seed=3,
                                          classes=trained)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [4] * 7 + [0] + [4] * 2)
    # Each image is the generator's of its own label (for the same z, shuffled after).
    given = np.asarray(trained, np.int32)[np.arange(36) % 9]
    order = np.random.default_rng(3).permutation(36)
    np.testing.assert_array_equal(labels, given[order])
    drawn = sampling.draw(g, 36, config.z_dim, config.z_distribution, 3, labels=given)
    np.testing.assert_allclose(images[..., 0], drawn[order], atol=1e-6)


def test_the_memory_estimate_counts_every_mixed_set_and_no_image_grids():
    """Default settings on 4,000 images need about a hundred MB; a real share of 0.9 with
    100,000 synthetic images tiles the real ones 9,000 times (N=100): gigabytes."""
    default = synthetic.memory_bytes(synthetic.AugmentConfig(), 4000, 62)
    assert 50e6 < default < 200e6
    huge = synthetic.AugmentConfig(synthetic=(100_000,), real_share=0.9)
    assert synthetic.memory_bytes(huge, 60000, 62) > 5e9


def test_summary_and_table_report_mean_and_spread_over_seeds():
    records = [{"seed": s, "n": 100, "kind": k, "m": m, "accuracy": a}
               for s, (k, m, a) in enumerate([("real", 0, 0.8), ("real", 0, 0.9),
                                              ("synthetic", 100, 0.6), ("synthetic", 100, 0.7)])]
    summary = {(r["kind"], r["m"]): r for r in synthetic.summarize(records)}
    assert summary[("real", 0)]["mean"] == pytest.approx(0.85)
    assert summary[("real", 0)]["std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert summary[("synthetic", 100)]["runs"] == 2
    row = synthetic.table(synthetic.summarize(records), (1000,)).splitlines()[2]
    assert row == "| 100 | 85.00 ± 7.07 | - | 65.00 ± 7.07 | 0.765 |"


def test_classifier_trains_for_a_number_of_steps_on_sets_smaller_than_a_batch():
    full = data.load_mnist_5k()
    model = classifier.train(full.train_images[:20], full.train_labels[:20], steps=3,
                             batch_size=64)
    logits, _ = classifier.predict(model, full.test_images[:5])
    assert logits.shape == (5, 10) and np.all(np.isfinite(logits))


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("augment_conditional")
    loop.train(small_config(conditional=True, output_dir=str(run_dir), max_steps=20,
                             eval_samples=0))
    return str(run_dir)


def test_command_trains_every_kind_and_writes_json_and_table(conditional_run, tmp_path):
    out = tmp_path / "synthetic.json"
    done, again, bad = cli_errors(
        "gan_tf.augment",
        [f"--run_dir={conditional_run}", "--sizes=20", "--synthetic=0,30", "--seeds=0",
         "--steps=2", f"--out={out}"],
        [f"--run_dir={conditional_run}", f"--out={out}"],
        [f"--run_dir={conditional_run}", "--sizes=5", f"--out={tmp_path / 'x.json'}"])
    assert done[0] == 0, done[1][-2000:]
    with open(out) as f:
        doc = json.load(f)
    assert doc["conditional"] and doc["held_out_images"] == 1000
    kinds = [(r["n"], r["kind"], r["m"]) for r in doc["records"]]
    assert kinds == [(20, k, m) for k, m in
                     [("real", 0), ("augmented", 0), ("augmented", 30), ("synthetic", 20)]]
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in doc["records"])
    with open(tmp_path / "synthetic.md") as f:
        assert f.read().startswith("| N real | real only | real + 0 synthetic |")
    assert again[0] == 2 and "pass --overwrite" in again[1].splitlines()[-1]
    assert bad[0] == 2 and "--sizes" in bad[1].splitlines()[-1]
    assert not os.path.exists(tmp_path / "x.json")


def test_a_run_without_a_class_augments_its_other_classes_and_huge_sets_are_refused(tmp_path):
    """A run trained with --exclude_classes asked the subset for the left-out class too and
    ended in a traceback after its work; --synthetic beyond memory was drawn regardless."""
    run_dir = tmp_path / "without_7"
    loop.train(small_config(conditional=True, output_dir=str(run_dir), max_steps=10,
                            eval_samples=0, exclude_classes=(7,)))
    out = tmp_path / "a.json"
    done, huge = cli_errors(
        "gan_tf.augment",
        [f"--run_dir={run_dir}", "--sizes=20", "--synthetic=0", "--seeds=0", "--steps=2",
         f"--out={out}"],
        [f"--run_dir={run_dir}", "--sizes=20", f"--synthetic={10 ** 12}", "--seeds=0",
         f"--out={tmp_path / 'b.json'}"])
    assert done[0] == 0, done[1][-2000:]
    assert [r["n"] for r in json.loads(out.read_text())["records"]] == [20, 20, 20]
    assert huge[0] == 1 and "would need about" in huge[1].splitlines()[-1], huge[1][-2000:]
    assert not os.path.exists(tmp_path / "b.json")


def test_sizes_take_whole_numbers_from_ten_and_all():
    assert augment_command._sizes(["20", "all"]) == (20, None)
    for bad in (["5"], ["x"]):
        with pytest.raises(UsageError, match="--sizes"):
            augment_command._sizes(bad)


@pytest.mark.parametrize("n, m, share, copies", [(500, 4000, 0.5, 8), (100, 1000, 0.5, 10),
                                                 (4000, 1000, 0.5, 1), (100, 1000, 0.0, 1),
                                                 (100, 0, 0.5, 1), (100, 300, 0.25, 1)])
def test_real_images_are_repeated_to_about_the_asked_share(n, m, share, copies):
    assert synthetic.real_copies(n, m, share) == copies
    if share and copies > 1:
        assert abs(copies * n / (copies * n + m) - share) < 0.05


def test_an_unconditional_run_without_some_digits_labels_with_the_whole_datasets_classifier(
        tmp_path):
    """The label classifier of an unconditional run is the dataset's cached one: trained,
    when none is cached yet, on every class, not on the run's data without its left-out
    classes (the cache, under the dataset's name, serves every later evaluation)."""
    import subprocess
    import sys
    run_dir = tmp_path / "without_7"
    loop.train(small_config(output_dir=str(run_dir), max_steps=10, eval_samples=0,
                            exclude_classes=(7,)))
    # The command in a process of its own (its flags are absl's globals), with the
    # classifier's load_or_train replaced by one that reports the data it was given.
    script = (
        "import sys\n"
        "from gan_tf.evaluation import classifier\n"
        "def given(data, directory=None):\n"
        "    print('GIVEN', sorted(set(data.train_labels.tolist())), len(data.train_labels))\n"
        "    sys.exit(0)\n"
        "classifier.load_or_train = given\n"
        "from gan_tf.commands import augment\n"
        f"sys.argv = ['augment', '--run_dir={run_dir}', '--out={tmp_path / 'a.json'}']\n"
        "augment.run()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, HOME=str(tmp_path),  # an empty cache
                                   GAN_TF_CACHE=str(tmp_path / "cache")), timeout=300)
    line = [x for x in done.stdout.splitlines() if x.startswith("GIVEN")]
    assert line, done.stderr[-2000:]
    assert line[0] == f"GIVEN {list(range(10))} {len(data.load_mnist_5k().train_labels)}"
