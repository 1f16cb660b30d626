# Sourced by the other scripts: create the checkout's own virtual environment if it
# is missing, install the pinned development requirements, and build rustlette into
# it as an editable install, so `import rustlette` finds the compiled `_rust` module
# beside the Python sources.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PYTHON="$VENV/bin/python"

if [ ! -x "$PYTHON" ]; then
    python3 -m venv "$VENV"
fi
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
# Without build isolation pip uses the pinned maturin above instead of fetching one.
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-build-isolation -e "$ROOT"
export PYO3_PYTHON="$PYTHON"
cd "$ROOT"
