"""Which verifiers API the installed version speaks: 0.1.6-0.3.x keep the v0 API
(`SingleTurnEnv`, `Rubric`, `load_environment`; 0.3.x under `verifiers.legacy`), 0.4+ only the v1
API (`Taskset`, `Task`, `Harness`). 0.1.14-0.3.x also ship older, incompatible drafts of
`verifiers.v1`, so the version decides, not whether `verifiers.v1` imports."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version


def verifiers_version() -> tuple[int, ...] | None:
    try:
        raw = version("verifiers")
    except PackageNotFoundError:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", raw)[:3])


_VERSION = verifiers_version()
VERIFIERS_V1 = _VERSION is not None and _VERSION >= (0, 4)


def require_v0(what: str) -> None:
    """One line instead of an ImportError deep inside, for the paths that need the v0 API."""
    from .errors import RGVError

    if VERIFIERS_V1:
        raise RGVError(f"{what} needs verifiers 0.1.x-0.3.x (the v0 API), but verifiers "
                       f"{'.'.join(map(str, _VERSION or ()))} is installed; use the project venv "
                       f"(./setup.sh pins verifiers==0.1.9.post3)")
