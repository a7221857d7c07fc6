# The TensorFlow reference: the same Keras model served the old way (tensorflow-cpu,
# model.predict per request) behind the same entry, request handling and HTTP contract as
# the function, on the same base. Large on purpose: it is what the function replaces.
#
#   make image-tf   (scripts/build_image.sh tf: assembles a context of its own, offline-capable)
ARG BASE_IMAGE=python:3.11.11-slim-bookworm

# The wheels are installed in a stage of their own: copied in the image's own stage, their
# 340 MB would stay in it as a layer (a later rm cannot shrink one) and in every pull.
FROM ${BASE_IMAGE} AS site
ARG OFFLINE=
COPY requirements/tf.txt requirements/common.txt /build/
COPY wheelhouse/ /build/wheelhouse/
RUN set -eu; if [ -n "$OFFLINE" ]; then index=--no-index; else index=; fi; \
    python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages $index \
      --find-links /build/wheelhouse --require-hashes --only-binary=:all: \
      --target /opt/site -r /build/tf.txt; \
    rm -rf /build

FROM ${BASE_IMAGE}
COPY --from=site /opt/site/ /opt/site/
COPY fn/ /app/fn/
COPY reference/ /app/reference/
COPY model/model.keras model/model.tflite model/feature_spec.json model/intervals.json model/metrics.json model/manifest.json /app/model/
USER 10001:10001
WORKDIR /app
# Keras looks for a writable home; under a read-only root it falls back to /tmp, which may
# be absent: point it somewhere readable and let it do without.
ENV PYTHONPATH=/app:/opt/site PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 port=8080 \
    HOME=/app KERAS_HOME=/app/.keras TF_CPP_MIN_LOG_LEVEL=2
EXPOSE 8080
ENTRYPOINT ["python3", "-m", "reference"]
