#pragma once
// Diagnostics of a personality: to stderr by default, or appended to a log file as
// text or JSON lines ({"level","msg","time"}), the format containerd reads from runc.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace reaper::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// `path` empty: stderr. Fails only if the file cannot be opened.
Result<void> init(std::string_view program, const std::string& path, bool json, bool debug);
void write(Level level, std::string_view message);

template <class... A>
void error(fmt::format_string<A...> f, A&&... a) { write(Level::kError, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) { write(Level::kWarn, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) { write(Level::kInfo, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) { write(Level::kDebug, fmt::format(f, std::forward<A>(a)...)); }

}  // namespace reaper::log
