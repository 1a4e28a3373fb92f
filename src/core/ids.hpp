#pragma once
// Container and exec ids become path components: validate before building any path.
#include <string_view>

#include "core/error.hpp"

namespace reaper {

inline constexpr size_t kMaxIdLength = 256;

// 1..256 characters of [A-Za-z0-9._-], and not "." or "..".
Result<void> validate_id(std::string_view id, std::string_view what = "container id");

}  // namespace reaper
