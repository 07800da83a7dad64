# hub/build.mk — the hub library (libswitchyard_hub.a, release and asan), linked into
# every conformance runner, and the example programs, one per example × port.
# Included by the top Makefile before its own rules: `obj`, PORTS and BUILD are set.

HUB_SRC     := $(wildcard hub/*.c)
HUB_LDLIBS  := -lev -luv
EXAMPLES    := $(basename $(notdir $(wildcard examples/*.c)))

define hub_lib_rules
$(BUILD)/$(1)/lib/libswitchyard_hub.a: $(call obj,$(1),$(HUB_SRC))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
CONF_LIBS_$(1) += $(BUILD)/$(1)/lib/libswitchyard_hub.a
endef
$(foreach v,$(VARIANTS),$(eval $(call hub_lib_rules,$(v))))

CONF_LDLIBS       += $(HUB_LDLIBS)

# $(BUILD)/release/bin/examples/<example>_<port>
define hub_example_rules
$(BUILD)/release/bin/examples/$(1)_$(2): $(call obj,release,examples/$(1).c) $(BUILD)/release/lib/libswitchyard_hub.a $(BUILD)/release/lib/libswitchyard_$(2).a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_release) $$^ -o $$@ $$(HUB_LDLIBS) $$(LDLIBS) $$(PORT_LDLIBS_$(2))
endef
$(foreach e,$(EXAMPLES),$(foreach p,$(PORTS),$(eval $(call hub_example_rules,$(e),$(p)))))

EXAMPLE_BINS := $(foreach e,$(EXAMPLES),$(foreach p,$(PORTS),$(BUILD)/release/bin/examples/$(e)_$(p)))

.PHONY: examples
examples: $(EXAMPLE_BINS)
build: $(EXAMPLE_BINS)

# `make test` also runs the examples and checks their output (hub/check_examples.sh).
.PHONY: check-examples
check-examples: $(EXAMPLE_BINS)
	@hub/check_examples.sh $(BUILD)/release/bin/examples $(PORTS)
TEST_EXTRA += check-examples
