# PostgreSQL for the tests: the store's and the handlers' suites run on
# SQLite and again on a throwaway PostgreSQL cluster (internal/pgtest),
# which needs Debian's server programs. "make test" installs them when
# initdb is missing.

PG_TEST_PKGS ?= ./store ./handlers

.PHONY: pg-deps test-pg

## pg-deps: install Debian's postgresql (apt-get) when no initdb is found
pg-deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing postgresql with apt-get"; \
		$(APT) update -q && $(APT) install -y -q postgresql; \
	fi

## test-pg: the backend-neutral suites on PostgreSQL
test-pg: pg-deps
	PARLEY_PG_REQUIRED=1 PARLEY_TEST_DB=postgres $(GO) test -count=1 $(PG_TEST_PKGS)

# A missing PostgreSQL fails these runs instead of skipping its tests.
test race: export PARLEY_PG_REQUIRED = 1
test race: pg-deps
