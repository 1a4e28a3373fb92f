#include "cli/config_problems.hpp"

#include <cerrno>

#include "core/files.hpp"
#include "core/node_config.hpp"

namespace reaper::cli {

Result<ConfigReport> check_config_file(const std::string& path) {
  ConfigReport report{path, true, {}};
  auto text = files::read(path);
  if (!text) {
    if (text.error().code != ENOENT) return std::unexpected(text.error());
    report.exists = false;
    return report;
  }
  // The parser stops at the first bad value; each line is parsed alone, at its own line
  // number (the lines before it left blank), so that every problem is reported.
  std::string_view rest = *text;
  for (size_t line_no = 1; !rest.empty(); ++line_no) {
    auto nl = rest.find('\n');
    std::string one = std::string(line_no - 1, '\n') + std::string(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    auto parsed = parse_node_config(one, path, {});
    if (!parsed) report.problems.push_back(parsed.error().describe());
    else
      for (auto& w : parsed->warnings) report.problems.push_back(std::move(w));
  }
  return report;
}

}  // namespace reaper::cli
