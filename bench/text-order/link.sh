# shellcheck shell=bash
# Sourced by profile.sh and check.sh: BUILD's link of the reaper binary, read from ninja
# (the last command of `ninja -t commands reaper`), run again into another file with the
# symbols kept (the build's own link strips them: strip_args in meson.build).

# link_unstripped BUILD OUT [PATTERN...]: links OUT; link arguments matching a PATTERN
# (a glob) are left out as well. Run after the build: it uses BUILD's objects as they are.
link_unstripped() {
  local build=$1 out=$2 link w p skip=0 words args=()
  shift 2
  link=$(ninja -C "$build" -t commands reaper | tail -n 1) && [[ -n $link ]] || return 1
  read -r -a words <<<"$link"
  for w in "${words[@]:1}"; do
    ((skip)) && { skip=0; continue; }
    case $w in
      -o) skip=1; continue ;;
      -s) continue ;;
    esac
    for p; do
      # shellcheck disable=SC2053  # PATTERN is a glob on purpose
      [[ $w == $p ]] && continue 2
    done
    args+=("$w")
  done
  (cd "$build" && "${words[0]}" -o "$out" "${args[@]}")
}

# ordering_file BUILD: prints the ordering file BUILD's link passes to lld; fails when it
# passes none (meson.build: a sanitizer, fuzz or dynamic build, or no lld).
ordering_file() {
  local link w words
  link=$(ninja -C "$1" -t commands reaper | tail -n 1) || return 1
  read -r -a words <<<"$link"
  for w in "${words[@]}"; do
    if [[ $w == -Wl,--symbol-ordering-file=* ]]; then
      echo "${w#-Wl,--symbol-ordering-file=}"
      return 0
    fi
  done
  return 1
}
