#include "core/error.hpp"

#include <cstring>

namespace reaper {

std::string Error::describe() const {
  if (code == 0) return message;
  return fmt::format("{}: {}", message, std::strerror(code));
}

Error Error::wrap(std::string_view outer) const {
  return Error{code, fmt::format("{}: {}", outer, message)};
}

}  // namespace reaper
