"""`python scripts/train.py <config> [key=value ...]`, the seed frameworks' training command: the same
entry point as `python train_minimal.py` (which see), kept so their quick-starts work as written."""

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    sys.argv[0] = str(root / "train_minimal.py")
    runpy.run_path(str(root / "train_minimal.py"), run_name="__main__")
