# SPDX-License-Identifier: MIT
# A thin layer over CMake: `make demo` and `make test` are all a new
# machine needs.  Missing Debian packages are installed when run as root,
# else the apt-get line is printed.
DEBS     = cmake gcc pkg-config libevent-dev libsqlite3-dev libncurses-dev check tmux python3 valgrind gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gdb sqlite3 util-linux
BUILD    = build
ASAN     = build-asan
UCTX     = build-ucontext
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    = cmake -S . -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build asan ucontext demo tour test bench clean

all: build

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  else \
	    echo "missing Debian packages; run:"; \
	    echo "  sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

build: deps
	@$(CMAKE) -B $(BUILD) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@$(CMAKE) -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DTL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

# The main job: record the deadlocking pipeline, open the TUI on it.
demo: build
	@sh examples/demo.sh $(BUILD)

# Every example, run and explained.
tour: build
	@sh examples/tour.sh $(BUILD)

ucontext: deps
	@$(CMAKE) -B $(UCTX) -DTL_CTX=ucontext >/dev/null
	@cmake --build $(UCTX) -j $(JOBS)

# The whole suite in a normal and in an ASan+UBSan build (any report
# fails), then the Check suites once more over the ucontext fallback.
test: build asan ucontext
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)
	cd $(UCTX) && ctest --output-on-failure -j $(JOBS) -E '^e2e_'


bench: build
	@sh bench/run.sh $(BUILD)
	@sh bench/record.sh $(BUILD)
	@sh bench/replay.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) $(UCTX)
