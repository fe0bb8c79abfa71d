"""The machine's memory, and refusing work that would need more of it than it has,
before the work starts (an out-of-memory kill loses everything since the last save)."""
import os

SHARE = 0.75  # of the machine's memory one request may need


def machine_bytes():
    """The machine's physical memory in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: no cap
        return None


def gigabytes(n):
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def check_memory(needed, what, error):
    """Raises `error` (an exception class) when `needed` bytes exceed SHARE of the
    machine's memory, saying `what` would need them."""
    total = machine_bytes()
    if total is not None and needed > SHARE * total:
        raise error(f"{what} would need about {gigabytes(needed)} of memory; this machine "
                    f"has {gigabytes(total)}")
