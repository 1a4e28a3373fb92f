#!/usr/bin/env bash
# Runs shellcheck on every shell script of the repository: tracked files ending in .sh,
# the test files under test/integration/ (sourced by test/run, no shebang), and any
# tracked file whose first line starts a shell. Each finding is fixed or carries a
# "# shellcheck disable=SCxxxx" comment saying why; folder-wide choices are in the
# .shellcheckrc files. Exit status 0 when nothing is found.
#   test/shellcheck.sh            every script
#   test/shellcheck.sh FILE...    only these
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (deploy/build.sh installs it)" >&2; exit 2; }

list_scripts() {
  local f
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard
  else
    find . -path ./.git -prune -o -path './build*' -prune -o -type f -print0 | sed -z 's|^\./||'
  fi | while IFS= read -r -d '' f; do
    [[ -f $f ]] || continue
    case $f in
      build*/* | */node_modules/*) continue ;;
      *.sh | .ci/run | test/run) echo "$f" ;;
      *) head -n 1 "$f" 2>/dev/null | grep -qE '^#!.*\b(ba|da)?sh\b' && echo "$f" ;;
    esac
  done
}

if (($#)); then files=("$@"); else mapfile -t files < <(list_scripts); fi
((${#files[@]})) || { echo "no shell scripts found" >&2; exit 2; }
# --external-sources: each script's helpers are followed from its own folder (.shellcheckrc).
shellcheck --external-sources --format=gcc "${files[@]}"
status=$?
echo "shellcheck: ${#files[@]} scripts, $( ((status == 0)) && echo clean || echo findings above)"
exit "$status"
