"""A cheap fingerprint of a local model's weights: `rgv bench --resume` tells a checkpoint retrained
(or replaced) at the same path from the one its saved rollouts came from.

Reading every byte of a 15 GB checkpoint takes minutes; retraining changes nearly every weight, so
each large file contributes its size and evenly spaced samples of its bytes, small files (configs,
tokenizer, adapters of a few MB) their whole content. File times are left out on purpose: a copied
checkpoint is the same model. bench/weights_digest.py measures it against hashing every byte.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Optional

SAMPLES = 64
SAMPLE_BYTES = 64 * 1024
WHOLE_BELOW = 4 * 1024 * 1024
# a training checkpoint's trainer state: resuming training reads it, serving the weights does not
_NOT_WEIGHTS = re.compile(r"optimizer\.pt|scheduler\.pt|rng_state.*\.pth|trainer_state\.json|training_args\.bin|"
                          r"global_step\d+|latest|zero_to_fp32\.py|\..*")


def _file_digest(path: Path, h) -> None:
    size = path.stat().st_size
    h.update(f"{size}\n".encode())
    with open(path, "rb") as f:
        if size < WHOLE_BELOW:
            h.update(f.read())
            return
        step = (size - SAMPLE_BYTES) // (SAMPLES - 1)
        for i in range(SAMPLES):
            f.seek(i * step)
            h.update(f.read(SAMPLE_BYTES))


def weights_digest(model: Optional[str]) -> Optional[str]:
    """sha256 (hex, 16 characters) of a local model folder or file; None for anything not on disk
    (hub ids, endpoints): those have no bytes here to tell apart."""
    if not model:
        return None
    root = Path(model).expanduser()
    if root.is_file():
        files = [(root.name, root)]
    elif root.is_dir():
        files = []
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if p.is_file() and not any(_NOT_WEIGHTS.fullmatch(part) for part in rel.parts):
                files.append((rel.as_posix(), p))
    else:
        return None
    h = hashlib.sha256()
    for rel, path in files:
        h.update(f"{rel}\n".encode())
        _file_digest(path, h)
    return h.hexdigest()[:16]
