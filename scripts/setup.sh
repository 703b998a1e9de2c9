#!/usr/bin/env bash
# Set up PoseWatch on a Debian machine with Python 3.11: system libraries for Qt/OpenCV, a virtual
# environment in .venv and the pinned Python stack from requirements.lock (installed with uv).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

# Qt's xcb platform plugin, OpenCV's GUI module and MediaPipe's audio module need these; xvfb and
# xauth give a virtual screen for screenshots and headless runs of a real window; mosquitto is the MQTT broker the
# notification tests start on 127.0.0.1 themselves.
pkgs="libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
      libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libportaudio2 xvfb xauth mosquitto"
if ! "$PY" -c "import ensurepip" >/dev/null 2>&1; then pkgs="$pkgs python3-venv"; fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check uv==0.13.8
# --compile-bytecode: the .pyc files are written once here. uv leaves them out by default and Python then compiles
# torch, ultralytics and scikit-learn afresh in every process where it may not write them (PYTHONDONTWRITEBYTECODE,
# a read-only venv): about 7 s of CPU for each start of the app, the CLI or a test's child process.
.venv/bin/python -m uv pip install -q --python .venv/bin/python --compile-bytecode -r requirements.lock \
  --override requirements-overrides.txt
.venv/bin/python -m uv pip install -q --python .venv/bin/python --compile-bytecode --no-deps -e .
echo "setup: done (.venv)"
