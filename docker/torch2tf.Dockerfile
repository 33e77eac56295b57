# An image with torch2tf itself, for CI jobs that convert models:
#   docker build -f docker/torch2tf.Dockerfile -t torch2tf .
#   docker run --rm -v "$PWD:/work" -w /work torch2tf convert model.py:build --input image:Nx3x224x224 -o out/
FROM python:3.11-slim
WORKDIR /opt/torch2tf
COPY pyproject.toml constraints.txt README.md ./
COPY torch2tf ./torch2tf
# torch first, pinned, from PyTorch's CPU index: the default index serves a CUDA build of several GB.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --no-cache-dir -c constraints.txt . \
 && torch2tf --help >/dev/null
# Conversions need no privileges: run as a numeric non-root user whose home is a writable temp dir.
ENV HOME=/tmp
USER 65532:65532
ENTRYPOINT ["torch2tf"]
