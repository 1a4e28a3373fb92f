#pragma once
// Signal names as runc accepts them: "KILL", "SIGKILL", "9".
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace reaper {

Result<int> parse_signal(std::string_view text);
std::string signal_name(int sig);  // "SIGKILL", or the number

}  // namespace reaper
