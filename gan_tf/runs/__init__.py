"""Run directories: what training writes there, the refusals, and restoring from one.

A run directory holds config.json (the TrainConfig), checkpoints/ (the latest
step of both networks and optimizers) and the logs of gan_tf.runs.logs.
"""
import dataclasses
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import socket
import stat
import sys
import warnings

from gan_tf.config import TrainConfig, run_defining_differences
from gan_tf.config_checks import COMPUTE_DTYPES, MAX_THREADS
from gan_tf.errors import LogFileError, NotARun, RunError
from gan_tf import fileio
from gan_tf.runs import logs as logs_lib
from gan_tf.runs.checkpoints import BEST_FILE, CHECKPOINT_FILE, latest_checkpoint  # noqa: F401
from gan_tf.runs.pickles import one_line

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
SAMPLE_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
LOSS_PLOT = "losses.png"
EVAL_FILE = "eval.json"
PROGRESS_GIF = "progress.gif"
# What --overwrite (and a failed start) removes from a run directory: only the files
# training writes there, and in its folders only the files of training's own names.
RUN_FILES = (CONFIG_FILE, LOSS_PLOT, EVAL_FILE, PROGRESS_GIF, logs_lib.LOSSES, logs_lib.SAMPLES,
             logs_lib.SAMPLE_STEPS, logs_lib.METRICS)
STAGING_FOLDER = r"\.staging-[a-z0-9_]{8}"  # fileio.staged's tempfile.mkdtemp folder
RUN_FOLDER_FILES = {SAMPLE_DIR: r"step_\d{7,}\.png",
                    CHECKPOINT_DIR: r"checkpoint|" + CHECKPOINT_FILE.pattern + "|"
                                    + BEST_FILE.pattern,
                    TENSORBOARD_DIR: r"events\.out\.tfevents\..*"}
# Resumable settings only a new run reads: refused if they change on resume.
NEW_RUNS_ONLY = ("init_from_tf1_checkpoint", "tf1_name_map")
RUN_MARKER, RUN_FORMAT = "gan_tf_run", 8  # config.json's mark of a gan_tf run, and its format
# Options an older reader would drop without a word (it skips the keys it does not know, so
# it would resume a rotation run as a plain GAN): a run that sets one is written in the
# format that reader refuses; other runs stay format 1, readable by gan_tf 0.3.3 too.
FORMAT_OPTIONS = {2: ("rotation_weight", "g_rotation_weight"),  # gan_tf 0.3.4
                  3: ("mode_seeking_weight",),  # gan_tf 0.3.10
                  4: ("mode_seeking_cap", "latent_continuous"),  # gan_tf 0.3.11
                  6: ("code_prior",),  # gan_tf 0.3.19
                  7: ("coverage_weight",),  # gan_tf 0.3.21
                  8: ("coverage_pool",)}  # gan_tf 0.3.22
# and the values of older options that older readers would refuse as damaged.
FORMAT_VALUES = {5: (("mixed_precision", "native"),)}  # gan_tf 0.3.13
DATA_KEY = "data"  # config.json's record of the data the run trains on
COMPUTE_DTYPE_KEY = "compute_dtype"  # and of the type it computes in (--mixed_precision)
THREADS_KEY = "threads_per_op"  # and of the threads per op it ran with (--intra_op_threads)
MAX_CONFIG_BYTES = 1 << 20  # a gan_tf config.json is a few KB; a larger file is not one

log = logging.getLogger(__name__)


