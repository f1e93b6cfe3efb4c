# Parley. `make run` needs only Go and make; `make test` installs what the
# browser tests need (Debian's chromium) and the PostgreSQL its store and
# handler tests also run on (Debian's postgresql) when they are missing.

GO      ?= go
BIN     := bin/parley
PKGS    := ./...

.PHONY: run build test race fuzz generate check-generated lint fmt clean

## run: build and start Parley on 127.0.0.1:8080 with ./parley.db
run: build
	./$(BIN)

## build: compile the server into bin/parley
build:
	$(GO) build -o $(BIN) ./cmd/parley

## test: every test (unit, integration, browser), then the store's and the handlers' on PostgreSQL
test: browser-deps
	$(GO) test -count=1 $(PKGS)
	PARLEY_TEST_DB=postgres $(GO) test -count=1 $(PG_TEST_PKGS)

## race: every test under the race detector (needs cgo and gcc), then the store's and the handlers' on PostgreSQL
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 $(PKGS)
	CGO_ENABLED=1 PARLEY_TEST_DB=postgres $(GO) test -race -count=1 $(PG_TEST_PKGS)

# Fuzz targets as package:Function; each runs for FUZZTIME. Inputs worth
# keeping go to the package's testdata/fuzz, where plain `go test` replays them.
FUZZTIME ?= 15s
FUZZ_TARGETS := ./hub:FuzzEncode ./handlers:FuzzMessageFrame \
	./store:FuzzValidateHandle ./store:FuzzValidatePassword ./store:FuzzValidateBody \
	./store:FuzzValidateClientID ./store:FuzzMatchQuery \
	./store:FuzzValidateEmoji

## fuzz: run every fuzz target for FUZZTIME (default 15s)
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

## generate: regenerate the templ views
generate:
	$(GO) tool templ generate

## check-generated: fail when the committed templ output is stale
check-generated: generate
	git diff --exit-code -- '*_templ.go'

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## fmt: format Go and templ sources
fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt views

clean:
	rm -rf bin

# Further targets (benchmarks, browser tooling) live beside this file.
-include mk/*.mk
