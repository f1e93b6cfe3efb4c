# Browser tests: Debian's chromium, and the outside judges pinned in
# e2e/package.json (axe-core, vnu-jar, run with the machine's java). "make
# test" installs whatever of them is missing.

CHROMIUM ?= /usr/bin/chromium
# npm ci writes this file last, so it stands for a complete install.
E2E_NPM  := e2e/node_modules/.package-lock.json
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT      := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: browser-deps browser-chromium screenshots

## browser-deps: install chromium (apt-get) and the pinned npm judges when missing
browser-deps: browser-chromium $(E2E_NPM)

browser-chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing chromium with apt-get"; \
		$(APT) update -q && $(APT) install -y -q chromium; \
	fi

$(E2E_NPM): e2e/package.json e2e/package-lock.json
	npm ci --prefix e2e --ignore-scripts --no-audit --no-fund
	@touch $@

# The race run includes the browser tests too, with a server built -race.
race: browser-deps

## screenshots: save the room at 1280×800 and 390×844, light and dark, in docs/screenshots
screenshots: browser-deps
	PARLEY_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' ./e2e

# make fuzz also fuzzes the links made from message text.
FUZZ_TARGETS += ./views:FuzzLinkify
