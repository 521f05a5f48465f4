#!/usr/bin/env bash
# `terraform test` of every tests/*.tftest.hcl, split over JOBS processes run at once
# (Terraform 1.11 runs the files one after another in one process; they share nothing:
# each file plans against its own mocked provider, state kept in memory).
# The files are dealt, most `run` blocks first, to the group with the fewest runs so far;
# each group's output is printed whole when it ends; any failure fails the whole.
# Usage: scripts/tf-test-parallel.sh [JOBS]   (run from the root, after `terraform init`)
set -euo pipefail
jobs=${1:-2}
mapfile -t groups < <(
  for f in tests/*.tftest.hcl; do echo "$(grep -c '^run ' "$f") $f"; done | sort -k1,1nr -k2 |
    awk -v n="$jobs" '{
      best = 0
      for (i = 1; i < n; i++) if (runs[i] < runs[best]) best = i
      runs[best] += $1; files[best] = files[best] " -filter=" $2
    } END { for (i = 0; i < n; i++) if (files[i] != "") print files[i] }'
)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
for i in "${!groups[@]}"; do
  # shellcheck disable=SC2086 # one -filter=FILE word per file
  terraform test -no-color ${groups[$i]} >"$logs/$i.log" 2>&1 &
  pids+=("$!")
done
status=0
for i in "${!groups[@]}"; do
  if ! wait "${pids[$i]}"; then status=1; fi
  echo "== terraform test${groups[$i]//-filter=/}"
  cat "$logs/$i.log"
done
exit "$status"
