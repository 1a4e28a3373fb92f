// configured_state_root: REAPER_ROOT from the environment, else from reaper.conf, else
// /run/reaper, for every personality (the shim, reaper-runtime's default --root, the CLI).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/files.hpp"
#include "core/node_config.hpp"

namespace {

// Sets or unsets a variable for one scope, then puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("state root: environment, then reaper.conf, then /run/reaper") {
  char tmpl[] = "/tmp/reaper-unit.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string conf = dir + "/reaper.conf";
  ScopedEnv config("REAPER_CONFIG", conf.c_str());
  {
    ScopedEnv root("REAPER_ROOT", nullptr);
    CHECK(reaper::configured_state_root() == "/run/reaper");  // no file
    REQUIRE(reaper::files::write_atomic(conf, "# node\nREAPER_ROOT=/srv/reaper-state\n"));
    CHECK(reaper::configured_state_root() == "/srv/reaper-state");
    REQUIRE(reaper::files::write_atomic(conf, "REAPER_ROOT=/srv/x\nREAPER_DNS_MODE=sideways\n"));
    CHECK(reaper::configured_state_root() == "/run/reaper");  // a broken file: the default
  }
  {
    ScopedEnv root("REAPER_ROOT", "/env/root");
    CHECK(reaper::configured_state_root() == "/env/root");  // broken file, environment wins
    REQUIRE(reaper::files::write_atomic(conf, "REAPER_ROOT=/srv/reaper-state\n"));
    CHECK(reaper::configured_state_root() == "/env/root");
  }
  REQUIRE(reaper::files::remove_tree(dir));
}
