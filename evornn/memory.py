"""How much memory this machine has free, and a refusal for work that cannot fit in it."""
from __future__ import annotations

import os

GIB = 1 << 30


def available_bytes() -> int | None:
    """Memory the kernel says is available now (Linux MemAvailable), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def too_big(what: str, need: int, hint: str) -> str | None:
    """A one-line refusal when ``need`` bytes for ``what`` exceed the available memory."""
    free = available_bytes()
    if free is None or need <= free:
        return None
    return (f"{what} needs about {need / GIB:.1f} GiB, and this machine has {free / GIB:.1f} GiB "
            f"available: {hint}")
