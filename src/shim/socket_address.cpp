#include "shim/socket_address.hpp"

#include <vector>

#include "core/sha256.hpp"

namespace reaper::shim {
namespace {

// Go's filepath.Join: join with '/', then clean ("//" and "." removed, ".." resolved).
std::string clean_join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (!joined.empty()) joined += '/';
    joined += p;
  }
  bool absolute = !joined.empty() && joined[0] == '/';
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    std::string seg = joined.substr(start, end - start);
    if (seg == "..") {
      if (!out.empty() && out.back() != "..") out.pop_back();
      else if (!absolute) out.push_back(seg);
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    start = end + 1;
  }
  std::string result = absolute ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) result += (i ? "/" : "") + out[i];
  return result.empty() ? "." : result;
}

}  // namespace

std::string group_id(const std::map<std::string, std::string>& annotations, const std::string& id) {
  for (const char* key : {"io.containerd.reaper.v2.group", "io.kubernetes.cri.sandbox-id"}) {
    auto it = annotations.find(key);
    if (it != annotations.end() && !it->second.empty()) return it->second;
  }
  return id;
}

std::string socket_path(const std::string& address, const std::string& ns, const std::string& group,
                        const std::string& dir) {
  return clean_join({dir, sha256_hex(clean_join({address, ns, group}))});
}

}  // namespace reaper::shim
