#!/usr/bin/env bash
# Counts non-blank, non-comment lines of the example servers (cmd/examples/*/main.go)
# and cmd/minimal-apiserver. Usage: scripts/count-lines.sh [files...]
# Without files it also counts the server package's code as each build compiles
# it: on the pinned release, and on the series tip (-tags gcp_patched), where
# the chain is the generic sample library's and the release's workarounds are
# left out.
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(cmd/examples/*/main.go cmd/minimal-apiserver/main.go)
fi
count() {
  # drop blank lines, // comment lines and /* ... */ blocks
  awk '
    /^[[:space:]]*$/ {next}
    inblock { if ($0 ~ /\*\//) inblock=0; next }
    /^[[:space:]]*\/\*/ { if ($0 !~ /\*\//) inblock=1; next }
    /^[[:space:]]*\/\// {next}
    {n++}
    END {print n+0}' "$1"
}
printf '%-40s %s\n' FILE LINES
for f in "${files[@]}"; do
  printf '%-40s %s\n' "$f" "$(count "$f")"
done
if [ $# -gt 0 ]; then
  exit 0
fi
# sum of count over the non-test Go files the build with tags $1 compiles in packages $2...
count_build() {
  local tags=$1; shift
  local n=0 f
  while read -r f; do
    [ -n "$f" ] && n=$((n + $(count "$f")))
  done < <(go list -e -tags "$tags" -f '{{range .GoFiles}}{{$.Dir}}/{{.}}
{{end}}' "$@")
  echo "$n"
}
printf '\n%-48s %-12s %s\n' 'SERVER CODE (non-test)' 'RELEASE' 'SERIES TIP'
printf '%-48s %-12s %s\n' 'server (the package)' "$(count_build '' ./server)" "$(count_build gcp_patched ./server)"
printf '%-48s %-12s %s\n' 'server/... (with pki, datadir, kubeapis, ...)' "$(count_build '' ./server/...)" "$(count_build gcp_patched ./server/...)"
