"""Writing files safely: whole files replaced atomically, pickled lists that grow by
appends readers never see half done, and a check that a directory can be written
before any long work needs it."""
import contextlib
import errno
import io
import json
import os
import pickle
import shutil
import stat
import tempfile

from gan_tf.errors import LogFileError

_UMASK = os.umask(0)
os.umask(_UMASK)


class OutputAppeared(LogFileError):
    """An output that did not exist when a command checked its outputs was created by
    something else before the command wrote it: kept, and the output not written."""


def atomic_write(path, data, replace=True):
    """Writes bytes to `path` via a temporary file in the same directory and a rename,
    so that `path` always holds either its old or its new contents. With `replace`
    false, a file (or link) that appeared at `path` since the caller checked it was free
    is kept: OutputAppeared, and nothing written (the new file is published by a hard
    link, which fails where a name exists, instead of a rename, which replaces it)."""
    try:
        _atomic_write(path, data, replace)
    except FileExistsError:
        if replace:
            raise
        raise OutputAppeared(f"{path} was created by something else while this command ran; "
                             "it is kept and this output was not written (pass --overwrite "
                             "to replace it)") from None
    except OSError as e:
        raise LogFileError(f"cannot write {path}: {e.strerror or e}") from None


def _atomic_write(path, data, replace=True):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would surprise users
        if replace:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path, data)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# What os.link raises where a file system cannot make the hard link (not: the name exists).
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV,
             errno.ENOSYS)