class RunDirectory:
    """A run's directory for the life of the run: checked before any long work, locked
    against a second run, and left as it was found if a new run fails before its
    first checkpoint and first log record (after a log record, the logs stay).

    `with RunDirectory(config) as run:` refuses (RunError) a directory that another
    process is training in, that holds files but no gan_tf run, that holds a run with
    a different configuration (unless --overwrite), whose configuration is damaged or
    unreadable, whose checkpoints are all incomplete, or where a file or folder of a
    run's names is a link (gan_tf never writes or deletes through one). `run.path` is
    the directory and `run.latest` its newest complete checkpoint (None: the run starts
    at step 0). Nothing is written or removed until `run.claim()`, called once every
    check that can refuse the run has passed: only then does --overwrite remove the
    old run's files (and only those). A worker that is not the chief of a cluster
    neither checks nor locks (the chief does).
    """

    def __init__(self, config, chief=True):
        self.config, self.chief = config, chief
        self.path = config.run_dir
        self.latest, self.fresh, self._created, self._lock = None, False, False, None
        self.claimed, self.data_record = False, None
        self.recorded = None  # the configuration config.json held (None: a new run)
        # What a run resuming from a checkpoint computed in (recorded_precision; None for a
        # run that starts from step 0); the loop sets `compute_dtype` to the type chosen.
        self.recorded_compute_dtype, self.compute_dtype = None, None
        # And the threads per op it ran with (read_threads_per_op), and those it runs with.
        self.recorded_threads, self.threads_per_op = None, None

    def __enter__(self):
        if not self.chief:  # the chief's checkpoints, on the shared file system
            self.latest = latest_checkpoint(os.path.join(self.path, CHECKPOINT_DIR), quiet=True)
            self._read_resume_records()
            return self
        try:
            self._open()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _open(self):
        path, config = self.path, self.config
        if os.path.exists(path) and not os.path.isdir(path):
            raise RunError(f"--output_dir={path} exists and is not a directory")
        try:
            if not os.path.isdir(path):
                os.makedirs(path)
                self._created = True
            self._lock = RunLock(path)
        except OSError as e:
            raise RunError(f"--output_dir={path} cannot be written: {e.strerror or e}") from None
        check_run_paths(path)
        old = _stored_run(path)
        if old is None:
            in_the_way = sorted(n for n in os.listdir(path) if n != LOCK_FILE)
            if in_the_way and holds_run_files(path):  # a run's, whose config.json is gone
                raise RunError(f"--output_dir={path} holds a gan_tf run's checkpoints or logs "
                               f"but no {CONFIG_FILE}; put its {CONFIG_FILE} back to resume it, "
                               "or use another --output_dir")
            if in_the_way and not config.overwrite:
                shown = ", ".join(in_the_way[:5]) + (f" and {len(in_the_way) - 5} more"
                                                     if len(in_the_way) > 5 else "")
                raise RunError(f"--output_dir={path} is not a gan_tf run but holds files "
                               f"({shown}); use another --output_dir, or --overwrite to "
                               "write the run there (replacing files of gan_tf's names)")
        elif not config.overwrite:
            diffs = run_defining_differences(old, config)
            if diffs:
                raise RunError(f"--output_dir={path} holds a run with a different configuration "
                               f"({'; '.join(diffs)}); use another --output_dir, or --overwrite "
                               "to replace that run")
        # --overwrite: the old run's checkpoints go at claim(), so none is resumed.
        self.latest = None if config.overwrite else latest_checkpoint(
            os.path.join(path, CHECKPOINT_DIR))
        # A run with no checkpoint (one that failed, or was killed, before its first) starts
        # again from step 0: a new run, which records its own configuration and choices.
        self.fresh = config.overwrite or old is None or not self.latest
        self.recorded = None if self.fresh else old
        self._read_resume_records()
        if self.latest and old is not None:  # a warm start applies to a new run only
            for name in NEW_RUNS_ONLY:
                given = getattr(config, name)
                if given is not None and given != getattr(old, name):
                    raise RunError(f"--{name}={given} applies to new runs only: "
                                   f"--output_dir={path} resumes from "
                                   f"{os.path.basename(self.latest)}; leave it out, or use "
                                   "another --output_dir")

    @property
    def resumes(self):
        """Whether the run goes on from a checkpoint (else it starts at step 0)."""
        return bool(self.latest) and not self.config.overwrite

    def _read_resume_records(self):
        """A run that resumes from a checkpoint goes on in the type it computed in and with
        the threads per op it ran with: config.json's records of both."""
        if self.resumes:
            self.recorded_compute_dtype = recorded_precision(self.path)
            self.recorded_threads = read_threads_per_op(self.path)

    def check_data(self, record):
        """Refuses (RunError) to resume on data other than the run's (`record`, from
        gan_tf.data.Data.record, against the one config.json holds), unless
        --allow_data_change; a run from before the record gets it now."""
        self.data_record = record
        if not self.chief or self.fresh:
            return
        old = read_data_record(self.path)
        if old is None or old == record:
            return
        change = "; ".join(f"{key} {old.get(key)!r} -> {record[key]!r}" for key in record
                           if old.get(key) != record[key])
        if not self.config.allow_data_change:
            raise RunError(f"--output_dir={self.path} trained on other data ({change}); "
                           "resuming would mix two datasets in one run: point --data_dir at "
                           "the run's data, or pass --allow_data_change to go on with this data")
        log.warning("Resuming on other data (%s), as --allow_data_change asks.", change)

    def config_to_record(self):
        """The configuration config.json keeps for this run: a resumed run's warm start
        (--init_from_tf1_checkpoint, --tf1_name_map) stays the one it started from."""
        if self.recorded is None:
            return self.config
        return dataclasses.replace(
            self.config, init_from_tf1_checkpoint=self.recorded.init_from_tf1_checkpoint,
            tf1_name_map=self.recorded.tf1_name_map)

    def claim(self):
        """Takes the directory for this run, once every check that can refuse it has
        passed: --overwrite removes the old run's files now, and a fresh run's
        config.json marks the directory as this run's."""
        self.claimed = True
        if not self.chief:
            return
        try:
            if self.config.overwrite:
                remove_run_outputs(self.path)
            os.makedirs(os.path.join(self.path, SAMPLE_DIR), exist_ok=True)
            if self.fresh:  # from now on the directory is recognised as this run's
                write_config(self.config, self.data_record, self.compute_dtype,
                             self.threads_per_op)
        except (OSError, LogFileError) as e:
            raise RunError(f"--output_dir={self.path} cannot be written: "
                           f"{getattr(e, 'strerror', None) or e}") from None

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None and self.chief and self.claimed and self.fresh \
                    and latest_checkpoint(os.path.join(self.path, CHECKPOINT_DIR),
                                          quiet=True) is None:
                if _logged_any_step(self.path):  # what shows why it failed: kept
                    log.warning("No checkpoint was written before the run failed; the logs "
                                "of its steps are kept in %s. The same command starts it "
                                "again from step 0; other flags (a lower learning rate) need "
                                "--overwrite, which replaces these logs, or another "
                                "--output_dir.", self.path)
                else:
                    remove_run_outputs(self.path)  # a failed start leaves no trace
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            if self._created and exc_type is not None:
                try:
                    os.rmdir(self.path)  # only if empty: nothing of anyone else's is removed
                except OSError:
                    pass
        return False


