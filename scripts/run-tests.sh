#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, then builds linen twice
# (optimised with g++, and with clang + ASan + UBSan) and runs every test in both
# builds; the clang build also holds the libFuzzer targets, each run for a bounded
# time. A third, ThreadSanitizer build covers the multi-threaded part, linend and the
# etcd client, with the tests labelled `tsan`. Each variant's tests run while the next
# variant compiles (the compiler niced), and their log is printed when they finish.
# Run as root.
# Tests change the kernel only inside network namespaces they create; the guard
# around the run fails the suite if the machine's own namespace changed anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# Ninja starts a target's compiles before the libraries it links are linked, which keeps
# both cores busy through the dependency chain (make waits for each whole target).
export CMAKE_GENERATOR=${CMAKE_GENERATOR:-Ninja}
jobs=$(nproc)
# Tests mostly wait on the kernel, not the CPU: run more of them than there are cores.
test_jobs=$((jobs * 2))
variants=(${LINEN_TEST_VARIANTS:-release asan tsan})
# The TSan build compiles only what the `tsan`-labelled tests need.
tsan_targets=(linend agent_unit_test linend_cluster_test linend_plugin_test etcd_registry_test
              etcd_client_test)

host_before=$(mktemp)
host_after=$(mktemp)
trap 'rm -f "$host_before" "$host_after"' EXIT
bash scripts/host-state.sh >"$host_before"

status=0
passed=0
failed=0

configure() {  # configure <variant>: sets dir, flags, targets, ctest_args
  dir=build-test-$1
  case $1 in
    release) flags=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++) ;;
    # -g1 (line tables) is all a sanitizer report needs, and compiles faster than -g.
    # -O1 as ASan recommends: the code under test runs 5x faster than at -O0, while
    # test files stay at -O0 (linen_test_code_options in CMakeLists.txt).
    asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"
                 -DLINEN_SANITIZE=ON -DLINEN_FUZZ=ON -DLINEN_BENCH=OFF) ;;
    tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++
                 "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DLINEN_TSAN=ON
                 -DLINEN_TESTS_BUILD_EXECUTABLES=OFF) ;;
    *) echo "run-tests.sh: unknown variant $1" >&2; exit 2 ;;
  esac
  targets=()
  ctest_args=()
  if [[ $1 == tsan ]]; then
    targets=(--target "${tsan_targets[@]}")
    ctest_args=(-L tsan)
  fi
}

# Runs one variant's tests (and, after the ASan tests, the fuzzers); output to
# $dir/ctest-output.log, exit status non-zero on any failure.
run_tests() {  # run_tests <variant>
  local variant=$1 rc=0
  configure "$variant"
  if [[ $variant == tsan ]]; then
    rm -rf "$dir/tsan-reports"
    mkdir -p "$dir/tsan-reports"
  fi
  # TSan reports go to files, so one from a linend child process (whose exit code a
  # test may not see) still fails the run below.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    TSAN_OPTIONS="halt_on_error=0 exitcode=66 log_path=$PWD/$dir/tsan-reports/report" \
    ctest --test-dir "$dir" --output-on-failure -j"$test_jobs" --timeout 300 "${ctest_args[@]}" \
    >"$dir/ctest-summary.log" 2>&1 || rc=1
  if [[ $variant == tsan ]] && compgen -G "$dir/tsan-reports/report.*" >/dev/null; then
    echo "run-tests.sh: ThreadSanitizer reports:" >>"$dir/ctest-summary.log"
    head -n 60 "$dir"/tsan-reports/report.* >>"$dir/ctest-summary.log"
    rc=1
  fi
  if [[ $variant == asan ]]; then
    echo "== fuzzers ==" >>"$dir/ctest-summary.log"
    # Every committed seed is replayed; 30000 fixed-seed inputs per target explore a
    # little (100000 took 80 s of the CPU the TSan build needs at the same time).
    FUZZ_BUILD_DIR=$PWD/$dir JOBS=$jobs FUZZ_RUNS=30000 bash scripts/run-fuzz.sh \
      >>"$dir/ctest-summary.log" 2>&1 || rc=1
  fi
  return $rc
}

# Prints a finished variant's test log and adds its counts to the totals.
report() {  # report <variant> <exit status of run_tests>
  configure "$1"
  local log=$dir/ctest-summary.log
  echo "== $1 tests (finished ${SECONDS}s into the run) =="
  cat "$log"
  ((${2} == 0)) || status=1
  # "NN% tests passed, F tests failed out of T"
  f="" t=""
  read -r f t < <(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$log") || true
  if [[ -z ${t:-} || $t -eq 0 ]]; then
    echo "run-tests.sh: ctest ran no tests in $dir" >&2
    status=1
  else
    passed=$((passed + t - f))
    failed=$((failed + f))
  fi
}

# Pipelined: a variant's tests (which mostly wait on the kernel) run while the next
# variant compiles. The compiler runs niced, so the tests keep their share of the CPU.
pending=""      # the variant whose tests are running
pending_pid=""
finish_pending() {
  [[ -n $pending ]] || return 0
  local rc=0
  wait "$pending_pid" || rc=$?
  report "$pending" "$rc"
  pending=""
}
for variant in "${variants[@]}"; do
  configure "$variant"
  echo "== $variant build == (${SECONDS}s into the run)"
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
  if ! nice -n 10 cmake --build "$dir" -j"$jobs" "${targets[@]}"; then
    finish_pending
    echo "run-tests.sh: the $variant build failed" >&2
    exit 1
  fi
  finish_pending
  echo "== $variant tests started == (${SECONDS}s into the run)"
  run_tests "$variant" &
  pending=$variant
  pending_pid=$!
done
finish_pending

bash scripts/host-state.sh >"$host_after"
if ! diff -u "$host_before" "$host_after"; then
  echo "run-tests.sh: the machine's own network namespace changed during the tests (diff above)" >&2
  status=1
fi
echo "tests: $passed passed, $failed failed (${SECONDS}s)"
exit $status
