# Third-party web assets embedded into the binary, fetched at build time and never committed
# (.gitignore: httpd/webdocs/*.js). Included by the Makefile; standalone: make -f docs/make-assets.mk assets
# Paths are relative to the repository root: run make from there.

# Redoc renders /docs (httpd/docs.go). Bump both lines together: the checksum is the sha512 of
# the `npm pack` tarball (sha512sum redoc-<version>.tgz).
REDOC_VERSION := 3.0.1
REDOC_SHA512  := 2837e829a616d7d2c2978612b60067c2568d8d81057ece7308db75b35599d98339bbc776e98bb3776978ddf64ef39d59b2020c7bf0fae347c32640fc79a45029
REDOC_BUNDLE  := httpd/webdocs/redoc.standalone.js

# The bundle's banner names its version ("* Version: 3.0.1"). A missing bundle or another
# version makes the target phony, so it is fetched; the pinned one is left alone.
redoc_built := $(shell head -c 512 $(REDOC_BUNDLE) 2>/dev/null | sed -n 's/^\* Version: \([0-9A-Za-z.-]*\).*/\1/p')
ifneq ($(redoc_built),$(REDOC_VERSION))
.PHONY: $(REDOC_BUNDLE)
endif

.PHONY: assets clean-assets

assets: $(REDOC_BUNDLE) ## fetch the pinned Redoc bundle for /docs (npm; only when missing)

$(REDOC_BUNDLE):
	@echo "fetching the API-docs bundle (redoc@$(REDOC_VERSION), npm registry) into $@: first build only"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent redoc@$(REDOC_VERSION) >/dev/null); \
	echo "$(REDOC_SHA512)  $$tmp/redoc-$(REDOC_VERSION).tgz" | sha512sum -c --quiet -; \
	tar -xzf "$$tmp/redoc-$(REDOC_VERSION).tgz" -C "$$tmp" package/bundles/redoc.standalone.js; \
	cp "$$tmp/package/bundles/redoc.standalone.js" "$@.tmp"; mv "$@.tmp" "$@"

clean-assets: ## remove fetched web assets
	rm -f $(REDOC_BUNDLE)
