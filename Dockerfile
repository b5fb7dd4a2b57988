# syntax=docker/dockerfile:1
# transnorm: HTTP service by default; also a pipeline step:
#   docker run -i IMAGE transnorm normalize - < in.txt > out.json
# Models are baked in at build time from models/*.argosmodel in the build context, and/or
# downloaded from the Argos index by name: --build-arg MODELS="translate-zh_en translate-ru_en".
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HOME=/tmp
# strip (binutils), for the build stage only.
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY service ./service
COPY models ./models
# No torch: argos-translate-lt provides the argostranslate module without stanza/torch.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install . -c constraints.txt \
 && ! /opt/venv/bin/python -c "import torch" 2>/dev/null
ARG MODELS=""
ENV TRANSNORM_MODELS_DIR=/opt/transnorm/packages
RUN /opt/venv/bin/transnorm models setup --offline \
 && for name in $MODELS; do /opt/venv/bin/transnorm models install "$name" || exit 1; done \
 && /opt/venv/bin/transnorm models verify \
 && mkdir -p /opt/transnorm/packages
# Slim (docs/container.md): what the runtime never imports — argostranslate's sentence splitter
# (minisbd) with its ONNX runtime, sacremoses, their own dependencies, pip — numpy's test suites, and the debugging information of
# the extension modules built with it (CTranslate2's Python module alone: 65 MB of it). Only
# --strip-debug, and only where there is debug information: a wider strip rewrites the
# wheel-repaired libraries (numpy.libs, …) and breaks them. Then prove what is left still
# normalizes and serves.
RUN /opt/venv/bin/pip uninstall -y -q minisbd onnxruntime flatbuffers protobuf sacremoses joblib \
 && find /opt/venv/lib/python3*/site-packages/numpy -depth -type d -name tests -exec rm -rf {} + \
 && find /opt/venv -type f -name "*.so*" | while read -r lib; do \
        if readelf -S "$lib" | grep -q '\.debug_info'; then strip --strip-debug "$lib" || exit 1; fi; done \
 && /opt/venv/bin/pip uninstall -y -q pip setuptools \
 && echo "Slim. 第一次会谈。" | /opt/venv/bin/transnorm normalize - > /dev/null \
 && /opt/venv/bin/transnorm models list > /dev/null \
 && /opt/venv/bin/python -c "import transnorm.server.wsgi, transnorm.server.transport, transnorm.server.gunicorn_conf" \
 && XDG_CACHE_HOME=/opt/transnorm/cache /opt/venv/bin/python -c "from transnorm.langid_model import load; load()" \
 && ls /opt/transnorm/cache/transnorm/langid-*.npz > /dev/null

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin transnorm
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/transnorm /opt/transnorm
# langid's model is read decompressed from /opt/transnorm/cache (made at build time: no process
# pays the decompression). Everything written at run time goes under /tmp, so the root
# filesystem can be read-only:
#   docker run --read-only --tmpfs /tmp -p 8000:8000 IMAGE
ENV PATH=/opt/venv/bin:$PATH \
    TRANSNORM_MODELS_DIR=/opt/transnorm/packages \
    TRANSNORM_HOST=0.0.0.0 \
    TRANSNORM_PORT=8000 \
    HOME=/tmp XDG_DATA_HOME=/tmp/.local/share XDG_CONFIG_HOME=/tmp/.config \
    XDG_CACHE_HOME=/opt/transnorm/cache \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "transnorm.server.healthcheck"]
CMD ["transnorm", "serve"]
