"""fileio: atomic whole-file writes and the append-only pickled list."""
import os
import pickle

import numpy as np
import pytest

from gan_tf import fileio
from gan_tf.errors import LogFileError
from gan_tf.runs.pickles import load_pickle


def pair(i):
    return (np.float32(i), np.float32(-i))


def loads(path):
    """The list by Python's unpickler (as a notebook loads it) and by gan_tf's, checked equal."""
    with open(path, "rb") as f:
        plain = pickle.load(f)
    assert repr(load_pickle(path)) == repr(plain)
    return plain


@pytest.mark.parametrize("items", [
    [pair(i) for i in range(3)],
    [np.full((2, 28, 28), i, np.float32) for i in range(2)]])
def test_a_pickled_list_grows_by_appends_and_loads_as_one_list(tmp_path, items):
    path = str(tmp_path / "list.pkl")
    pickled = fileio.PickledList(path)
    pickled.rewrite([])
    assert loads(path) == []
    everything = []
    for chunk in (items[:1], [], items[1:], items):
        everything += chunk
        pickled.extend(chunk, lambda: everything)
        assert repr(loads(path)) == repr(everything)


def test_the_bytes_do_not_depend_on_how_the_items_were_appended(tmp_path):
    items = [pair(i) for i in range(7)]
    files = []
    for cuts in ([], [1, 2, 6], [3]):
        path = str(tmp_path / f"{len(files)}.pkl")
        pickled = fileio.PickledList(path)
        pickled.rewrite(items[:cuts[0]] if cuts else items)
        for begin, end in zip(cuts, cuts[1:] + [len(items)]):
            pickled.extend(items[begin:end], lambda: items[:end])
        files.append(open(path, "rb").read())
    assert files[0] == files[1] == files[2]  # a resumed run's file is an uninterrupted one's


def test_an_append_writes_only_the_new_items(tmp_path):
    growth = []
    for length in (10, 2000):
        path = str(tmp_path / f"{length}.pkl")
        pickled = fileio.PickledList(path)
        items = [pair(i) for i in range(length)]
        pickled.rewrite(items)
        before, inode = open(path, "rb").read(), os.stat(path).st_ino
        pickled.extend([pair(1)], lambda: items + [pair(1)])
        after = open(path, "rb").read()
        assert os.stat(path).st_ino == inode  # the same file, not a replacement
        assert after[:len(before) - 1] == before[:-1]  # all but the old STOP left as it was
        assert len(loads(path)) == length + 1
        growth.append(len(after) - len(before))
    assert growth[0] == growth[1]  # an append costs the same however long the list is