LOCK_FILE = ".gan_tf.lock"


class RunLock:
    """An exclusive lock on a run directory (flock on LOCK_FILE, which names the holder).
    The kernel drops the lock when its process dies, so a killed run's lock is free.
    A LOCK_FILE that is a link (symbolic or hard) or not a regular file is refused: the
    lock writes its holder's name into the file, which must be the run's own."""

    def __init__(self, directory):
        self.path = os.path.join(directory, LOCK_FILE)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise RunError(f"{self.path} is a symbolic link, not gan_tf's lock file; "
                                   "remove it (nothing it points to is touched)") from None
                raise
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                os.close(fd)
                raise RunError(f"{self.path} is not gan_tf's lock file (a "
                               f"{'hard link' if stat.S_ISREG(info.st_mode) else 'special file'}"
                               "); remove it (nothing it is linked to is touched)")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip()
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise RunError(f"--output_dir={directory} is in use by "
                                   f"{holder or 'another process'}; wait for it to end or "
                                   "stop it (a stopped run resumes), or use another "
                                   "--output_dir") from None
                raise RunError(f"cannot lock --output_dir={directory}: {e.strerror}") from None
            try:  # the file may have been removed by a holder releasing it: lock the new one
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode())
        self.fd = fd

    def release(self):
        try:
            os.unlink(self.path)  # while still holding it
        except OSError:
            pass
        os.close(self.fd)


