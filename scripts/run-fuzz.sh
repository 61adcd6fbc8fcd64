#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + fuzzer) in build-fuzz and
# runs each for a bounded time from its seed corpus. Any crash, sanitizer report or
# invariant abort fails the script; the reproducer is left in build-fuzz/fuzz/.
#   scripts/run-fuzz.sh                  # CI: 10 s per target
#   FUZZ_SECONDS=600 scripts/run-fuzz.sh # a longer run (see docs/reliability.md)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${FUZZ_BUILD_DIR:-$SRC/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-10}
JOBS=${JOBS:-2}
TARGETS=(fuzz_netconf fuzz_result fuzz_cni_args fuzz_topology)

# run-tests.sh passes its clang ASan build (configured with LINEN_FUZZ=ON) as
# FUZZ_BUILD_DIR; reconfiguring it here would change its flags and rebuild everything.
if [[ -z ${FUZZ_BUILD_DIR:-} ]]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLINEN_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$JOBS"

status=0
for t in "${TARGETS[@]}"; do
  # Work on a copy of the seeds so new inputs found in CI don't dirty the tree.
  work="$BUILD/fuzz/corpus-$t"
  mkdir -p "$work"
  cp -n "$SRC/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  log="$BUILD/fuzz/$t.log"
  echo "== $t (${SECONDS_EACH}s)"
  if (cd "$BUILD/fuzz" && "./$t" -max_total_time="$SECONDS_EACH" -max_len=65536 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$log" 2>&1); then
    grep -E '^stat::number_of_executed_units|^Done ' "$log" | tail -2 || true
  else
    echo "FAIL: $t (log: $log)"; tail -40 "$log"; status=1
  fi
done
exit $status
