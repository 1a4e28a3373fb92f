#include "core/args.hpp"

namespace reaper {

std::string Args::get(std::string_view name, std::string fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return fallback;
  return it->second.back();
}

const std::vector<std::string>& Args::all(std::string_view name) const {
  static const std::vector<std::string> none;
  auto it = values_.find(name);
  return it == values_.end() ? none : it->second;
}

ArgParser& ArgParser::flag(std::initializer_list<std::string_view> names, bool takes_value) {
  Def d{{}, takes_value};
  for (auto n : names) d.names.emplace_back(n);
  defs_.push_back(std::move(d));
  return *this;
}

const ArgParser::Def* ArgParser::find(std::string_view name) const {
  for (const auto& d : defs_)
    for (const auto& n : d.names)
      if (n == name) return &d;
  return nullptr;
}

Result<Args> ArgParser::parse(int argc, char** argv, bool stop_at_positional) const {
  Args out;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) out.positionals.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.positionals.emplace_back(arg);
      if (stop_at_positional) {
        for (++i; i < argc; ++i) out.positionals.emplace_back(argv[i]);
        break;
      }
      continue;
    }
    std::string_view name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string_view::npos && arg.starts_with("--")) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    // Go's flag package accepts -flag as well as --flag.
    const Def* def = find(name);
    if (!def && !name.starts_with("--")) def = find(std::string("-") + std::string(name));
    if (!def) return failf("unknown flag {}", name);
    std::string key = def->names.front();
    if (def->takes_value) {
      if (!inline_value) {
        if (i + 1 >= argc) return failf("flag {} needs a value", name);
        value = argv[++i];
      }
      out.values_[key].emplace_back(value);
    } else {
      if (inline_value && value != "true" && value != "false")
        return failf("flag {} takes no value", name);
      if (value == "false") out.values_.erase(key);
      else out.values_[key];
    }
  }
  return out;
}

}  // namespace reaper
