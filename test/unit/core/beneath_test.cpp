// Path operations inside a directory others may write to (core/beneath.hpp): planted
// symlinks, FIFOs and hard links are refused by name; removal never follows a link.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "core/beneath.hpp"
#include "core/files.hpp"

using namespace reaper;

namespace {
struct Scratch {
  std::string path;
  Scratch() {
    char tmpl[] = "/tmp/reaper-beneath-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Scratch() {
    auto ignored = files::remove_tree(path);
    (void)ignored;
  }
};
}  // namespace

TEST_CASE("beneath: a planted symlink is refused by name, its target untouched") {
  Scratch s;
  REQUIRE(files::make_dirs(s.path + "/root", 0700));
  REQUIRE(files::make_dirs(s.path + "/outside", 0700));
  REQUIRE(::symlink((s.path + "/outside").c_str(), (s.path + "/root/group").c_str()) == 0);
  auto root = beneath::open_root(s.path + "/root", false);
  REQUIRE(root);
  auto dir = beneath::make_dir(root->get(), "group", 0700, "R/group");
  REQUIRE_FALSE(dir);
  CHECK_THAT(dir.error().message, Catch::Contains("R/group is a symbolic link"));
  auto file = beneath::open_file(root->get(), "group", O_RDWR | O_CREAT, 0600, "R/group");
  REQUIRE_FALSE(file);
  REQUIRE(::symlink((s.path + "/outside/new").c_str(), (s.path + "/root/dangling").c_str()) == 0);
  auto dangling = beneath::open_file(root->get(), "dangling", O_RDWR | O_CREAT, 0600, "R/dangling");
  REQUIRE_FALSE(dangling);
  CHECK_FALSE(files::exists(s.path + "/outside/new"));
  // The root itself through a link: refused too.
  auto via_link = beneath::open_root(s.path + "/root/group", false);
  REQUIRE_FALSE(via_link);
  CHECK_THAT(via_link.error().describe(), Catch::Contains("symbolic link"));
}

TEST_CASE("beneath: FIFOs and hard links are never opened as reaper's files") {
  Scratch s;
  auto root = beneath::open_root(s.path, false);
  REQUIRE(root);
  REQUIRE(::mkfifo((s.path + "/lock").c_str(), 0600) == 0);
  auto fifo = beneath::open_file(root->get(), "lock", O_RDWR | O_CREAT, 0600, "R/lock");
  REQUIRE_FALSE(fifo);
  CHECK_THAT(fifo.error().message, Catch::Contains("not a regular file"));
  REQUIRE(files::write_atomic(s.path + "/a", "x"));
  REQUIRE(::link((s.path + "/a").c_str(), (s.path + "/b").c_str()) == 0);
  auto linked = beneath::open_file(root->get(), "b", O_RDWR, 0, "R/b");
  REQUIRE_FALSE(linked);
  CHECK_THAT(linked.error().message, Catch::Contains("hard links"));
  auto made = beneath::open_file(root->get(), "c", O_RDWR | O_CREAT, 0600, "R/c");
  REQUIRE(made);
  REQUIRE(beneath::write_file(root->get(), "d", "data", "R/d"));
  CHECK(beneath::read_file(root->get(), "d", "R/d").value() == "data");
  CHECK_FALSE(beneath::open_dir(root->get(), "../x", "R/../x"));
}

TEST_CASE("beneath: remove takes links as links and trees whole") {
  Scratch s;
  REQUIRE(files::make_dirs(s.path + "/outside", 0700));
  REQUIRE(files::write_atomic(s.path + "/outside/keep", "k"));
  REQUIRE(files::make_dirs(s.path + "/root/g/layers/0", 0700));
  REQUIRE(files::write_atomic(s.path + "/root/g/layers/0/f", "f"));
  REQUIRE(::symlink((s.path + "/outside").c_str(), (s.path + "/root/g/layers/link").c_str()) == 0);
  auto root = beneath::open_root(s.path + "/root", false);
  REQUIRE(root);
  REQUIRE(beneath::remove(root->get(), "g", "R/g"));
  CHECK_FALSE(files::exists(s.path + "/root/g"));
  CHECK(files::read(s.path + "/outside/keep").value() == "k");
  CHECK(beneath::remove(root->get(), "missing", "R/missing"));
}

TEST_CASE("beneath: a held lock is waited on for a bounded time") {
  Scratch s;
  auto root = beneath::open_root(s.path, false);
  REQUIRE(root);
  auto a = beneath::open_file(root->get(), "lock", O_RDWR | O_CREAT, 0600, "R/lock");
  auto b = beneath::open_file(root->get(), "lock", O_RDWR, 0, "R/lock");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(beneath::lock(a->get(), LOCK_EX, 100, "R/lock"));
  auto start = std::chrono::steady_clock::now();
  auto held = beneath::lock(b->get(), LOCK_EX, 200, "R/lock");
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(held);
  CHECK_THAT(held.error().message, Catch::Contains("R/lock is still locked by another process after 200 ms"));
  CHECK(waited >= std::chrono::milliseconds(190));
  CHECK(waited < std::chrono::seconds(3));
  ::flock(a->get(), LOCK_UN);
  CHECK(beneath::lock(b->get(), LOCK_SH, 200, "R/lock"));
}
