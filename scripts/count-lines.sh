#!/usr/bin/env bash
# Counts non-blank, non-comment lines of the example servers (cmd/examples/*/main.go)
# and cmd/minimal-apiserver. Usage: scripts/count-lines.sh [files...]
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
