# harness/io/build.mk — the I/O benchmark programs (included by harness/build.mk).
#
#   $(BUILD)/release/bin/io/io_loadgen          the load generator (one point per run)
#   $(BUILD)/release/bin/io/io_server_hub_<port> the hub's echo/HTTP server, per port
#   $(BUILD)/release/bin/io/io_server_{ev,uv_poll,uv_tcp,threads}   the C peers
#   $(BUILD)/release/bin/io/io_probe            the test tool of `make io-check`
#
# harness/io/run.sh runs them (the I/O section of `make bench`); harness/io/check.sh
# tests them (`make io-check`, part of `make test`).

IO_BIN    := $(BUILD)/release/bin/io
io_obj     = $(call obj,release,$(patsubst %,harness/io/%.c,$(1)))
IO_SERVER_OBJS := $(call io_obj,conn http)

$(IO_BIN)/io_loadgen: $(call io_obj,loadgen histogram) $(call obj,release,harness/procfs.c)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_release) $^ -o $@ -lm
$(IO_BIN)/io_probe: $(call io_obj,probe) $(IO_SERVER_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_release) $^ -o $@ -lpthread
$(IO_BIN)/io_server_ev: $(call io_obj,server_ev) $(IO_SERVER_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_release) $^ -o $@ -lev
$(IO_BIN)/io_server_uv_poll $(IO_BIN)/io_server_uv_tcp: $(IO_BIN)/io_server_%: $(call io_obj,server_%) $(IO_SERVER_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_release) $^ -o $@ -luv
$(IO_BIN)/io_server_threads: $(call io_obj,server_threads) $(IO_SERVER_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_release) $^ -o $@ -lpthread

define io_hub_rules
$(IO_BIN)/io_server_hub_$(1): $(call io_obj,server_hub) $(IO_SERVER_OBJS) \
                              $(BUILD)/release/lib/libswitchyard_hub.a $(BUILD)/release/lib/libswitchyard_$(1).a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_release) $$^ -o $$@ -lev -luv $$(LDLIBS) $$(PORT_LDLIBS_$(1))
endef
$(foreach p,$(PORTS),$(eval $(call io_hub_rules,$(p))))

IO_BINS := $(addprefix $(IO_BIN)/,io_loadgen io_probe io_server_ev io_server_uv_poll \
             io_server_uv_tcp io_server_threads $(PORTS:%=io_server_hub_%))

.PHONY: io-bins io-check
io-bins: $(IO_BINS)
bench-bins: io-bins

io-check: io-bins
	@BUILD='$(BUILD)' PORTS='$(PORTS)' harness/io/check.sh
TEST_EXTRA += io-check
