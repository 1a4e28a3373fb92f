// libFuzzer harness for the config.json parser and the state file reader: any input
// must give a value or an error, never a crash, a hang or undefined behaviour.
// Not part of the default build. clang 14 (bookworm) cannot compile libstdc++ 12's
// std::expected, so build it with g++ and AFL++ (Debian: afl++, gcc-12-plugin-dev):
//   afl-g++-fast -std=c++2b -O1 -DFMT_HEADER_ONLY -D_GNU_SOURCE -Isrc \
//     test/unit/core/fuzz_oci_spec.cpp src/core/{oci_spec,state_store,files,error,ids,sha256}.cpp \
//     /usr/lib/x86_64-linux-gnu/libboost_json.a -o fuzz-oci
// with AFL++'s libFuzzer driver (-fsanitize=fuzzer is accepted by afl-g++-fast).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/oci_spec.hpp"
#include "core/state_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = reaper::oci::parse_spec(text);
  if (spec && spec->process.args.empty()) __builtin_trap();  // the parser promises args
  auto process = reaper::oci::parse_process(text);
  (void)process;
  auto state = reaper::state_from_json(text);
  (void)state;
  return 0;
}
