#!/usr/bin/env bash
# `terraform init` (no backend, offline CLI config) and `terraform validate` of one directory,
# its output printed in one piece so that several directories can be checked at once
# (`make tf-check` runs them in parallel: each one mostly waits for a provider start).
# Usage: scripts/tf-validate.sh DIR
set -euo pipefail
dir=${1:?usage: tf-validate.sh DIR}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! terraform -chdir="$dir" init -backend=false -input=false -no-color >"$log" 2>&1; then
  printf '== terraform init %s FAILED\n%s\n' "$dir" "$(cat "$log")" >&2
  exit 1
fi
if ! terraform -chdir="$dir" validate -no-color >"$log" 2>&1; then
  printf '== terraform validate %s FAILED\n%s\n' "$dir" "$(cat "$log")" >&2
  exit 1
fi
printf '== terraform validate %s\n%s\n' "$dir" "$(cat "$log")"
