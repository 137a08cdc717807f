# Build: docker build -t provisiond .
# Run:   docker run -p 8080:8080 -v $PWD/examples/production:/catalog:ro -v provisiond-data:/data \
#          provisiond serve --addr 0.0.0.0:8080 --catalog /catalog --data-dir /data
# With --proxy-dhcp or --tftp (ports 67, 4011 and 69 on the boot network), run it with
# --network host --cap-add NET_BIND_SERVICE --cap-add NET_RAW (the image runs as non-root).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/provisiond ./cmd/provisiond \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/provisiond /usr/local/bin/provisiond
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
EXPOSE 8080 8081
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/provisiond"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--data-dir", "/data"]
