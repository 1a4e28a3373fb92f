#include <catch2/catch.hpp>

#include "core/args.hpp"

namespace {
reaper::Result<reaper::Args> parse(const reaper::ArgParser& p, std::vector<std::string> words,
                                   bool stop = false) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return p.parse(static_cast<int>(argv.size()), argv.data(), stop);
}
}  // namespace

TEST_CASE("args: values, booleans, aliases and --") {
  reaper::ArgParser p;
  p.flag({"--bundle", "-b"}, true).flag({"--force", "-f"}).flag({"--env", "-e"}, true);
  auto a = parse(p, {"-b", "/x", "id", "--force", "--env=A=1", "-e", "B=2", "--", "-z"});
  REQUIRE(a);
  CHECK(a->get("--bundle") == "/x");
  CHECK(a->has("--force"));
  CHECK(a->all("--env") == std::vector<std::string>{"A=1", "B=2"});
  CHECK(a->positionals == std::vector<std::string>{"id", "-z"});
}

TEST_CASE("args: Go-style single-dash long flags") {
  reaper::ArgParser p;
  p.flag({"--address"}, true);
  auto a = parse(p, {"-address", "/run/x"});
  REQUIRE(a);
  CHECK(a->get("--address") == "/run/x");
}

TEST_CASE("args: errors") {
  reaper::ArgParser p;
  p.flag({"--bundle"}, true).flag({"--force"});
  CHECK_FALSE(parse(p, {"--nope"}));
  CHECK_FALSE(parse(p, {"--bundle"}));
  CHECK_FALSE(parse(p, {"--force=yes"}));
}

TEST_CASE("args: stop at the first positional") {
  reaper::ArgParser p;
  p.flag({"--tty", "-t"});
  auto a = parse(p, {"-t", "id", "sh", "-c", "echo"}, true);
  REQUIRE(a);
  CHECK(a->has("--tty"));
  CHECK(a->positionals == std::vector<std::string>{"id", "sh", "-c", "echo"});
}
