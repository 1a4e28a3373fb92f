# src/text-order.txt, the hot-first layout the static binary is linked with (docs/shim.md,
# "Memory"), still names the binary's functions: bench/text-order/check.sh fails once more
# than 3% of its names are no longer defined in the linked binary (renamed or removed; lld
# drops them without a word). Not checked in a build linked without the ordering
# (sanitizers, fuzzing, dynamic, no lld): the check says so and the test passes as a skip.

# _text_order_check [LIST]: runs the check on the build under test; returns 1 when the
# build does not use the ordering (after printing why), 0 otherwise with $rc, $out, $err.
_text_order_check() {
  capture bash "$TOP/bench/text-order/check.sh" "$BUILD" "$@"
  if [[ $rc -eq 77 ]]; then
    echo "SKIP: $out"
    return 1
  fi
}

test_text_order_names_the_functions_of_the_binary() {
  _text_order_check || return 0
  assert_eq 0 "$rc" "check.sh on the repository's list (stdout: $out; stderr: $err)"
  assert_contains "$out" "is current"
}

# The check can fail: a copy of the list with every tenth name renamed (10% gone).
test_text_order_check_fails_on_a_stale_list() {
  local stale=$TEST_TMP/stale.txt
  awk 'NR % 10 == 0 { $0 = $0 "_renamed" } 1' "$TOP/src/text-order.txt" >"$stale"
  _text_order_check "$stale" || return 0
  assert_eq 1 "$rc" "check.sh on a stale copy (stdout: $out; stderr: $err)"
  assert_contains "$out" "is stale"
  assert_contains "$out" "_renamed" "the first missing names"
  assert_contains "$out" "rerun bench/text-order/profile.sh" "the fix"
  # A list that cannot be read is an error, not a pass.
  _text_order_check "$TEST_TMP/none.txt" || return 0
  assert_eq 2 "$rc" "check.sh on a missing list"
  assert_contains "$err" "cannot read"
}
