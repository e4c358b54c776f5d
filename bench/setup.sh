#!/usr/bin/env bash
# Creates bench/.venv (git-ignored) with PyTorch 2.13.0, CPU build, for bench/torch_vsc.py and
# bench/vsc_torch.py, plus the `tensorboard`, `safetensors` and `pyyaml` packages the tests read our event
# files and checkpoints with (tests that need the venv are skipped, with a message, without it).
#
# Idempotent: if the venv already imports torch 2.13.0 it returns at once.
# Only torch==2.13.0 from the local CPU wheel is allowed: the same version from the public
# index is the CUDA build (gigabytes of nvidia-* wheels). We therefore ask for the exact
# local version "2.13.0+cpu", which only the local wheel provides; if it is not on disk the
# script stops instead of falling back to a download. torchvision is not needed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
TORCH_VERSION="2.13.0"
WHEEL_DIR="${TORCH_WHEEL_DIR:-/opt/wheels}"
PY="${PYTHON:-python3}"

have_torch() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c "import numpy,torch,tensorboard,safetensors,yaml,sys; sys.exit(0 if torch.__version__.split('+')[0]=='$TORCH_VERSION' else 1)" 2>/dev/null
}

if have_torch; then
  echo "bench/.venv: torch $("$VENV/bin/python" -c 'import torch;print(torch.__version__)') already installed"
  exit 0
fi

if ! ls "$WHEEL_DIR"/torch-"$TORCH_VERSION"+cpu-*.whl >/dev/null 2>&1; then
  echo "error: no CPU wheel torch-$TORCH_VERSION+cpu-*.whl in $WHEEL_DIR (set TORCH_WHEEL_DIR)." >&2
  echo "       Refusing to fetch torch from the index: that is the multi-gigabyte CUDA build." >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $("$PY" --version 2>&1)"
  "$PY" -m venv "$VENV"
fi

# numpy only silences torch's "Failed to initialize NumPy" warning.
# Dependencies (sympy, networkx, jinja2, filelock, fsspec, typing-extensions) come from PyPI;
# torch itself only from the local wheel (the +cpu local version exists nowhere else).
"$VENV/bin/pip" install --quiet --find-links "$WHEEL_DIR" "torch==$TORCH_VERSION+cpu" numpy tensorboard safetensors pyyaml

have_torch || { echo "error: torch $TORCH_VERSION did not install into $VENV" >&2; exit 1; }
echo "bench/.venv: torch $("$VENV/bin/python" -c 'import torch;print(torch.__version__)') installed"
