# bulk_status: PGXS build.  The version lives in bulk_status.control alone.

EXTENSION = bulk_status
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = bulk_status
OBJS = \
	src/bulk_status.o \
	src/keyset.o \
	src/options.o \
	src/engine.o \
	src/target.o \
	src/batchsql.o \
	src/position.o \
	src/dryrun.o \
	src/scan.o \
	src/cursor.o \
	src/transition.o \
	src/throttle.o \
	src/vacuum.o \
	src/generation.o \
	src/jobs.o \
	src/worker.o

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# Tests: pg_regress inputs in test/sql, isolation specs in test/specs, their
# expected outputs in expected/, TAP tests in test/t.
TESTS = $(sort $(wildcard test/sql/*.sql))
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)

ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CPPFLAGS = -DBULK_STATUS_VERSION='"$(EXTVERSION)"' -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not know which headers a file includes: rebuild every object
# when any of them changes (a struct that grew must not be read at its old
# offsets).  After the include, so that "all" stays the default goal.
$(OBJS): $(wildcard src/*.h)

# The TAP tests' shared helpers (test/perl/BulkStatusTest.pm).  Added to
# PG_PROVE_FLAGS, after PGXS has set it, because PROVE_FLAGS is often given
# on the make command line, which would override it.
PG_PROVE_FLAGS += -I $(srcdir)/test/perl

# pg_isolation_regress looks for expected output in its output directory
# before --inputdir; point it at the top-level expected/.
installcheck: output_iso/expected
output_iso/expected:
	mkdir -p output_iso && ln -sfn ../expected $@
