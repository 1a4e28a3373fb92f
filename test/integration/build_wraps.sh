# The Meson wraps of subprojects/ (fmt, Catch2) work: a small project using them exactly as
# reaper's meson.build does, with the fallback forced, fetches each source from its
# source_url (Debian's archive), checks its source_hash, lays the project's own
# packagefiles over it, and builds a program that formats with fmt (and runs it) and a
# Catch2 test case (compiled only: Catch2's own main takes minutes to compile here). The
# tarballs are kept in /var/cache/reaper-tests/wraps (Meson checks the hash of a cached
# tarball as well). A wrong hash is refused.
# test-timeout: 240

_wraps_cache=/var/cache/reaper-tests/wraps

# _wraps_project DIR: the small project, with a copy of the repository's subprojects/ and
# whatever tarballs are cached.
_wraps_project() {
  local dir=$1
  mkdir -p "$dir/subprojects/packagecache"
  cp "$TOP"/subprojects/*.wrap "$dir/subprojects/" || fail "no wraps in $TOP/subprojects"
  cp -r "$TOP/subprojects/packagefiles" "$dir/subprojects/"
  cp "$_wraps_cache"/* "$dir/subprojects/packagecache/" 2>/dev/null
  cat >"$dir/meson.build" <<'MESON'
project('wraps', 'cpp', default_options : ['cpp_std=c++17'])
fmt_dep = dependency('fmt', version : '>= 9', fallback : ['fmt', 'fmt_dep'])
catch2_dep = dependency('catch2', version : ['>= 2.13', '< 3'], fallback : ['catch2', 'catch2_dep'])
executable('f', 'f.cpp', dependencies : fmt_dep, cpp_args : '-DFMT_HEADER_ONLY')
static_library('c', 'c.cpp', dependencies : [fmt_dep, catch2_dep], cpp_args : '-DFMT_HEADER_ONLY')
MESON
  cat >"$dir/f.cpp" <<'CPP'
#include <fmt/format.h>
int main() { fmt::print("{:>4}|{}\n", 42, "x"); }
CPP
  cat >"$dir/c.cpp" <<'CPP'
#include <catch2/catch.hpp>
#include <fmt/format.h>
TEST_CASE("fmt from its wrap formats") { REQUIRE(fmt::format("{:>4}", 42) == "  42"); }
CPP
}

test_wraps_fetch_verify_and_build() {
  local p=$TEST_TMP/wraps
  _wraps_project "$p"
  capture meson setup "$p/b" "$p" --force-fallback-for=fmt,catch2
  assert_eq 0 "$rc" "meson setup with the wraps forced (stdout: $out; stderr: $err)"
  assert_contains "$out" "Subproject fmt finished" "meson's account of the fmt subproject"
  assert_contains "$out" "Subproject catch2 finished" "meson's account of the catch2 subproject"
  capture ninja -C "$p/b"
  assert_eq 0 "$rc" "build (stdout: $out; stderr: $err)"
  # The headers compiled are the subprojects', not the system's.
  local cmds; cmds=$(cat "$p/b/compile_commands.json")
  assert_contains "$cmds" "subprojects/fmtlib-9.1.0+ds1/include" "the fmt include path"
  assert_contains "$cmds" "subprojects/catch2-2.13.10/single_include" "the Catch2 include path"
  capture "$p/b/f"
  assert_eq "  42|x" "$out" "the fmt program's output (stderr: $err)"
  mkdir -p "$_wraps_cache" && cp "$p"/subprojects/packagecache/*.tar.gz "$_wraps_cache/"
}

test_wrap_with_a_wrong_hash_is_refused() {
  local p=$TEST_TMP/wrong
  _wraps_project "$p"
  sed -i 's/^source_hash = .*/source_hash = 0000000000000000000000000000000000000000000000000000000000000000/' \
    "$p/subprojects/fmt.wrap"
  capture meson setup "$p/b" "$p" --force-fallback-for=fmt,catch2
  assert_ne 0 "$rc" "meson setup with a wrong fmt hash"
  assert_contains "$out$err" "hash" "meson's error"
}
