"""Writing files safely: whole files replaced atomically, and a check that a directory
can be written before any long work needs it."""
import os
import tempfile

from gan_tf.errors import LogFileError

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path, data):
    """Writes bytes to `path` via a temporary file in the same directory and a rename,
    so that `path` always holds either its old or its new contents."""
    try:
        _atomic_write(path, data)
    except OSError as e:
        raise LogFileError(f"cannot write {path}: {e.strerror or e}") from None


def _atomic_write(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would surprise users
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_writable(directory):
    """Creates `directory` if it is missing and writes and removes a probe file in it:
    OSError now if files cannot be written there later."""
    probe = os.path.join(directory, ".write-test")
    os.makedirs(directory, exist_ok=True)
    with open(probe, "wb"):
        pass
    os.remove(probe)
