#pragma once
// Command-line flags in runc's style: --name value, --name=value, -n value, and
// boolean flags; "--" ends the flags.
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace reaper {

class Args {
 public:
  bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  std::string get(std::string_view name, std::string fallback = "") const;
  const std::vector<std::string>& all(std::string_view name) const;
  std::vector<std::string> positionals;

 private:
  friend class ArgParser;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

class ArgParser {
 public:
  // The first name is the canonical one Args is queried with.
  ArgParser& flag(std::initializer_list<std::string_view> names, bool takes_value = false);
  // With `stop_at_positional`, the first positional and everything after it are
  // positionals (global flags before a verb; exec's command after the id).
  Result<Args> parse(int argc, char** argv, bool stop_at_positional = false) const;

 private:
  struct Def {
    std::vector<std::string> names;
    bool takes_value;
  };
  const Def* find(std::string_view name) const;
  std::vector<Def> defs_;
};

}  // namespace reaper
