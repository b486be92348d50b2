"""Write to a temporary name beside the target and rename when complete: never half a file."""
from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path):
    """The temporary name is short whatever the target's (a 250-byte name stays writable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(path.name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    tmp = path.with_name(f".~{os.getpid()}-{digest}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
