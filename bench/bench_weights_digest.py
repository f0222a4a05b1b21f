"""What `rgv bench --resume` pays to recognise a local checkpoint: rg_verifiers.weights_digest against
sha256 of every byte (the baseline), on the same folder in one process.

    python bench/bench_weights_digest.py [FOLDER] [--repeat 3]

FOLDER defaults to the embedded model's converted copy (538 MB of fp32 safetensors + tokenizer).
Each timing is the best of --repeat runs, after one untimed read that puts the files in the page
cache (a folder just trained or evaluated is there too).
"""

import argparse
import hashlib
import time
from pathlib import Path


def full_sha256(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
    return h.hexdigest()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    from rg_verifiers.weights_digest import weights_digest

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", type=Path, default=None)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if args.folder is None:
        from rg_verifiers.embedded import hf_model_dir

        args.folder = hf_model_dir()
    size = sum(f.stat().st_size for f in args.folder.rglob("*") if f.is_file())
    full_sha256(args.folder)  # warm the page cache
    ours = best(lambda: weights_digest(str(args.folder)), args.repeat)
    base = best(lambda: full_sha256(args.folder), args.repeat)
    print(f"folder {args.folder} ({size / 1e6:.0f} MB)")
    print(f"weights_digest (sampled)  {ours * 1000:8.1f} ms")
    print(f"sha256 of every byte      {base * 1000:8.1f} ms")
    print(f"ratio                     {base / ours:8.1f}x faster")


if __name__ == "__main__":
    main()
