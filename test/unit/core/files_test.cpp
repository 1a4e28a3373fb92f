#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "core/files.hpp"

namespace files = reaper::files;

TEST_CASE("files: atomic write replaces content and leaves no temp file") {
  char tmpl[] = "/tmp/reaper-unit.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string path = dir + "/state.json";
  REQUIRE(files::write_atomic(path, "first"));
  REQUIRE(files::write_atomic(path, "second", 0600));
  CHECK(files::read(path).value() == "second");
  CHECK_FALSE(files::exists(path + ".tmp"));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(files::make_dirs(dir + "/a/b/c", 0700));
  CHECK(files::list_dir(dir).value() == std::vector<std::string>{"a", "state.json"});
  REQUIRE(files::remove_tree(dir));
  CHECK_FALSE(files::exists(dir));
}

TEST_CASE("files: errors carry errno and the path") {
  auto r = files::read("/nonexistent/x");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ENOENT);
  CHECK(r.error().describe() == "open /nonexistent/x: No such file or directory");
  CHECK_FALSE(files::write_atomic("/nonexistent/dir/x", "data"));
}
