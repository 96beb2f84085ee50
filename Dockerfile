# syntax=docker/dockerfile:1
#
# eventworker's image: a static binary on distroless, run as nonroot.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t eventworker:v1.2.3 .
#   docker run --rm eventworker:v1.2.3 version
#
# The build stage compiles for the target platform from the build platform, so
# `docker buildx build --platform linux/amd64,linux/arm64 .` needs no emulation.
# deploy/dockerfile_test.go checks this file and runs its go build line.
#
# golang:1.26-bookworm follows the newest 1.26 patch release on purpose: go1.26.8 has
# standard-library vulnerabilities the worker calls, fixed in go1.26.10 (README, "Go toolchain").

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src

# The module download is a layer of its own: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

ARG TARGETOS
ARG TARGETARCH
# The release version, shown by `eventworker version` and in eventworker_build_info.
ARG VERSION=dev
# .git is not in the build context (.dockerignore), so the VCS revision comes in as an argument
# and is linked in, as the version is.
ARG REVISION=unknown
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/eventworker/eventworker/internal/version.Version=${VERSION} -X github.com/eventworker/eventworker/internal/version.Commit=${REVISION}" \
      -o /out/eventworker ./cmd/eventworker

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="eventworker" \
      org.opencontainers.image.description="Consumes the shop's domain events from RabbitMQ and turns them into effects" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=build /out/eventworker /eventworker

# The image's nonroot user (65532), by number: Kubernetes can verify runAsNonRoot only for a
# numeric user.
USER 65532:65532

# EVENTWORKER_HTTP_ADDR's default: /metrics, /healthz and /readyz.
EXPOSE 9090

# Exec form: the image has no shell. `eventworker healthcheck` GETs /healthz on the port of
# EVENTWORKER_HTTP_ADDR; compose.yaml switches it to --ready.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/eventworker", "healthcheck"]

ENTRYPOINT ["/eventworker"]
CMD ["run"]
