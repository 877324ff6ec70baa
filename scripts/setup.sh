#!/usr/bin/env bash
# One-command setup: creates .venv/ in the repo root with the stack of docs/design.md §6 and installs
# the harness and every plugin under plugins/ in editable mode. Idempotent: a second run on the
# same machine reuses the venv and the cached mmcv wheel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
VENV="$ROOT/.venv"
WHEELS="${HARNESS_WHEEL_CACHE:-$HOME/.cache/ssl-harness/wheels}"
MMCV_VERSION=2.1.0

say() { printf '[setup] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
# setuptools < 81 everywhere: mmcv's setup.py needs pkg_resources (torch would upgrade it).
PIP=("$PY" -m pip --disable-pip-version-check -q)
PIN=(-c "$ROOT/scripts/constraints.txt")

"${PIP[@]}" install "${PIN[@]}" setuptools wheel
"${PIP[@]}" install "${PIN[@]}" torch==2.14.1 torchvision==0.29.1

# mmcv's ops for the CPU, or for CUDA where torch sees a GPU (HARNESS_CPU_OPS=1: CPU ops anyway);
# a CUDA wheel is cached in a subfolder named for torch's CUDA and the GPUs (e.g. cu130-sm90).
variant=$("$PY" scripts/cuda_build_env.py variant)
eval "$variant"
if [ -n "$MMCV_VARIANT" ]; then
  WHEELS="$WHEELS/$MMCV_VARIANT"
  ops="CUDA ops ($MMCV_VARIANT; longer than CPU ops, once per machine)"
  ops_check="import mmcv.ops, sys; sys.exit(mmcv.ops.get_compiling_cuda_version() == 'not available')"
  reinstall=(--force-reinstall)  # over CPU ops of the same version
else
  ops="CPU ops (about 10 minutes, once per machine)"
  ops_check="import mmcv, mmcv.ops"
  reinstall=()
fi

if ! "$PY" -c "$ops_check" >/dev/null 2>&1; then
  mkdir -p "$WHEELS"
  wheel=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    # empty for CPU ops; for CUDA ops FORCE_CUDA, CUDA_HOME (nvcc from pip if need be) and the
    # GPUs' TORCH_CUDA_ARCH_LIST, or one line naming what is missing, and setup stops here
    build_env=$("$PY" scripts/cuda_build_env.py build)
    say "building mmcv $MMCV_VERSION with $ops"
    "${PIP[@]}" install "${PIN[@]}" mmengine==0.10.7 ninja
    build="$(mktemp -d)"
    "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation -d "$build" "mmcv==$MMCV_VERSION"
    tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
    # torch 2.14 headers need C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$build/mmcv-$MMCV_VERSION/setup.py"
    (cd "$build/mmcv-$MMCV_VERSION" && eval "$build_env" && MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" \
      "$PY" -m pip --disable-pip-version-check -q wheel --no-deps --no-build-isolation -w "$WHEELS" .)
    rm -rf "$build"
    wheel=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)
  else
    say "reusing cached $wheel"
  fi
  "${PIP[@]}" install --no-deps "${reinstall[@]}" "$wheel"
fi

"${PIP[@]}" install "${PIN[@]}" -r requirements.txt
"$PY" scripts/patch_mmaction.py

# plugins renamed or removed since an earlier setup: drop their stale installs
for dist in $("$PY" -m pip list --format=freeze 2>/dev/null | sed -n 's/^\(harness-[A-Za-z0-9_-]*\)==.*/\1/p'); do
  if [ ! -d "plugins/${dist#harness-}" ]; then
    say "uninstalling $dist (no longer under plugins/)"
    "${PIP[@]}" uninstall -y "$dist"
  fi
done

say "installing the harness and its plugins (editable)"
editable=(-e .)
for plugin in plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] && editable+=(-e "$plugin")
done
"${PIP[@]}" install --no-deps "${editable[@]}"

"$VENV/bin/harness" --version
say "done: activate with 'source .venv/bin/activate'"
