# Every shell script of the repository passes shellcheck (test/shellcheck.sh: each
# finding fixed, or disabled with a comment saying why).

test_shellcheck_every_script() {
  capture bash "$TOP/test/shellcheck.sh"
  [[ $rc -eq 0 ]] || fail "shellcheck findings:"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "clean"
}