def _publish_new(tmp, path, data):
    """Gives the finished file `tmp` (holding `data`) the name `path` only if no file or
    link holds it: FileExistsError otherwise. A hard link does that atomically; where the
    file system has none, `data` goes into a file created exclusively (O_EXCL)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:  # ours since O_EXCL made it: no half-written file stays at the name
        os.unlink(path)
        raise


def loads_json(text):
    """json.loads of text from a file or the environment: JSON nested deeper than Python
    recurses is a ValueError like any other bad JSON (json raises RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def no_follow(path, flags):
    """An `opener` for open(): never through a symbolic link (ELOOP instead)."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o666)


def check_writable(directory):
    """Creates `directory` if it is missing and writes and removes a probe file in it:
    OSError now if files cannot be written there later. The probe is a new file of a
    name no one holds (O_EXCL), so a file or link of the user's there is never touched."""
    os.makedirs(directory, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=directory, prefix=".write-test-")
    os.close(fd)
    os.remove(probe)


def move_tree(source, destination, replace=True):
    """Moves the files under folder `source` into folder `destination`, each by a rename
    that replaces what held its name: a link there is replaced, never written through
    (tf.saved_model.save opens variables/variables.index through one), and a link or
    file where a folder goes is replaced by a new folder. Both must be on one file system
    (a staging folder made inside `destination` is). OSError, before anything is moved, if
    a name is a real folder where a file goes (the destination is then left as it was).

    With `replace` false (a command without --overwrite, which found the names free when
    it started) nothing is replaced: each file is published by a hard link and each
    folder made new, and a name that something else created meanwhile is kept:
    OutputAppeared, with what was moved before it left in place."""
    if replace:
        clash = _folder_where_a_file_goes(source, destination)
        if clash:
            raise IsADirectoryError(errno.EISDIR, "a folder where a file goes", clash)
    try:
        _move_tree(source, destination, replace)
    except FileExistsError as e:
        if replace:
            raise
        raise OutputAppeared(f"{e.filename} was created by something else while this command "
                             "ran; it is kept and the output there is incomplete (pass "
                             "--overwrite to replace it)") from None


def _folder_where_a_file_goes(source, destination):
    """The first destination path that is a real folder where `source` has a file, or None."""
    for name in sorted(os.listdir(source)):
        src, dst = os.path.join(source, name), os.path.join(destination, name)
        if os.path.isdir(src) and not os.path.islink(src):
            if os.path.isdir(dst) and not os.path.islink(dst):
                clash = _folder_where_a_file_goes(src, dst)
                if clash:
                    return clash
        elif os.path.isdir(dst) and not os.path.islink(dst):
            return dst
    return None


def _move_tree(source, destination, replace=True):
    names = sorted(os.listdir(source))
    if not replace:  # folders first: a refusal at a file leaves no loadable half (a
        names.sort(key=lambda n: not _real_folder(os.path.join(source, n)))  # saved_model.pb)
    for name in names:
        src, dst = os.path.join(source, name), os.path.join(destination, name)
        if _real_folder(src):
            if not replace:
                os.mkdir(dst)  # FileExistsError where anything holds the name
                if os.path.islink(dst):  # swapped for a link since
                    raise OSError(errno.EEXIST, "became a link while being written", dst)
            else:
                if os.path.lexists(dst) and (os.path.islink(dst) or not os.path.isdir(dst)):
                    os.unlink(dst)
                os.makedirs(dst, exist_ok=True)
                if os.path.islink(dst):  # made by another process since the unlink
                    raise OSError(errno.EEXIST, "became a link while being written", dst)
            _move_tree(src, dst, replace)
            os.rmdir(src)
        elif replace:
            os.replace(src, dst)
        else:
            _link_new(src, dst)


def _real_folder(path):
    return os.path.isdir(path) and not os.path.islink(path)


def _link_new(src, dst):
    """Gives the file `src` the new name `dst` (FileExistsError if anything holds it): by a
    hard link, or where the file system has none by a copy into a file created
    exclusively (O_EXCL); then `src` is removed."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "exists", dst) from None
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
                shutil.copyfileobj(f, out)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:  # ours since O_EXCL made it: no half-written file stays
            os.unlink(dst)
            raise
    os.unlink(src)


@contextlib.contextmanager
def staged(directory, replace=True):
    """A new staging folder inside `directory` (made if missing) for a writer that follows
    links at the names it writes (TensorFlow's checkpoint and SavedModel writers open
    NAME.index through a link); what the block wrote there is moved into `directory` by
    move_tree (with `replace`) when it ends without an error. The staging folder is
    removed either way."""
    os.makedirs(directory, exist_ok=True)
    staging = tempfile.mkdtemp(dir=directory, prefix=".staging-")
    try:
        yield staging
        move_tree(staging, directory, replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # our own mkdtemp folder


class NotSmallFile(ValueError):
    """A file read_small refuses: `why` says what it is instead ("not a regular file",
    or its size in bytes)."""

    def __init__(self, why):
        super().__init__(why)
        self.why = why


def open_regular(path):
    """The file at `path` opened for reading bytes, if it is a regular file: NotSmallFile
    ("not a regular file") for a named pipe (a plain open() would block until a writer
    comes), a device (/dev/zero never ends a read) or a folder. OSError if it cannot be
    opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # returns at once on a pipe
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotSmallFile("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_small(path, limit):
    """The bytes of the small file at `path` (a JSON record, an index): NotSmallFile for
    one that is not a regular file (a named pipe would block the read forever, a device
    never end it; neither is read) or that holds more than `limit` bytes (read no
    further): its size bounds what reading it costs. OSError if it cannot be opened."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise NotSmallFile(f"{size:,} bytes")
        chunks, size = [], 0
        while size <= limit:
            chunk = f.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > limit:  # it grew since fstat
        raise NotSmallFile(f"over {limit:,} bytes")
    return b"".join(chunks)


def folder_problem(folder):
    """Why files could not be written in `folder` later, or None: it exists and a probe
    file can be made there, or it is missing and its nearest existing ancestor is a
    writable folder (it can be made). Creates nothing that stays. A relative `folder` is
    taken from the working directory."""
    folder = existing = os.path.abspath(folder)
    while not os.path.lexists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is not a folder"
    if existing == folder:
        try:
            check_writable(folder)  # a probe file: what a real write would meet
            return None
        except OSError as e:
            return e.strerror or str(e)
    if os.access(existing, os.W_OK | os.X_OK):
        return None
    return f"{existing} is not writable"


# A pickled list as protocol 3 opcodes: PROTO 3, EMPTY_LIST, then each item followed by
# APPEND, then STOP; the same bytes however the items were appended. Python's unpickler
# stops at the first STOP and ignores what follows.
_EMPTY_LIST, _APPEND, _STOP = b"\x80\x03]", b"a", b"."


def _pickled_items(items):
    """Each item's opcodes and APPEND, without the memo (so that pieces pickled at
    different times can be joined), PROTO and STOP."""
    out = []
    for item in items:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=3)
        pickler.fast = True  # no memo: no references to objects of earlier pieces
        pickler.dump(item)
        out.append(buf.getvalue()[2:-1] + _APPEND)
    return b"".join(out)


class PickledList:
    """A file holding one pickled list (`pickle.load` gives the list) that grows by
    appends costing only the new items, however long the list already is; its bytes
    are the same however the items came (in one write or many).

    An append writes the new items' opcodes, all but their first byte, after the
    file's STOP, fsyncs, then overwrites that STOP with the first byte: a reader, or the
    file after a crash, has either the old list (the bytes after its STOP ignored) or
    the new one, never half of it."""

    def __init__(self, path):
        self.path = path
        self._stop = None  # offset of the STOP this object wrote last
        self._file_id = None

    def rewrite(self, items):
        """Replaces the file, atomically, by the list `items`."""
        data = _EMPTY_LIST + _pickled_items(items) + _STOP
        atomic_write(self.path, data)
        stat = os.stat(self.path)
        self._stop, self._file_id = len(data) - 1, (stat.st_dev, stat.st_ino)

    def extend(self, new_items, all_items):
        """Appends `new_items`, the last items of the list `all_items()`; rewrites the whole
        file instead when it is not the one this object last wrote."""
        if not new_items:
            return
        tail = _pickled_items(new_items) + _STOP
        try:
            with open(self.path, "r+b", opener=no_follow) as f:  # a link: ELOOP, rewritten
                if not self._is_as_written(f):
                    raise FileNotFoundError
                f.seek(self._stop + 1)
                f.write(tail[1:])
                f.flush()
                os.fsync(f.fileno())
                f.seek(self._stop)
                f.write(tail[:1])  # the new items are in the list from here on
                f.flush()
                os.fsync(f.fileno())
            self._stop += len(tail) - 1
        except FileNotFoundError:
            self.rewrite(all_items())
        except OSError as e:
            if e.errno == errno.ELOOP:  # replaced by a link: the link is replaced, not followed
                self.rewrite(all_items())
                return
            raise LogFileError(f"cannot write {self.path}: {e.strerror or e}") from None

    def _is_as_written(self, f):
        if self._stop is None:
            return False
        stat = os.fstat(f.fileno())
        if (stat.st_dev, stat.st_ino) != self._file_id or stat.st_size != self._stop + 1:
            return False
        f.seek(self._stop)
        return f.read(1) == _STOP