def test_a_failure_before_the_new_items_are_joined_leaves_the_old_list(tmp_path, monkeypatch):
    path = str(tmp_path / "list.pkl")
    pickled = fileio.PickledList(path)
    pickled.rewrite([pair(0)])

    def no_space(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", no_space)  # after the new items, before the STOP flips
    with pytest.raises(LogFileError, match="No space left on device"):
        pickled.extend([pair(1)], lambda: [pair(0), pair(1)])
    assert os.path.getsize(path) > len(pickle.dumps([pair(0)], protocol=3))  # items written
    assert loads(path) == [pair(0)]  # ...but not part of the list


@pytest.mark.parametrize("change", ["replaced", "truncated", "removed"])
def test_a_file_changed_behind_its_back_is_rewritten_whole(tmp_path, change):
    path = str(tmp_path / "list.pkl")
    pickled = fileio.PickledList(path)
    pickled.rewrite([pair(0), pair(1)])
    if change == "replaced":
        with open(path + ".new", "wb") as f:
            f.write(pickle.dumps(["someone else's"]))
        os.replace(path + ".new", path)
    elif change == "truncated":
        os.truncate(path, 5)
    else:
        os.remove(path)
    everything = [pair(0), pair(1), pair(2)]
    pickled.extend([pair(2)], lambda: everything)
    assert loads(path) == everything
    pickled.extend([pair(3)], lambda: everything + [pair(3)])  # appends again from there
    assert loads(path) == everything + [pair(3)]


# --- issue 31: JSON nested deeper than Python recurses -----------------------------------

DEEP = "[" * 200_000 + "]" * 200_000


def _read_config(tmp_path):
    from gan_tf import runs
    (tmp_path / "config.json").write_text(DEEP)
    return runs.read_config(str(tmp_path))


def _read_metrics(tmp_path):
    from gan_tf.runs import logs
    (tmp_path / "metrics.jsonl").write_text(DEEP + "\n" + '{"step": 1}\n')
    return logs.read_metrics(str(tmp_path / "metrics.jsonl"))


def _read_sample_steps(tmp_path):
    from gan_tf.runs import logs
    (tmp_path / logs.SAMPLE_STEPS).write_text(DEEP)
    return logs.RunLogs(str(tmp_path))._read_samples()


def _read_name_map(tmp_path):
    from gan_tf.tf1 import checkpoints as tf1_checkpoints
    (tmp_path / "map.json").write_text("{" + '"a":' * 100_000 + "1" + "}" * 100_000)
    return tf1_checkpoints.read_name_map(str(tmp_path / "map.json"))


def _read_classifier_info(tmp_path):
    from gan_tf.evaluation import classifier
    (tmp_path / classifier.INFO_FILE).write_text(DEEP)
    return classifier.read_info(str(tmp_path))


def _read_tf_config(tmp_path, monkeypatch):
    from gan_tf.training import distribute
    monkeypatch.setenv("TF_CONFIG", "[" * 50_000 + "]" * 50_000)
    return distribute._tf_config()


@pytest.mark.parametrize("reader", [_read_config, _read_metrics, _read_sample_steps,
                                    _read_name_map, _read_classifier_info, _read_tf_config])
def test_json_nested_too_deep_is_one_line_from_every_reader(tmp_path, monkeypatch, reader):
    import inspect
    args = (tmp_path, monkeypatch)[:len(inspect.signature(reader).parameters)]
    with pytest.raises(Exception) as error:
        reader(*args)
    assert not isinstance(error.value, RecursionError)
    assert type(error.value).__module__ == "gan_tf.errors", repr(error.value)[:300]
    assert "\n" not in str(error.value) and len(str(error.value)) < 1000


def test_appends_never_follow_a_link_planted_mid_run(tmp_path):
    """Issue 25 (4): a link put in place of a log file while a run writes."""
    from gan_tf.runs import logs
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    run_logs = logs.RunLogs(str(tmp_path))
    run_logs.resume(0)
    run_logs.extend([{"step": 1, "d_loss": 1.0, "g_loss": 2.0}])
    for name in (logs.LOSSES, logs.METRICS):
        os.remove(tmp_path / name)
        os.symlink(outside, tmp_path / name)
    with pytest.raises(LogFileError, match="metrics.jsonl"):
        run_logs.extend([{"step": 2, "d_loss": 1.0, "g_loss": 2.0}])
    os.remove(tmp_path / logs.METRICS)
    run_logs.extend([{"step": 3, "d_loss": 1.0, "g_loss": 2.0}])
    assert outside.read_text() == "keep\n"
    assert not os.path.islink(tmp_path / logs.LOSSES)
    assert len(load_pickle(str(tmp_path / logs.LOSSES))) >= 2


@pytest.mark.parametrize("planted", ["file", "link"])
def test_the_write_probe_never_touches_a_file_of_the_probes_name(tmp_path, planted):
    """check_writable probes a folder a user named (--out's, a run's): a file of the user's
    there, or a link to one elsewhere, keeps its bytes whatever the probe is called."""
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes(b"the user's")
    folder = tmp_path / "out"
    folder.mkdir()
    for name in (".write-test", ".write-test.tmp"):  # the names a probe could pick
        if planted == "link":
            os.symlink(outside, folder / name)
        else:
            (folder / name).write_bytes(b"the user's")
    fileio.check_writable(str(folder))
    assert outside.read_bytes() == b"the user's"
    for name in (".write-test", ".write-test.tmp"):
        assert os.path.lexists(folder / name)
        assert (folder / name).read_bytes() == b"the user's"
    assert sorted(os.listdir(folder)) == [".write-test", ".write-test.tmp"]  # no probe left


def test_the_write_probe_raises_where_no_folder_can_be(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_bytes(b"x")
    with pytest.raises(OSError):
        fileio.check_writable(str(a_file / "out"))
    assert a_file.read_bytes() == b"x"


@pytest.mark.parametrize("relative", ["out", "new/deeper", "."])
def test_a_relative_folder_is_taken_from_the_working_directory(tmp_path, monkeypatch, relative):
    monkeypatch.chdir(tmp_path)
    assert fileio.folder_problem(relative) is None
    assert sorted(os.listdir(tmp_path)) == []  # nothing made
    (tmp_path / "a_file").write_text("x")
    assert "is not a folder" in fileio.folder_problem(os.path.join("a_file", relative))


def test_move_tree_replaces_links_and_files_and_keeps_what_they_point_to(tmp_path):
    source, destination, outside = tmp_path / "src", tmp_path / "dst", tmp_path / "outside"
    (source / "sub").mkdir(parents=True)
    (source / "a").write_text("new a")
    (source / "sub" / "b").write_text("new b")
    (source / "c").mkdir()
    (source / "c" / "d").write_text("new d")
    outside.mkdir()
    (outside / "a").write_text("user a")
    destination.mkdir()
    os.symlink(outside / "a", destination / "a")  # a link where a file goes
    os.symlink(outside, destination / "sub")  # a link where a folder goes
    (destination / "c").write_text("a file where a folder goes")
    (destination / "kept").write_text("not in the source")
    fileio.move_tree(str(source), str(destination))
    assert sorted(os.listdir(outside)) == ["a"] and (outside / "a").read_text() == "user a"
    assert (destination / "a").read_text() == "new a" and not os.path.islink(destination / "a")
    assert not os.path.islink(destination / "sub")
    assert (destination / "sub" / "b").read_text() == "new b"
    assert (destination / "c" / "d").read_text() == "new d"
    assert (destination / "kept").read_text() == "not in the source"
    assert sorted(os.listdir(source)) == []


def test_move_tree_refuses_a_folder_where_a_file_goes(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    source.mkdir()
    (source / "a").write_text("new")
    (destination / "a").mkdir(parents=True)
    (destination / "a" / "users").write_text("kept")
    (source / "0_first").write_text("new")  # sorted before the clash: not moved either
    (destination / "0_first").write_text("old")
    with pytest.raises(OSError):
        fileio.move_tree(str(source), str(destination))
    assert (destination / "a" / "users").read_text() == "kept"
    assert (destination / "0_first").read_text() == "old"  # nothing moved before the error


@pytest.mark.parametrize("hard_links", [True, False], ids=["linked", "copied"])
def test_move_tree_without_replace_moves_into_free_names_and_keeps_a_taken_one(
        tmp_path, monkeypatch, hard_links):
    """--export_dir without --overwrite: every name free is filled (by a hard link, or by
    an exclusive copy where the file system has none); a name something else took since
    the start (a file, a link, a folder) is kept, OutputAppeared, the folders moved first."""
    import errno
    if not hard_links:
        def no_link(src, dst):
            raise OSError(errno.EXDEV, "no hard links here")
        monkeypatch.setattr(os, "link", no_link)

    def source_tree():
        source = tmp_path / "src"
        (source / "variables").mkdir(parents=True)
        (source / "variables" / "variables.index").write_text("new index")
        (source / "saved_model.pb").write_text("new model")
        return source
    destination = tmp_path / "dst"
    destination.mkdir()
    fileio.move_tree(str(source_tree()), str(destination), replace=False)
    assert (destination / "saved_model.pb").read_text() == "new model"
    assert (destination / "variables" / "variables.index").read_text() == "new index"
    assert not any(tmp_path.joinpath("src").rglob("*.*"))  # moved, not copied and kept
    for taken in ("file", "link", "folder"):
        destination = tmp_path / f"dst_{taken}"
        destination.mkdir()
        (tmp_path / "target").write_text("the user's")
        if taken == "file":
            (destination / "saved_model.pb").write_text("the user's")
        elif taken == "link":
            os.symlink(tmp_path / "target", destination / "saved_model.pb")
        else:
            (destination / "variables").mkdir()
        source = source_tree()
        with pytest.raises(fileio.OutputAppeared, match="created by something else"):
            fileio.move_tree(str(source), str(destination), replace=False)
        assert (tmp_path / "target").read_text() == "the user's"
        if taken == "folder":
            assert os.listdir(destination / "variables") == []  # kept as it was
            assert not (destination / "saved_model.pb").exists()  # nothing after it
        else:
            assert (destination / "saved_model.pb").read_text() == "the user's"
            assert (destination / "variables" / "variables.index").read_text() == "new index"
        import shutil
        shutil.rmtree(source)


@pytest.mark.parametrize("appeared", ["file", "link"])
def test_a_write_that_may_not_replace_keeps_what_appeared_at_its_name(tmp_path, appeared):
    """An output checked free at a command's start and created by something else before the
    command wrote it: kept (a link's target too), and the command's bytes not written."""
    path, target = tmp_path / "out.npy", tmp_path / "target"
    target.write_bytes(b"the user's")
    if appeared == "file":
        path.write_bytes(b"the user's")
    else:
        os.symlink(target, path)
    with pytest.raises(fileio.OutputAppeared, match="--overwrite") as error:
        fileio.atomic_write(str(path), b"new", replace=False)
    assert "\n" not in str(error.value)
    assert path.read_bytes() == target.read_bytes() == b"the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy", "target"]  # no temp left
    fileio.atomic_write(str(path), b"new")  # replace=True (--overwrite): replaced, not through
    assert path.read_bytes() == b"new" and target.read_bytes() == b"the user's"


def test_a_write_that_may_not_replace_publishes_a_free_name_whole(tmp_path, monkeypatch):
    fileio.atomic_write(str(tmp_path / "a"), b"first", replace=False)
    assert (tmp_path / "a").read_bytes() == b"first"

    def no_links(source, destination):  # a file system without hard links
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    fileio.atomic_write(str(tmp_path / "b"), b"second", replace=False)
    assert (tmp_path / "b").read_bytes() == b"second"
    with pytest.raises(fileio.OutputAppeared):
        fileio.atomic_write(str(tmp_path / "b"), b"third", replace=False)
    assert (tmp_path / "b").read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def _readers():
    from gan_tf.applications import anomaly
    from gan_tf.data import files
    from gan_tf.runs import logs
    return {"losses pickle": logs.load_losses, "images .npy": anomaly.load_images,
            "mnist.npz": files.load_npz, "IDX": files.read_idx}


@pytest.mark.parametrize("reader", ["losses pickle", "images .npy", "mnist.npz", "IDX"])
@pytest.mark.parametrize("kind", ["pipe", "endless device"])
def test_an_input_that_is_no_regular_file_is_one_error_without_hanging(tmp_path, reader, kind):
    """A named pipe blocks an open() for reading until a writer comes; /dev/zero never
    ends a read(): both are refused as not regular files, promptly."""
    import signal

    class Hung(BaseException):
        pass

    def stuck(*_):
        raise Hung(f"{reader} hung on a {kind}")
    path = str(tmp_path / "input")
    if kind == "pipe":
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(10)
    try:
        with pytest.raises(Exception, match="not a regular file") as error:
            _readers()[reader](path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert type(error.value).__module__.startswith("gan_tf"), type(error.value)
    assert "\n" not in str(error.value)


def test_an_exclusive_create_that_fails_leaves_no_half_file(tmp_path, monkeypatch):
    """Without hard links the bytes go into a file created with O_EXCL: if writing them
    fails (a full disk), that file goes too, and the name stays free."""
    def no_links(source, destination):
        raise PermissionError(1, "Operation not permitted")
    real_fsync = os.fsync
    calls = []

    def fsync_fails_the_second_time(fd):  # the temporary file's passes, the copy's fails
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)
    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(os, "fsync", fsync_fails_the_second_time)
    with pytest.raises(LogFileError, match="No space left"):
        fileio.atomic_write(str(tmp_path / "out"), b"data", replace=False)
    assert os.listdir(tmp_path) == []
