#!/usr/bin/env bash
# Fetches a newer containerd from Debian's archive for the end-to-end tests, without
# installing anything or touching the system's apt configuration, and prints the path of
# the unpacked tree (its usr/bin holds containerd, ctr and containerd-shim-runc-v2).
#   test/lib/fetch-containerd.sh SERIES     SERIES: 1.7 (Debian trixie) or 2 / 2.x (sid)
# Idempotent and offline once cached: a tree already unpacked is printed without any network
# access. Cache: $REAPER_TEST_CACHE/containerd/<suite> (default /var/cache/reaper-tests);
# <suite>/VERSION holds the Debian version that was unpacked. To refresh (e.g. when sid
# moves on), remove <suite>/ and run this again. Needs root (apt-get, the cache directory).
#
# The archive URI and keyring are those of the system's bookworm entry in
# /etc/apt/sources.list.d/ (or /etc/apt/sources.list); only the suite differs.
set -euo pipefail

die() { echo "fetch-containerd: $*" >&2; exit 1; }

series=${1:-}
case $series in
  1.7|1.7.*) suite=trixie want=1.7 ;;
  2|2.*) suite=sid want=2. ;;
  1.6|1.6.*) die "containerd 1.6 is bookworm's own package (apt-get install containerd), not fetched" ;;
  *) die "usage: fetch-containerd.sh 1.7|2" ;;
esac

cache=${REAPER_TEST_CACHE:-/var/cache/reaper-tests}/containerd
tree=$cache/$suite/tree
work=$cache/$suite/apt

# The cached tree is complete (it is renamed into place only once unpacked and checked).
if [[ -x $tree/usr/bin/containerd && -f $cache/$suite/VERSION ]]; then
  echo "$tree"; exit 0
fi

mkdir -p "$cache/$suite"
# One fetch per suite at a time (two test runs may start together).
exec {lock}>"$cache/$suite/.lock"
flock "$lock"
if [[ -x $tree/usr/bin/containerd && -f $cache/$suite/VERSION ]]; then
  echo "$tree"; exit 0
fi

# The bookworm entry: URI and Signed-By, from a deb822 .sources file or a one-line list.
uri="" keyring=""
read -r uri keyring < <(
  for f in /etc/apt/sources.list.d/*.sources; do [[ -f $f ]] && cat "$f" && echo; done |
    awk -v RS= '
      /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ && /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ {
        n = split($0, l, "\n"); u = ""; k = ""
        for (i = 1; i <= n; i++) {
          if (l[i] ~ /^URIs:/) { u = l[i]; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
          if (l[i] ~ /^Signed-By:/) { k = l[i]; sub(/^Signed-By:[ \t]*/, "", k) }
        }
        if (u != "") { print u, k; exit }
      }') || true
if [[ -z $uri ]]; then
  read -r uri keyring < <(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {
        k = ""; i = 2
        if ($2 ~ /^\[/) { for (; i <= NF; i++) { if ($i ~ /signed-by=/) { k = $i; sub(/.*signed-by=/, "", k); sub(/\]$/, "", k) } if ($i ~ /\]$/) { i++; break } } }
        if ($(i + 1) == "bookworm") { print $i, k; exit }
      }') || true
fi
[[ -n $uri ]] || die "no bookworm entry in /etc/apt/sources.list.d/ or /etc/apt/sources.list to take the archive URI from"
[[ -n $keyring ]] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=$keyring] $uri $suite main" >"$work/sources.list"
apt=(-q -o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")

log=$work/apt.log
if ! apt-get "${apt[@]}" update >"$log" 2>&1 || grep -q '^\(W\|E\): Failed to fetch' "$log"; then
  sed 's/^/  /' "$log" >&2
  die "cannot reach $uri ($suite); containerd $series is not cached in $cache/$suite"
fi
version=$(apt-cache "${apt[@]}" policy containerd | awk '$1 == "Candidate:" { print $2 }')
[[ -n $version && $version != "(none)" ]] || die "no containerd package in $uri $suite"
[[ $version == "$want"* ]] ||
  die "$suite has containerd $version, not $series: change the suite in test/lib/fetch-containerd.sh"

# apt-get download writes into the current directory.
debs=$work/debs
rm -rf "$debs"; mkdir -p "$debs"
(cd "$debs" && apt-get "${apt[@]}" download "containerd=$version") >"$log" 2>&1 ||
  { sed 's/^/  /' "$log" >&2; die "apt-get download containerd=$version failed"; }

new=$cache/$suite/tree.new
rm -rf "$new"; mkdir -p "$new"
dpkg-deb -x "$debs"/containerd_*.deb "$new"
for b in containerd ctr containerd-shim-runc-v2; do
  [[ -x $new/usr/bin/$b ]] || die "containerd $version has no usr/bin/$b"
done
# It must run on this system (it is built for $suite's libc).
"$new/usr/bin/containerd" --version >/dev/null 2>&1 ||
  die "containerd $version from $suite does not run here: $("$new/usr/bin/containerd" --version 2>&1 | head -n 1)"
rm -rf "$tree"; mv "$new" "$tree"
echo "$version" >"$cache/$suite/VERSION"
rm -rf "$work"   # lists and package caches: ~100 MB, refetched on a refresh
echo "$tree"
