# syntax=docker/dockerfile:1
# One Dockerfile for both services; pick one with --build-arg SERVICE=producer
# or SERVICE=consumer (`make images` builds both). Pin the base images by
# digest with --build-arg GO_IMAGE=golang:1.26@sha256:… and
# RUNTIME_IMAGE=…@sha256:….
ARG GO_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# grpcnotrace leaves out gRPC's request tracing (golang.org/x/net/trace and
# html/template), which the OTLP exporter's protobuf package pulls in and
# nothing here uses: the image is smaller (docs/performance.md).
ENV CGO_ENABLED=0 GOFLAGS="-buildvcs=false -tags=grpcnotrace" GOCACHE=/root/.cache/go-build
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY platform/ platform/
COPY services/ services/
ARG SERVICE
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    if [ ! -f "services/${SERVICE:-none}/main.go" ]; then \
      echo "build with --build-arg SERVICE=producer or SERVICE=consumer" >&2; exit 1; \
    fi && \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/service "./services/${SERVICE}"

FROM ${RUNTIME_IMAGE}
ARG SERVICE
ARG VERSION=dev
LABEL org.opencontainers.image.title="orders-${SERVICE}" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/service /service
# distroless "nonroot": uid/gid 65532, no shell. Settings come from the
# environment only (`/service -h` lists them); :8080 serves /healthz,
# /readyz and /metrics.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/service"]