def check_run_paths(run_dir):
    """RunError (one line) if a file or folder of a run's names in `run_dir` is a symbolic
    link (gan_tf writes, appends and deletes there, and never through a link), a run file
    is not a regular file (a named pipe would block its reader forever), or a run folder is
    not a folder that can be read and written."""
    for name in RUN_FILES + tuple(RUN_FOLDER_FILES):
        path = os.path.join(run_dir, name)
        if os.path.islink(path):
            kind = "folder" if name in RUN_FOLDER_FILES else "file"
            raise RunError(f"{path} is a symbolic link (to {os.readlink(path)!r}); gan_tf never "
                           f"writes or deletes through links: make it a {kind} of its own, or "
                           "use another --output_dir")
        if name in RUN_FILES and os.path.lexists(path) and not os.path.isfile(path):
            raise RunError(f"{path} is not a regular file ({_file_kind(path)}) where the run "
                           f"keeps its {name}; move it away, or use another --output_dir")
        if name in RUN_FOLDER_FILES and os.path.lexists(path):
            if not os.path.isdir(path):
                raise RunError(f"{path} is a file where the run keeps its {name} folder; move "
                               "it away, or use another --output_dir")
            try:
                os.listdir(path)
                fileio.check_writable(path)
            except OSError as e:
                raise RunError(f"cannot read and write {path} ({e.strerror or e}); fix its "
                               "permissions, or use another --output_dir") from None


def _file_kind(path):
    """'a named pipe', 'a folder', ... : what the thing at `path` is, for an error."""
    mode = os.lstat(path).st_mode
    for test, kind in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return kind
    return "something else"


def holds_run_files(run_dir):
    """Whether `run_dir` holds files only a gan_tf run writes: checkpoints or metrics."""
    folder = os.path.join(run_dir, CHECKPOINT_DIR)
    return os.path.isfile(os.path.join(run_dir, logs_lib.METRICS)) or (
        os.path.isdir(folder) and any(CHECKPOINT_FILE.fullmatch(n) for n in os.listdir(folder)))


def _logged_any_step(run_dir):
    """Whether the run in `run_dir` has written a log record (its metrics.jsonl is not
    empty): training went on for a while, and its logs are worth keeping."""
    try:
        return os.stat(os.path.join(run_dir, logs_lib.METRICS)).st_size > 0
    except OSError:
        return False


def remove_run_outputs(run_dir):
    """Removes the files a run writes (and its folders, if that empties them); anything
    else, inside those folders too, is left where it is."""
    for name in os.listdir(run_dir):  # also what a killed atomic write left (.tmp-NAME...)
        path = os.path.join(run_dir, name)
        if (name in RUN_FILES or name.startswith(".tmp-") and name[5:].startswith(RUN_FILES)) \
                and (os.path.isfile(path) or os.path.islink(path)):
            os.remove(path)
    for folder, pattern in RUN_FOLDER_FILES.items():
        folder = os.path.join(run_dir, folder)
        if not os.path.isdir(folder) or os.path.islink(folder):  # a link made since the
            continue  # checks (check_run_paths refuses one): its target is not the run's
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if re.fullmatch(pattern, name) and (os.path.isfile(path) or os.path.islink(path)):
                os.remove(path)
            elif (re.fullmatch(STAGING_FOLDER, name) and os.path.isdir(path)
                  and not os.path.islink(path)):  # a save killed half way (fileio.staged)
                shutil.rmtree(path)  # removes links inside, never what they point to
        try:
            os.rmdir(folder)
        except OSError:  # something of the user's is still in it
            pass


def run_format(config):
    """The oldest run format that holds `config`: 1, or that of a newer option or value
    it sets."""
    return max([1] + [version for version, names in FORMAT_OPTIONS.items()
                      if any(getattr(config, n) != getattr(TrainConfig, n) for n in names)]
               + [version for version, values in FORMAT_VALUES.items()
                  if any(getattr(config, n) == v for n, v in values)])


def write_config(config, data_record=None, compute_dtype=None, threads_per_op=None):
    """Records the run's configuration, marked as a gan_tf run of this format, with the
    data it trains on (`data_record`, see gan_tf.data.Data.record), the type it
    computes in (what --mixed_precision chose) and the threads per op it runs with (what
    --intra_op_threads chose, 0 for TensorFlow's default) when known."""
    stored = json.loads(dataclasses.replace(config, overwrite=False,
                                            allow_data_change=False).to_json())
    stored[RUN_MARKER] = run_format(config)
    if data_record is not None:
        stored[DATA_KEY] = data_record
    if compute_dtype is not None:
        stored[COMPUTE_DTYPE_KEY] = compute_dtype
    if threads_per_op is not None:
        stored[THREADS_KEY] = threads_per_op
    fileio.atomic_write(os.path.join(config.run_dir, CONFIG_FILE),
                        json.dumps(stored, indent=2, sort_keys=True).encode("utf-8"))


