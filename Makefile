# SPDX-License-Identifier: GPL-2.0
# bpfmasq: BPF objects -> skeleton -> one static-ish CLI binary.

OUTPUT    ?= build
CLANG     ?= clang
CC        ?= cc
BPFTOOL   ?= bpftool
PREFIX    ?= /usr/local
# Where the unit goes.  The Debian package (debian/rules) says
# /lib/systemd/system: Debian 12's dh_installsystemd looks only there.
UNITDIR   ?= $(PREFIX)/lib/systemd/system
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h
# What `status` says a running instance was built from: git's name of the
# tree when there is one, else this.
VERSION   := 0.1.0
BUILD_VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo $(VERSION))
# Extra flags for both sides, e.g. the upgrade test's second build
# (tests/lab/test_upgrade.sh): make OUTPUT=DIR BPFMASQ_EXTRA_CFLAGS=-DX.
BPFMASQ_EXTRA_CFLAGS ?=

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
	     -Iheaders $(BPFMASQ_EXTRA_CFLAGS)
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	     -Wall -Wno-unused-function -Ivmlinux/$(ARCH) -Iheaders -Ibpf \
	     $(BPFMASQ_EXTRA_CFLAGS)
# CPPFLAGS and LDFLAGS are the caller's (dpkg-buildpackage's hardening:
# _FORTIFY_SOURCE, relro, now); BPF_CFLAGS take neither.
LDLIBS    := -lbpf -lelf -lz -lsystemd -lsodium
# The compilers list the headers each output was made from (OUT.d): a
# changed header rebuilds exactly what includes it.  -MP: a header that
# is gone is no error.
DEPFLAGS   = -MMD -MP -MF $@.d -MT $@

# The data plane, and the controller's own expiry program (over the same
# maps, loaded by the controller alone).
BPF_SRCS  := bpf/bpfmasq.bpf.c bpf/expire.bpf.c
SKEL      := $(OUTPUT)/bpfmasq.skel.h $(OUTPUT)/expire.skel.h

