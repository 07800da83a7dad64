# tools/build.mk — the clang build variant, and the checks of the tooling around the
# switch that `make test` runs before the conformance suite:
#
#   clang variant   the release flags built with clang -Werror: rows "<port> clang ..."
#                   (left out when CC is clang already: then every variant is clang's)
#
# `CC=clang make test` builds everything with clang (and the benchmark shim with
# clang++).

CLANG ?= clang
CC_IS_CLANG := $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1)),1)

VARIANTS        += clang
CC_clang        := $(CLANG)
CFLAGS_clang    := $(CFLAGS_release)
LDFLAGS_clang   := $(LDFLAGS_release)
ifeq ($(CC_IS_CLANG),)
TEST_VARIANTS   += clang
endif
