#!/usr/bin/env bash
# Paired A/B of two checkouts on the HTTP and WebSocket hot paths: rounds alternate
# A and B, each running `npm run bench:http` (1 round) and `npm run bench:ws` (depth 16,
# 1 round); prints each round's sabcache figures and the medians' ratio B/A.
# Usage: bench/ab.sh DIR_A DIR_B [ROUNDS]   (each DIR a checkout with node_modules)
# Results: bench/results/ab.md of this checkout, with the command and both commits.
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-5}
OUT="$(cd "$(dirname "$0")" && pwd)/results/ab.md"
export BENCH_ROUNDS=1 BENCH_SECONDS=${BENCH_SECONDS:-3} BENCH_DEPTHS=16
declare -A res

run() { # dir label round
  (cd "$1" && npm run -s bench:http >/dev/null 2>&1 && npm run -s bench:ws >/dev/null 2>&1)
  local get put wsget wsset
  get=$(grep '^| sabcache | GET' "$1/bench/results/http.md" | awk -F'|' '{gsub(/[ ,]/,"",$4); print $4}')
  put=$(grep '^| sabcache | PUT' "$1/bench/results/http.md" | awk -F'|' '{gsub(/[ ,]/,"",$4); print $4}')
  wsget=$(grep '^| GET | 16 ' "$1/bench/results/ws-get+set-16.md" | awk -F'|' '{gsub(/[ ,]/,"",$4); print $4}')
  wsset=$(grep '^| SET | 16 ' "$1/bench/results/ws-get+set-16.md" | awk -F'|' '{gsub(/[ ,]/,"",$4); print $4}')
  echo "- $2 round $3: http GET $get, PUT $put; ws GET@16 $wsget, SET@16 $wsset"
  res[$2,$3]="$get $put $wsget $wsset"
}

main() {
  echo "# Paired A/B: A = $(git -C "$A" log -1 --format='%h') vs B = $(git -C "$B" log -1 --format='%h')"
  echo
  echo "$(date -u +%FT%TZ); Node $(node --version); command: \`BENCH_SECONDS=$BENCH_SECONDS bench/ab.sh A B $ROUNDS\`; each round runs bench:http (1 round of $BENCH_SECONDS s per cell) and bench:ws (depth 16, 1 round) for each checkout, the order alternating. sabcache's figures (req/s, ops/s):"
  echo
  for r in $(seq 1 "$ROUNDS"); do
    if (( r % 2 )); then run "$A" A "$r"; run "$B" B "$r"; else run "$B" B "$r"; run "$A" A "$r"; fi
  done
  echo
  echo "| path | A median | B median | B/A (medians) | per-round B/A |"
  echo "|---|---:|---:|---:|---|"
  for i in 1 2 3 4; do
    local name a b pr
    name=$(echo "http-GET http-PUT ws-GET@16 ws-SET@16" | cut -d' ' -f$i)
    a=$(for r in $(seq 1 "$ROUNDS"); do echo "${res[A,$r]}" | cut -d' ' -f$i; done | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    b=$(for r in $(seq 1 "$ROUNDS"); do echo "${res[B,$r]}" | cut -d' ' -f$i; done | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    pr=$(for r in $(seq 1 "$ROUNDS"); do echo "${res[A,$r]} ${res[B,$r]}" | awk -v i=$i '{printf "%.2f ", $(i+4)/$i}'; done)
    echo "| $name | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", b/a}') | $pr|"
  done
}

# The results are computed in this shell (the rounds fill `res`), then written whole.
main > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
