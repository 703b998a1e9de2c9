# PoseWatch worker on an NVIDIA GPU (see docs/REMOTE_WORKER.md).
#
#   docker build -t posewatch-worker .                                     # add --build-arg TENSORRT=tensorrt-cu13==11.4.0.106 for TensorRT
#   docker run -d --gpus all -p 8765:8765 \
#     -v /etc/posewatch:/etc/posewatch:ro -v posewatch-cache:/cache -v /srv/posewatch/models:/models \
#     posewatch-worker --token-file /etc/posewatch/token --tls-cert /etc/posewatch/cert.pem --tls-key /etc/posewatch/key.pem
#
# The PyTorch wheels in requirements.lock (torch 2.14.1+cu130) bring their own CUDA 13.0 runtime and cuDNN;
# the base image supplies the driver hook-up for the NVIDIA Container Toolkit. Host driver >= 580 (CUDA 13.0).
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-base-ubuntu24.04
FROM ${CUDA_IMAGE}

ARG TENSORRT=""
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    YOLO_VERBOSE=False \
    POSEWATCH_CACHE_DIR=/cache \
    POSEWATCH_MODEL_DIR=/models \
    YOLO_CONFIG_DIR=/cache/ultralytics \
    MPLCONFIGDIR=/cache/matplotlib \
    UV_PYTHON_INSTALL_DIR=/opt/python

# OpenCV and MediaPipe need these shared libraries even without a display.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates libgl1 libegl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv

WORKDIR /opt/posewatch
COPY requirements.lock requirements-overrides.txt pyproject.toml ./
RUN uv python install 3.11 \
 && uv venv --python 3.11 .venv \
 && uv pip install --python .venv/bin/python --no-cache -r requirements.lock --override requirements-overrides.txt \
 && if [ -n "$TENSORRT" ]; then uv pip install --python .venv/bin/python --no-cache "$TENSORRT"; fi

COPY . .
RUN uv pip install --python .venv/bin/python --no-cache --no-deps -e . \
 && useradd --system --home-dir /opt/posewatch posewatch \
 && mkdir -p /cache /models && chown posewatch /cache /models

USER posewatch
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s \
  CMD .venv/bin/python -c "import urllib.request,ssl; urllib.request.urlopen('http://127.0.0.1:8765/health', timeout=4)" \
   || .venv/bin/python -c "import urllib.request,ssl; urllib.request.urlopen('https://127.0.0.1:8765/health', timeout=4, context=ssl._create_unverified_context())"
ENTRYPOINT [".venv/bin/python", "main.py", "worker", "--host", "0.0.0.0", "--port", "8765"]