# user/ is four layers, a folder each.  A layer sees its own headers and
# those of the layers below it, never one above (tests/unit/layers.sh):
#   cli/  the commands, main.c             sees ctl, lib, alg
#   ctl/  the controller daemon            sees lib, alg
#   lib/  maps, programs, the kernel       sees alg (and the skeleton)
#   alg/  ALG parsers, checksums: plain C, no libbpf, no skeleton
INC_alg   := -Iuser/alg
INC_lib   := -Iuser/lib -I$(OUTPUT) $(INC_alg)
INC_ctl   := -Iuser/ctl $(INC_lib)
INC_cli   := -Iuser/cli $(INC_ctl)
layer_objs = $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(wildcard user/$(1)/*.c))
CLI_OBJS  := $(call layer_objs,cli)
CTL_OBJS  := $(call layer_objs,ctl)
LIB_OBJS  := $(call layer_objs,lib)
ALG_OBJS  := $(call layer_objs,alg)
USER_OBJS := $(CLI_OBJS) $(CTL_OBJS) $(LIB_OBJS) $(ALG_OBJS)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all clean install deps test unit lab demo bench vmlinux fuzz deb FORCE
.DELETE_ON_ERROR:
# The BPF object is an input of the skeleton, not a throwaway.
.SECONDARY: $(OUTPUT)/bpfmasq.bpf.o $(OUTPUT)/expire.bpf.o

all: $(OUTPUT)/bpfmasq $(OUTPUT)/bpfmasq@.service $(OUTPUT)/bpfmasq.8 \
     $(OUTPUT)/bpfmasq.conf.5 $(OUTPUT)/bpfmasq-portmap

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/user/cli $(OUTPUT)/user/ctl $(OUTPUT)/user/lib \
$(OUTPUT)/user/alg:
	$(Q)mkdir -p $@

# Every output also depends on the Makefile: new flags rebuild, and
# outputs made before the .d files existed get them.
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(VMLINUX) Makefile | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# The skeleton is generated: it must exist before the first compile, so
# it is named here and not only in the .d files.  alg/ needs none.
$(OUTPUT)/user/cli/%.o: user/cli/%.c $(SKEL) Makefile | $(OUTPUT)/user/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(INC_cli) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/user/ctl/%.o: user/ctl/%.c $(SKEL) Makefile | $(OUTPUT)/user/ctl
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(INC_ctl) $(DEPFLAGS) -c $< -o $@

# The version, rewritten as make starts only when it changed: what shows
# it (build.o, through its .d) is rebuilt then and only then, and a
# `make -q` of an up-to-date tree stays true.
$(shell mkdir -p $(OUTPUT); v='#define BPFMASQ_VERSION "$(BUILD_VERSION)"'; \
	[ "$$(cat $(OUTPUT)/version.h 2>/dev/null)" = "$$v" ] || \
	echo "$$v" > $(OUTPUT)/version.h)

$(OUTPUT)/user/lib/%.o: user/lib/%.c $(SKEL) Makefile | $(OUTPUT)/user/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(INC_lib) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/user/alg/%.o: user/alg/%.c Makefile | $(OUTPUT)/user/alg
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(INC_alg) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/bpfmasq: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

FUZZ_SECONDS ?= 10

# The unit tests' one harness (tests/unit/harness.h): harness.o is plain
# C (test_alg links it too), harness_bpf.o reads bpfmasq's counters and
# maps.  test_nat is its runner and one fixture file per concern
# (tests/unit/nat/), each an object of its own.
TEST_OBJ_DIR := $(OUTPUT)/tests/obj
HARNESS_OBJ := $(TEST_OBJ_DIR)/harness.o
HARNESS_BPF_OBJS := $(HARNESS_OBJ) $(TEST_OBJ_DIR)/harness_bpf.o
NAT_OBJS  := $(patsubst tests/unit/%.c,$(TEST_OBJ_DIR)/%.o,$(wildcard tests/unit/nat/*.c))

# A unit test links the library layer, and the layers above it only when
# it tests something there.  The ALG parsers are plain C: their test needs
# neither libbpf nor BPF, only alg/.
$(OUTPUT)/tests/test_alg: tests/unit/test_alg.c $(ALG_OBJS) $(HARNESS_OBJ) Makefile | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INC_alg) $(DEPFLAGS) -Itests/unit $< $(ALG_OBJS) \
		$(HARNESS_OBJ) -o $@

# test_opts and test_config test the CLI (up's option table, its config
# file); the CLI's objects call the controller (up runs it), so they come
# with ctl/ and alg/.
CLI_TESTS := $(OUTPUT)/tests/test_opts $(OUTPUT)/tests/test_config
$(CLI_TESTS): $(CLI_OBJS) $(CTL_OBJS) $(ALG_OBJS)
$(CLI_TESTS): TEST_INC := $(INC_cli)
$(CLI_TESTS): TEST_OBJS := $(filter-out $(OUTPUT)/user/cli/main.o,$(CLI_OBJS)) \
			   $(CTL_OBJS) $(ALG_OBJS)

$(TEST_OBJ_DIR) $(TEST_OBJ_DIR)/nat:
	$(Q)mkdir -p $@

$(HARNESS_OBJ): tests/unit/harness.c Makefile | $(TEST_OBJ_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(TEST_OBJ_DIR)/%.o: tests/unit/%.c $(SKEL) Makefile | $(TEST_OBJ_DIR)/nat
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INC_lib) $(DEPFLAGS) -Itests/unit -c $< -o $@

$(OUTPUT)/tests/test_nat: $(NAT_OBJS) $(HARNESS_BPF_OBJS) $(LIB_OBJS) Makefile | $(OUTPUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(NAT_OBJS) $(HARNESS_BPF_OBJS) $(LIB_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/tests/test_diff: $(HARNESS_BPF_OBJS)
$(OUTPUT)/tests/test_diff: TEST_OBJS := $(TEST_OBJ_DIR)/harness_bpf.o

$(OUTPUT)/tests/%: tests/unit/%.c $(HARNESS_OBJ) $(LIB_OBJS) $(SKEL) Makefile | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INC_lib) $(TEST_INC) $(DEPFLAGS) -Itests/unit $< \
		$(TEST_OBJS) $(HARNESS_OBJ) $(LIB_OBJS) $(LDLIBS) -o $@

# The CNI plugin (cni/): runs the CLI it is told of, by default the one
# `make install` puts in place.  Needs only libjansson.
$(OUTPUT)/bpfmasq-portmap: cni/bpfmasq-portmap.c $(OUTPUT)/prefix Makefile | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEPFLAGS) \
		-DBPFMASQ_PATH='"$(PREFIX)/sbin/bpfmasq"' $< -ljansson -o $@

# The outputs that name where the binary is installed depend on this file,
# rewritten only when PREFIX changes: `make` then `make install
# PREFIX=/usr` must not install a unit that runs /usr/local/sbin/bpfmasq.
$(OUTPUT)/prefix: FORCE | $(OUTPUT)
	$(Q)echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@

FORCE:

# vmlinux.h for this machine's kernel (CO-RE: any BTF kernel can run it).
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

# The systemd unit names the binary where `make install` puts it.
$(OUTPUT)/bpfmasq@.service: packaging/bpfmasq@.service.in $(OUTPUT)/prefix Makefile | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)sed 's|@SBINDIR@|$(PREFIX)/sbin|g' $< > $@

$(OUTPUT)/bpfmasq.8: man/bpfmasq.8.scd | $(OUTPUT)
	$(call msg,SCDOC,$@)
	$(Q)scdoc < $< > $@

$(OUTPUT)/bpfmasq.conf.5: man/bpfmasq.conf.5.scd | $(OUTPUT)
	$(call msg,SCDOC,$@)
	$(Q)scdoc < $< > $@

install: $(OUTPUT)/bpfmasq $(OUTPUT)/bpfmasq@.service $(OUTPUT)/bpfmasq.8 \
	 $(OUTPUT)/bpfmasq.conf.5 $(OUTPUT)/bpfmasq-portmap
	install -D -m 0755 $(OUTPUT)/bpfmasq $(DESTDIR)$(PREFIX)/sbin/bpfmasq
	install -D -m 0644 packaging/bpfmasq.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/bpfmasq
	install -D -m 0755 $(OUTPUT)/bpfmasq-portmap \
		$(DESTDIR)$(PREFIX)/lib/cni/bpfmasq-portmap
	install -D -m 0644 $(OUTPUT)/bpfmasq.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/bpfmasq.8
	install -D -m 0644 $(OUTPUT)/bpfmasq.conf.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/bpfmasq.conf.5
	install -D -m 0644 packaging/example.conf \
		$(DESTDIR)$(PREFIX)/share/doc/bpfmasq/examples/example.conf
	install -D -m 0644 packaging/keepalived/bpfmasq-pair.conf \
		$(DESTDIR)$(PREFIX)/share/doc/bpfmasq/examples/keepalived/bpfmasq-pair.conf
	install -D -m 0644 packaging/keepalived/bpfmasq-active.conf \
		$(DESTDIR)$(PREFIX)/share/doc/bpfmasq/examples/keepalived/bpfmasq-active.conf
	install -D -m 0644 $(OUTPUT)/bpfmasq@.service \
		$(DESTDIR)$(UNITDIR)/bpfmasq@.service

# Debian packages for building, testing and the demo (idempotent).
deps:
	$(Q)scripts/deps.sh

UNIT_BINS := $(OUTPUT)/tests/test_nat $(OUTPUT)/tests/test_alg $(OUTPUT)/tests/test_diff \
	     $(OUTPUT)/tests/test_registry $(OUTPUT)/tests/test_opts \
	     $(OUTPUT)/tests/test_metrics $(OUTPUT)/tests/test_config

unit: deps $(OUTPUT)/bpfmasq $(UNIT_BINS)
	$(Q)tests/run.sh unit

fuzz: deps
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

lab: deps all
	$(Q)tests/run.sh lab

test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS)
	$(Q)tests/run.sh all

# The Debian package, built offline from a copy of the tree into
# $(OUTPUT)/deb (scripts/deb.sh); lintian must find no error.
deb: deps
	$(Q)scripts/deb.sh $(OUTPUT)/deb

demo: deps
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/bpfmasq
	$(Q)tests/lab/demo.sh

# ---- benchmark (bench/): not part of `make test` ----
BENCH_BPF   := $(patsubst bench/%.bpf.c,$(OUTPUT)/bench/%.bpf.o,$(wildcard bench/*.bpf.c))
BENCH_SKELS := $(BENCH_BPF:.bpf.o=.skel.h)
.SECONDARY: $(BENCH_BPF) $(BENCH_SKELS)

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/%.bpf.o: bench/%.bpf.c bench/bench.h bench/pace.bpf.h bench/counters.bpf.h $(VMLINUX) | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(OUTPUT)/bench/%.skel.h: $(OUTPUT)/bench/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT)/bench/bmbench: bench/bmbench.c bench/bench.h bench/csum.h bench/loader.h $(BENCH_SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/bench -Ibench $< $(LDLIBS) -o $@

$(OUTPUT)/bench/micro: bench/micro.c bench/csum.h $(SKEL) $(OUTPUT)/bench/redirect.skel.h headers/bpfmasq.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT) -I$(OUTPUT)/bench $< $(LDLIBS) -o $@

$(OUTPUT)/bench/connbench: bench/connbench.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# Stateless TCP endpoints in XDP for the connection-rate part (connrate).
$(OUTPUT)/bench/connrate.bpf.o: bench/connrate.h

$(OUTPUT)/bench/connrate: bench/connrate.c bench/connrate.h bench/loader.h $(OUTPUT)/bench/connrate.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/bench -Ibench $< $(LDLIBS) -o $@

bench: deps
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/bpfmasq $(OUTPUT)/bench/bmbench $(OUTPUT)/bench/micro $(OUTPUT)/bench/connbench $(OUTPUT)/bench/connrate
	$(Q)OUTPUT=$(OUTPUT) bench/run.sh

clean:
	rm -rf $(OUTPUT)

# test_nat was once one source file, tests/unit/test_nat.c: a build
# directory of that time has a dependency file naming it.
-include $(filter-out $(OUTPUT)/tests/test_nat.d, \
	    $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*.d \
		       $(OUTPUT)/tests/obj/*.d $(OUTPUT)/tests/obj/*/*.d))
