# owl's container image: one static binary on distroless, as non-root.
# Build for both architectures of the Karpenter node pools (deploy/cluster):
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v1.2.3 -t ghcr.io/owlstack/owl:v1.2.3 .
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
ARG TARGETOS TARGETARCH VERSION=devel
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/owl ./cmd/owl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/owl /owl
USER 65532:65532
EXPOSE 8080 6060
ENTRYPOINT ["/owl"]
CMD ["up", "--addr", "[::]:8080", "--admin-addr", "[::]:6060", "--data", "/tmp/owl-data"]
