# k3 — build, run the sample container, test, benchmark, install.
PREFIX ?= /usr/local
CARGO ?= cargo
K3RT := target/x86_64-unknown-linux-gnu/release/k3rt
BUNDLE := bundles/busybox

.PHONY: all deps build bundle run test unit fuzz-short fuzz integration diff bench soak man install clean vm-test vm-bench

all: build

deps:
	./.ci/deps.sh
	integration/deps-images.sh
	integration/deps-engine.sh
	integration/deps-daemon.sh

build: deps
	$(CARGO) build --release

bundle: build
	bundles/mkbundle.sh $(K3RT) $(BUNDLE) sh -c 'echo "hostname: $$(hostname)"; echo namespaces:; ls -l /proc/self/ns | sed "s/.* \([a-z_]*\) -> /  \1 /"'

# Runs the sample busybox bundle: prints the container's hostname and namespaces.
run: bundle
	$(K3RT) run --bundle $(BUNDLE) k3-demo-$$$$

# The whole suite: unit tests (no root), a bounded fuzz run, then the integration tests (root, real containers).
test: unit fuzz-short integration

unit: deps
	$(CARGO) test --workspace --all-targets

# The fuzz targets (tests/fuzz, crate k3-tests): `cargo test` runs K3_FUZZ_CASES (default 500)
# mutated cases per target; fuzz-short at most 20000 or 60 s per target, fuzz
# a long run (2 million cases or 10 min per target, two targets at a time)
# from a new seed each time (K3_FUZZ_SEED=N repeats one).
FUZZ_SEED ?= $(shell date +%s)
fuzz-short:
	K3_FUZZ_CASES=20000 K3_FUZZ_SECS=60 $(CARGO) test -p k3-tests --test fuzz -- --nocapture

fuzz:
	@echo "fuzz seed $(FUZZ_SEED)"
	K3_FUZZ_SEED=$(FUZZ_SEED) K3_FUZZ_CASES=2000000 K3_FUZZ_SECS=600 $(CARGO) test -p k3-tests --test fuzz -- --nocapture

integration: build
	$(CARGO) build --release -p k3-tests --example cri
	integration/run.sh

# The differential harness: DIFF_COUNT configs (fixtures plus generated from DIFF_SEED,
# a new seed each day by default) under runc, crun and k3rt; differences not listed in
# docs/compat.md fail. `make test` runs a fixed sample of 200 (integration/suite_diff.sh).
DIFF_COUNT ?= 2000
DIFF_SEED ?= $(shell date +%Y%m%d)
diff: build
	integration/diff/diff.py --count $(DIFF_COUNT) --seed $(DIFF_SEED)

# The systemd + cgroup v2 guest alone (integration/suite_vm.sh; `make integration` runs
# it last): a Debian trixie image built once under target/vm/ (VM_REBUILD=1 anew), booted
# under qemu, runc, crun and k3rt side by side. ONLY=PATTERN, RUNTIMES="k3rt crun".
# vm-bench: k3rt vs crun and runc in the guest, as ratios. See integration/vm/README.md.
vm-test: build
	integration/suite_vm.sh

vm-bench: build
	integration/vm/bench.sh

bench: build
	benches/run.sh
	benches/pull.sh
	benches/create.sh

# Load and endurance (minutes): parallel creates, concurrent API clients, 1000 k3rt
# and 300 k3 cycles, every resource counted before and after.
soak: build
	benches/soak.sh

# Man pages and bash/zsh/fish completions, generated from the clap definitions by
# k3-docgen (src/docgen: a separate binary, so k3rt and k3 do not link the generators).
DOCS := target/share
man:
	$(CARGO) run -q -p k3-docgen -- $(DOCS)

SHARE := $(DESTDIR)$(PREFIX)/share
install: build man
	install -D -m 0755 $(K3RT) $(DESTDIR)$(PREFIX)/bin/k3rt
	install -D -m 0755 target/x86_64-unknown-linux-gnu/release/k3 $(DESTDIR)$(PREFIX)/bin/k3
	install -d $(SHARE)/man/man1
	install -m 0644 $(DOCS)/man/man1/*.1 $(SHARE)/man/man1/
	for b in k3rt k3; do \
		install -D -m 0644 $(DOCS)/completions/bash/$$b.bash $(SHARE)/bash-completion/completions/$$b && \
		install -D -m 0644 $(DOCS)/completions/zsh/_$$b $(SHARE)/zsh/site-functions/_$$b && \
		install -D -m 0644 $(DOCS)/completions/fish/$$b.fish $(SHARE)/fish/vendor_completions.d/$$b.fish || exit 1; \
	done

clean:
	$(CARGO) clean
	rm -rf $(BUNDLE)
