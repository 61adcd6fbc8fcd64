#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + fuzzer) in build-fuzz and
# runs each from its seed corpus. Any crash, sanitizer report or invariant abort fails
# the script; the reproducer is left in build-fuzz/fuzz/.
#   scripts/run-fuzz.sh                  # CI: the seeds, then FUZZ_RUNS (100000) inputs, seed 1
#   FUZZ_SECONDS=600 scripts/run-fuzz.sh # exploring: random seed, 600 s per target
# CI replays every committed seed (each past finding is one) and explores a little
# with a fixed seed. libFuzzer is not bit-for-bit reproducible even then, so long
# exploring runs come first: a bug they find is fixed and its input committed to
# fuzz/corpus/<target>/ before it can surprise CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${FUZZ_BUILD_DIR:-$SRC/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-}
RUNS_EACH=${FUZZ_RUNS:-100000}
JOBS=${JOBS:-2}
TARGETS=(fuzz_netconf fuzz_result fuzz_cni_args fuzz_topology)

# run-tests.sh passes its clang ASan build (configured with LINEN_FUZZ=ON) as
# FUZZ_BUILD_DIR; reconfiguring it here would change its flags and rebuild everything.
if [[ -z ${FUZZ_BUILD_DIR:-} ]]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLINEN_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$JOBS"

if [[ -n $SECONDS_EACH ]]; then
  budget=(-max_total_time="$SECONDS_EACH")
  what="${SECONDS_EACH}s, random seed"
else
  # The time limit only guards against a pathologically slow machine.
  budget=(-runs="$RUNS_EACH" -seed=1 -max_total_time=120)
  what="$RUNS_EACH runs, seed 1"
fi

status=0
for t in "${TARGETS[@]}"; do
  # A fresh copy of the seeds each time: inputs found here never dirty the tree, and
  # a deterministic run starts from exactly the committed corpus.
  work="$BUILD/fuzz/corpus-$t"
  rm -rf "$work"
  mkdir -p "$work"
  cp "$SRC/fuzz/corpus/$t/"* "$work/"
  log="$BUILD/fuzz/$t.log"
  echo "== $t ($what)"
  if (cd "$BUILD/fuzz" && "./$t" "${budget[@]}" -max_len=65536 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$log" 2>&1); then
    grep -E '^stat::number_of_executed_units|^Done ' "$log" | tail -2 || true
  else
    echo "FAIL: $t (log: $log)"; tail -40 "$log"; status=1
  fi
done
exit $status
