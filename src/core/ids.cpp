#include "core/ids.hpp"

namespace reaper {

Result<void> validate_id(std::string_view id, std::string_view what) {
  if (id.empty()) return failf(ErrorKind::kInvalidArgument, "invalid {}: empty", what);
  if (id.size() > kMaxIdLength)
    return failf(ErrorKind::kInvalidArgument, "invalid {}: longer than {} characters", what, kMaxIdLength);
  if (id == "." || id == "..") return failf(ErrorKind::kInvalidArgument, "invalid {} {:?}", what, id);
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return failf(ErrorKind::kInvalidArgument, "invalid {} {:?}: only [A-Za-z0-9._-] allowed", what, id);
  }
  return {};
}

}  // namespace reaper
