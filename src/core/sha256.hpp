#pragma once
// SHA-256 (FIPS 180-4): containerd names shim sockets by the digest of
// <address>/<namespace>/<id>, and long ids get digest-named state directories.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace reaper {

std::array<uint8_t, 32> sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

}  // namespace reaper
