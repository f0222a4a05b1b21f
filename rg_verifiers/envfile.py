"""`.env`: per-machine secrets and settings (WANDB_API_KEY, HF_TOKEN, ...) kept out of configs and git.

`setup.sh` creates `.env` from `.env.example`; `rgv`, `train_minimal.py` and `train_ultra_minimal.py`
call `load_env_file()` first thing. Variables already set in the environment win, so
`WANDB_MODE=disabled rgv ...` still overrides the file for one command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

# an editable install (./setup.sh) runs from the checkout, where setup.sh put the .env
CHECKOUT = Path(__file__).resolve().parent.parent


def load_env_file(cwd: Optional[str | os.PathLike] = None) -> Optional[Path]:
    """Load `.env` from the working directory, else from the checkout; return the file loaded.

    One file only: a project's own `.env` replaces the checkout's instead of mixing with it.
    """
    from dotenv import load_dotenv

    for folder in (Path(cwd) if cwd is not None else Path.cwd(), CHECKOUT):
        path = folder / ".env"
        if path.is_file():
            load_dotenv(path, override=False)
            return path
    return None
