#!/usr/bin/env bash
# Creates the git-ignored virtual environment .venv/torch for the PyTorch client of the mixed
# federation (python/mixed/torch_client.py). Idempotent.
#
# PyTorch comes from Debian (python3-torch 1.13.1, CPU only, with OpenBLAS): PyPI's Linux torch wheels need the
# CUDA libraries (several GB of nvidia-* wheels) even to import, and the CPU-only wheels live on an
# index this project cannot reach. The venv sees Debian's torch and PIL through
# --system-site-packages and gets the pinned flwr and a numpy 1.x (torch 1.13 breaks with numpy 2)
# from PyPI, see python/mixed/requirements.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv/torch"
req="$root/python/mixed/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$( (cat "$req" "$0") | sha256sum | cut -d' ' -f1)
system_python=/usr/bin/python3 # Debian's python3, the one python3-torch is built for

# Debian's torch calls BLAS through libblas.so.3; without OpenBLAS that is the reference BLAS,
# several times slower and no fair anchor for the training benchmark (benchmarks/parts/70-*).
# The OpenMP build shares torch's OpenMP threads, so torch.set_num_threads governs it too.
if [ ! -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ] && [ "$(uname -m)" = x86_64 ]; then
  echo "installing Debian's libopenblas0-openmp (the BLAS behind python3-torch)"
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd=sudo; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    libopenblas0-openmp >/dev/null
fi
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
if ! "$system_python" -c "import torch, PIL" 2>/dev/null || ! "$system_python" -c "import venv, ensurepip" 2>/dev/null; then
  echo "installing Debian's python3-torch, python3-pil and python3-venv"
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd=sudo; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    python3-torch python3-pil python3-venv >/dev/null
fi
echo "setting up $venv (Debian torch + flwr and numpy 1.x from PyPI, python/mixed/requirements.txt)"
rm -rf "$venv"
"$system_python" -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
# fail here, loudly: torch must see this numpy (the numpy 2 trap), flwr must import
"$venv/bin/python" - <<'PY'
import flwr, numpy, torch, PIL
from flwr.client import start_client
from flwr.server import start_server
a = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
t = torch.from_numpy(a) * 2
assert t.numpy().tolist() == [[0, 2, 4], [6, 8, 10]], t
print("torch", torch.__version__, "numpy", numpy.__version__, "flwr", flwr.__version__, "PIL", PIL.__version__)
PY
echo "$want" > "$stamp"
