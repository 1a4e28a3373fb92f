// Reading an upper layer against a host directory: whiteouts, opaque directories,
// copy-ups that changed nothing, masks and the path filter (core/overlay_diff.hpp).
// Needs root for the whiteout (mknod 0/0) and the trusted.* xattr.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/overlay_diff.hpp"

using namespace reaper;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::vector<std::string> lines(const std::vector<DiffEntry>& entries, const std::string& base) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    std::string c;
    for (const auto& x : e.changes) c += " " + x;
    out.push_back(std::string(diff_kind_name(e.kind)) + " " + e.path.substr(base.size()) + " " + e.type + c);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("overlay diff: one layer read against its host directory") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root (whiteouts, trusted.* xattrs)");
    return;
  }
  fs::path base = fs::temp_directory_path() / ("reaper-diff-test-" + std::to_string(::getpid()));
  fs::path host = base / "host", upper = base / "upper";
  put(host / "same", "x");
  put(host / "changed", "x");
  put(host / "gone", "x");
  put(host / "opaque/old", "x");
  put(host / "secret", "x");
  put(upper / "same", "x");
  put(upper / "changed", "y");
  put(upper / "added/new", "n");
  put(upper / "opaque/fresh", "f");
  put(upper / "secret", "");
  REQUIRE(::mknod((upper / "gone").c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0);
  REQUIRE(::setxattr((upper / "opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  DiffOptions options;
  options.mask_patterns = {host.string() + "/sec*"};
  std::vector<DiffEntry> out;
  REQUIRE(diff_layer(0, host.string(), upper.string(), options, out));
  CHECK(lines(out, host.string()) == std::vector<std::string>{
                                         "added /added dir", "added /added/new file", "added /opaque/fresh file",
                                         "changed /changed file content", "deleted /gone file",
                                         "deleted /opaque/old file", "masked /secret file"});
  out.clear();
  options.prefix = (host / "opaque").string();
  REQUIRE(diff_layer(0, host.string(), upper.string(), options, out));
  CHECK(lines(out, host.string()) == std::vector<std::string>{"added /opaque/fresh file", "deleted /opaque/old file"});
  fs::remove_all(base);
}

TEST_CASE("overlay diff: masks match a path or a directory above it") {
  CHECK(path_masked("/etc/shadow", {"/etc/shadow"}));
  CHECK(path_masked("/etc/ssh/ssh_host_rsa_key", {"/etc/ssh/ssh_host_*_key"}));
  CHECK(path_masked("/etc/sudoers.d/admins", {"/etc/sudoers.d"}));
  CHECK_FALSE(path_masked("/etc/shadow-", {"/etc/shadow"}));
  CHECK_FALSE(path_masked("/etc/ssh/x/ssh_host_rsa_key", {"/etc/ssh/ssh_host_*_key"}));
}
