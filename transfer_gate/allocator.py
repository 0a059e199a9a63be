"""The C allocator under a long-running worker: big answers must not leave it twice its size.

A batch answer is megabytes of text (10 MB for 1,000 decisions). glibc hands such buffers out
from the heap once the first of them has been freed (its mmap threshold rises to their size),
keeps freed memory in the heap of the thread that used it — each thread of a threaded worker
has its own — and gives little back. Measured with bench/memory.py: after 20 batch calls of
1,000 a worker stayed at twice its fresh size. Two settings keep it near its fresh size: large
buffers always in pages of their own, returned when freed (`keep_large_buffers_apart`, once,
before the workers fork), and the free pages of every heap handed back after a big answer has
been sent (`give_back_free_memory`). Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes

# Buffers from this size on get pages of their own (glibc's M_MMAP_THRESHOLD, fixed rather than
# rising with the largest buffer freed so far).
LARGE_BUFFER = 256 * 1024
_M_MMAP_THRESHOLD = -3  # malloc.h

try:
    _libc = ctypes.CDLL(None)
    _mallopt, _malloc_trim = _libc.mallopt, _libc.malloc_trim  # glibc only
except (OSError, AttributeError):
    _mallopt = _malloc_trim = None


def keep_large_buffers_apart() -> bool:
    """Have large buffers mapped apart and unmapped when freed; return whether the allocator took it."""
    return bool(_mallopt and _mallopt(_M_MMAP_THRESHOLD, LARGE_BUFFER))


def give_back_free_memory() -> None:
    """Return the free pages of every heap to the system (a few milliseconds; ctypes releases the GIL)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