def _recorded_value(run_dir, key):
    """config.json's entry `key` (None where it is missing or the file is unreadable or not
    a JSON object: read_config says what is wrong with such a file)."""
    try:
        raw = _config_bytes(os.path.join(run_dir, CONFIG_FILE))
        values = fileio.loads_json(raw.decode("utf-8"))
    except (OSError, ValueError, NotARun):
        return None
    return values.get(key) if isinstance(values, dict) else None


def read_data_record(run_dir):
    """The record of the data a run trained on, from its config.json (None: a run from
    before the record, or a record that is not a JSON object)."""
    record = _recorded_value(run_dir, DATA_KEY)
    return record if isinstance(record, dict) else None


def read_compute_dtype(run_dir):
    """The type a run computes in, as its config.json records it (None: a run from before
    the record); RunError if the record is not one of COMPUTE_DTYPES."""
    value = _recorded_value(run_dir, COMPUTE_DTYPE_KEY)
    if value is not None and value not in COMPUTE_DTYPES:
        raise RunError(f"{os.path.join(run_dir, CONFIG_FILE)} is a damaged gan_tf run "
                       f"configuration ({COMPUTE_DTYPE_KEY} {value!r} is not one of "
                       f"{', '.join(COMPUTE_DTYPES)}); {_REPAIR}")
    return value


def read_threads_per_op(run_dir):
    """The threads per op a run last ran with, as its config.json records it (0: TensorFlow's
    default; None: a run from before the record, gan_tf 0.3.11 and older); RunError if the
    record is not a whole number from 0 to MAX_THREADS."""
    value = _recorded_value(run_dir, THREADS_KEY)
    if value is not None and (type(value) is not int or not 0 <= value <= MAX_THREADS):
        raise RunError(f"{os.path.join(run_dir, CONFIG_FILE)} is a damaged gan_tf run "
                       f"configuration ({THREADS_KEY} {value!r} is not a whole number from 0 "
                       f"to {MAX_THREADS}); {_REPAIR}")
    return value


def threads_to_resume(config):
    """(resumes, recorded threads per op) of the run `config` would start in its
    directory, read before TensorFlow starts (its threads per op are set first): resumes
    is whether a gan_tf run there would go on from a checkpoint (False also for
    --overwrite, or where the directory will be refused), recorded what read_threads_per_op
    gives. Only reads (nothing is written, and nothing through a link), without the run's
    lock: RunDirectory reads both again under it."""
    path = config.run_dir
    if config.overwrite or not os.path.isdir(path):
        return False, None
    if any(os.path.islink(os.path.join(path, name)) for name in (CONFIG_FILE, CHECKPOINT_DIR)):
        return False, None  # never read through a link (RunDirectory refuses it)
    try:
        read_config(path)  # a gan_tf run's config.json, or nothing to resume
        if not latest_checkpoint(os.path.join(path, CHECKPOINT_DIR), quiet=True):
            return False, None
    except (RunError, NotARun, OSError):
        return False, None  # RunDirectory refuses the directory, saying why
    return True, read_threads_per_op(path)


def recorded_precision(run_dir):
    """What a run computed in: config.json's compute_dtype, or for a run written before
    that record (gan_tf 0.3.2 and older) its --mixed_precision, "off" or "on", which
    gan_tf.training.precision.resolve turns into the type it computed in."""
    dtype = read_compute_dtype(run_dir)
    if dtype is not None:
        return dtype
    try:
        return read_config(run_dir).mixed_precision
    except (RunError, NotARun):
        return None


# How to mend a damaged config.json: never --overwrite, which would remove the run.
_REPAIR = ("repair it by hand (python -m json.tool config.json points at a syntax error) or "
           "restore it from a copy to use the run; its checkpoints and logs are untouched")

# config.json of a run written before the marker: TrainConfig fields, these among them.
_LEGACY_REQUIRED = frozenset({"model", "dataset", "batch_size", "z_dim", "g_learning_rate",
                              "d_learning_rate", "label_smoothing", "seed"})


