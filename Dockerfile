# Multi-stage build: a static binary on a minimal, non-root image.

# The /docs page's Redoc bundle comes from the npm registry at build time
# (never committed); keep the version in step with docs/make-assets.mk.
FROM node:22-slim AS docs
WORKDIR /w
RUN npm pack --silent redoc@3.0.1 && tar -xzf redoc-3.0.1.tgz package/bundles/redoc.standalone.js

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=docs /w/package/bundles/redoc.standalone.js httpd/webdocs/redoc.standalone.js
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/flashstock ./cmd/flashstock

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flashstock /flashstock
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/flashstock"]
CMD ["serve"]
