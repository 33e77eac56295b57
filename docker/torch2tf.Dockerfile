# An image with torch2tf itself, for CI jobs that convert models:
#   docker build -f docker/torch2tf.Dockerfile -t torch2tf .
#   docker run --rm -v "$PWD:/work" -w /work torch2tf convert model.py:build --input image:Nx3x224x224 -o out/
FROM python:3.11-slim
WORKDIR /opt/torch2tf
COPY pyproject.toml constraints.txt README.md ./
COPY torch2tf ./torch2tf
# torch first, pinned, so no dependency resolves a different (CUDA) build.
RUN pip install --no-cache-dir torch==2.13.0 \
 && pip install --no-cache-dir -c constraints.txt . \
 && torch2tf --help >/dev/null
ENTRYPOINT ["torch2tf"]
