#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, then builds linen twice
# (optimised, and with ASan+UBSan) and runs every test in both builds. Run as root.
# Tests change the kernel only inside network namespaces they create; the guard
# around the run fails the suite if the machine's own namespace changed anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc)
# Tests mostly wait on the kernel, not the CPU: run more of them than there are cores.
test_jobs=$((jobs * 2))
variants=(${LINEN_TEST_VARIANTS:-release asan})

host_before=$(mktemp)
host_after=$(mktemp)
trap 'rm -f "$host_before" "$host_after"' EXIT
bash scripts/host-state.sh >"$host_before"

status=0
for variant in "${variants[@]}"; do
  dir=build-test-$variant
  case $variant in
    release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DLINEN_SANITIZE=ON) ;;
    *) echo "run-tests.sh: unknown variant $variant" >&2; exit 2 ;;
  esac
  echo "== $variant build =="
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== $variant tests =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$test_jobs" --timeout 300 || status=1
done

bash scripts/host-state.sh >"$host_after"
if ! diff -u "$host_before" "$host_after"; then
  echo "run-tests.sh: the machine's own network namespace changed during the tests (diff above)" >&2
  status=1
fi
exit $status
