# dist/build.mk — make install, and the check of an installed tree in `make test`.
#
#   make install PREFIX=/usr/local [DESTDIR=...]
#     $(PREFIX)/include/switchyard/greenlet.h, hub.h   namespaced: #include <switchyard/greenlet.h>
#                                                      (never collides with Python greenlet's)
#     $(PREFIX)/lib/libswitchyard_<port>.a, libswitchyard_hub.a   (release builds)
#     $(PREFIX)/lib/pkgconfig/switchyard-<port>.pc     one per port
#     $(PREFIX)/lib/pkgconfig/switchyard-hub.pc        the hub; name a port beside it
#     $(PREFIX)/share/switchyard/gdb/switchyard.py     the gdb extension (also embedded)
#
#   cc prog.c $(pkg-config --static --cflags --libs switchyard-asm_separate)
#   cc prog.c $(pkg-config --static --cflags --libs switchyard-hub switchyard-asm_separate)
#
# The libraries are static: what they need of the system (pthread, libev, libuv, a
# port's own PORT_LDLIBS_<port>) is in Libs.private / Requires.private, which
# pkg-config gives with --static.
#
#   make check-install   (part of make test) installs into $(BUILD)/tools/install, builds
#                        examples against it with pkg-config only, and runs them.

PREFIX  ?= /usr/local
DESTDIR ?=
SWITCHYARD_VERSION := $(shell sed -n 's/^\#define SWITCHYARD_VERSION_STRING "\(.*\)"/\1/p' include/greenlet.h)
INSTALL_LIBS := $(foreach p,$(PORTS),$(BUILD)/release/lib/libswitchyard_$(p).a) \
                $(if $(wildcard hub/build.mk),$(BUILD)/release/lib/libswitchyard_hub.a)

.PHONY: install check-install
install: $(INSTALL_LIBS)
	@test -n "$(SWITCHYARD_VERSION)" || { echo "install: no SWITCHYARD_VERSION_STRING in include/greenlet.h" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/include/switchyard $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/switchyard/gdb
	install -m 644 include/greenlet.h $(if $(wildcard hub/build.mk),include/hub.h) \
	  $(DESTDIR)$(PREFIX)/include/switchyard/
	install -m 644 $(INSTALL_LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 tools/gdb/switchyard.py $(DESTDIR)$(PREFIX)/share/switchyard/gdb/
	@$(foreach p,$(PORTS),dist/write_pc.sh $(DESTDIR)$(PREFIX)/lib/pkgconfig/switchyard-$(p).pc \
	  $(PREFIX) switchyard-$(p) $(SWITCHYARD_VERSION) \
	  "Switchyard greenlets (the semantics of Python greenlet, in C), port $(p)" \
	  switchyard_$(p) "$(strip $(PORT_LDLIBS_$(p)) $(LDLIBS))";)
	@$(if $(wildcard hub/build.mk),dist/write_pc.sh $(DESTDIR)$(PREFIX)/lib/pkgconfig/switchyard-hub.pc \
	  $(PREFIX) switchyard-hub $(SWITCHYARD_VERSION) \
	  "Switchyard hub (a gevent-style hub over libev or libuv); link one switchyard-<port> beside it" \
	  switchyard_hub "-lev $(LDLIBS)" libuv)
	@echo "installed Switchyard $(SWITCHYARD_VERSION) into $(DESTDIR)$(PREFIX): ports $(PORTS)"

INSTALL_CHECK_DIR := $(BUILD)/tools/install-check
check-install: $(INSTALL_LIBS)
	@rm -rf $(INSTALL_CHECK_DIR)
	@$(MAKE) --no-print-directory -s install PREFIX=$(abspath $(INSTALL_CHECK_DIR))/prefix >/dev/null
	@CC='$(CC)' dist/check_install.sh $(abspath $(INSTALL_CHECK_DIR)) $(SWITCHYARD_VERSION) $(PORTS)
TEST_EXTRA += check-install