def _stored_run(run_dir):
    """The TrainConfig of the gan_tf run in `run_dir`, or None if there is none (no
    config.json, or one that gan_tf did not write); RunError if it is gan_tf's but damaged."""
    try:
        return read_config(run_dir)
    except NotARun:
        return None


def _config_bytes(path):
    """The bytes of config.json at `path`: NotARun for a file that is not a regular one or
    is larger than MAX_CONFIG_BYTES (fileio.read_small). The error's `why` says which."""
    try:
        return fileio.read_small(path, MAX_CONFIG_BYTES)
    except fileio.NotSmallFile as e:
        why = e.why if e.why == "not a regular file" else f"{e.why}; gan_tf writes a few KB"
        raise _not_a_config(path, why) from None


def _not_a_config(path, why):
    error = NotARun(f"{path} is not a gan_tf run configuration ({why})")
    error.why = why
    return error


def read_config(run_dir):
    """The TrainConfig stored in a run directory (a JSON object marked as gan_tf's, or an
    unmarked one from before the marker with TrainConfig's fields and only those)."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.lexists(path):
        raise NotARun(f"{run_dir} is not a gan_tf run directory (no {CONFIG_FILE})")
    try:
        raw = _config_bytes(path)
    except NotARun as e:
        if holds_run_files(run_dir):  # a run's config.json, replaced or grown: not a new run
            raise RunError(f"{path} is a damaged gan_tf run configuration ({e.why}); "
                           f"{_REPAIR}") from None
        raise
    except OSError as e:
        raise RunError(f"cannot read {path} ({e.strerror or e}), the run's configuration: "
                       "make it readable to use the run, or use another --output_dir") from None
    try:
        values = fileio.loads_json(raw.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError is a ValueError
        if RUN_MARKER.encode() in raw or holds_run_files(run_dir):
            raise RunError(f"{path} is a damaged gan_tf run configuration ({one_line(e)}); "
                           f"{_REPAIR}") from None
        raise NotARun(f"{path} is not a gan_tf run configuration ({one_line(e)})") from None
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    if not isinstance(values, dict) or (RUN_MARKER not in values and not (
            _LEGACY_REQUIRED <= values.keys() <= known)):
        raise NotARun(f"{path} is not a gan_tf run configuration")
    version = values.pop(RUN_MARKER, RUN_FORMAT)
    if not isinstance(version, int) or version > RUN_FORMAT:
        raise RunError(f"{path} was written by a newer gan_tf (run format {version!r}); "
                       "upgrade gan_tf to continue this run")
    try:
        return TrainConfig(**{name: value for name, value in values.items()
                              if name in known}).validate()
    except (ValueError, TypeError) as e:
        raise RunError(f"{path} is a damaged gan_tf run configuration ({one_line(e)}); "
                       f"{_REPAIR}") from None


def data_dir_of(run_dir, config, given):
    """Where a tool reads a run's dataset from: `given` (its own --data_dir), else the
    directory the run's config.json records, said in a log line, as a file chose it."""
    if given or not config.data_dir:
        return given
    log.info("Reading the %s data from --data_dir=%s, as %s records; pass --data_dir to read "
             "it from elsewhere.", config.dataset, config.data_dir,
             os.path.join(run_dir, CONFIG_FILE))
    return config.data_dir


def lock_holder(run_dir):
    """Who trains in `run_dir` now (the lock file's text), or None when nobody does. Takes
    a shared lock for an instant, never creates the lock file, never follows a link."""
    try:
        fd = os.open(os.path.join(run_dir, LOCK_FILE), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
    finally:
        os.close(fd)  # drops the shared lock if it was taken
    return None


def _writer_note(run_dir):
    holder = lock_holder(run_dir)
    return (f" (a training run, {holder}, is writing in {run_dir} now: its checkpoints "
            "change under a reader; retry, or wait for it to end)" if holder else "")


def __getattr__(name):
    """runs.restore_models, gan_tf 0.2's path of gan_tf.runs.restore.restore_models (it
    imports TensorFlow, which the rest of gan_tf.runs does not need), until 0.4."""
    if name != "restore_models":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn("gan_tf.runs.restore_models moved to gan_tf.runs.restore.restore_models in "
                  "gan_tf 0.3; the old path goes in 0.4", DeprecationWarning, stacklevel=2)
    from gan_tf.runs.restore import restore_models
    return restore_models
