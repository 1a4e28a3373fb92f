# Every fuzz target's corpus (fuzz/corpus/TARGET: seeds and inputs that once found a
# defect) replayed through the target as built for the test run (fuzz/replay_main.cpp),
# so a fixed defect stays fixed. Under test/sanitizers.sh the replay is sanitized too.

replay_corpus() {  # replay_corpus TARGET
  local exe="$BUILD/fuzz/fuzz-$1" dir="$TOP/fuzz/corpus/$1"
  [[ -x $exe ]] || fail "$exe not built"
  [[ -d $dir ]] || fail "no corpus $dir"
  local expected
  expected=$(find "$dir" -maxdepth 1 -type f | wc -l)
  ((expected > 0)) || fail "empty corpus $dir"
  capture "$exe" "$dir"
  [[ $rc -eq 0 ]] || fail "fuzz-$1 failed on its corpus (status $rc): $out $err"
  assert_eq "replayed $expected inputs" "$out" "fuzz-$1"
}

# Every target in fuzz/meson.build has a test below and a corpus.
test_fuzz_every_target_replayed() {
  local t n=0
  while read -r t; do
    declare -F "test_fuzz_corpus_$t" >/dev/null || fail "no test_fuzz_corpus_$t for target $t"
    n=$((n + 1))
  done < <(sed -n "s/^  '\([a-z_]*\)' : {.*/\1/p" "$TOP/fuzz/meson.build")
  ((n > 0)) || fail "no targets found in fuzz/meson.build"
}

test_fuzz_corpus_ttrpc_frame() { replay_corpus ttrpc_frame; }
test_fuzz_corpus_ttrpc_message() { replay_corpus ttrpc_message; }
test_fuzz_corpus_oci_spec() { replay_corpus oci_spec; }
test_fuzz_corpus_state_json() { replay_corpus state_json; }
test_fuzz_corpus_node_config() { replay_corpus node_config; }
test_fuzz_corpus_mountinfo() { replay_corpus mountinfo; }
test_fuzz_corpus_line_protocol() { replay_corpus line_protocol; }
