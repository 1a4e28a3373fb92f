#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/spawn.hpp"

namespace {
reaper::oci::Process process(std::vector<std::string> args) {
  reaper::oci::Process p;
  p.args = std::move(args);
  p.env = {"PATH=/usr/bin:/bin"};
  return p;
}

int wait_status(pid_t pid) {
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) == 0);
  return reaper::exit_status_from_wait(info.si_code, info.si_status);
}
}  // namespace

TEST_CASE("spawn: a gated child runs only after release") {
  auto child = reaper::spawn(process({"sh", "-c", "exit 7"}), {}, true);
  REQUIRE(child);
  siginfo_t info{};
  // Still held: nothing to reap yet.
  CHECK(::waitid(P_PID, static_cast<id_t>(child->pid), &info, WEXITED | WNOHANG) == 0);
  CHECK(info.si_pid == 0);
  REQUIRE(reaper::release(*child));
  CHECK(wait_status(child->pid) == 7);
}

// The program is looked up while the child sets itself up, as runc's create does: what
// is missing or not executable fails the spawn, with runc's words.
TEST_CASE("spawn: a program missing from PATH fails the spawn itself") {
  auto child = reaper::spawn(process({"no-such-binary-here"}), {}, true);
  REQUIRE_FALSE(child);
  CHECK_THAT(child.error().message,
             Catch::Contains("exec: \"no-such-binary-here\": executable file not found in $PATH"));
}

TEST_CASE("spawn: a missing path fails the spawn itself") {
  auto child = reaper::spawn(process({"/nonexistent-dir/prog"}), {}, false);
  REQUIRE_FALSE(child);
  CHECK_THAT(child.error().message, Catch::Contains("No such file or directory"));
}

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/spawn-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, const std::string& text, mode_t mode) const {
    std::string f = path + "/" + name;
    std::ofstream(f) << text;
    REQUIRE(::chmod(f.c_str(), mode) == 0);
    return f;
  }
};
}  // namespace

TEST_CASE("spawn: a file that is not executable fails the spawn itself") {
  TempDir d;
  auto text = d.file("text", "#!/bin/sh\nexit 0\n", 0644);
  auto child = reaper::spawn(process({text}), {}, false);
  REQUIRE_FALSE(child);
  CHECK_THAT(child.error().message, Catch::Contains("exec: \"" + text + "\": Permission denied"));
}

TEST_CASE("spawn: PATH is searched past entries that are not executable") {
  TempDir d;
  std::filesystem::create_directory(d.path + "/a");
  std::filesystem::create_directory(d.path + "/b");
  d.file("a/prog", "#!/bin/sh\nexit 4\n", 0644);
  d.file("b/prog", "#!/bin/sh\nexit 3\n", 0755);
  auto p = process({"prog"});
  p.env = {"PATH=" + d.path + "/a:" + d.path + "/b:/bin"};
  auto child = reaper::spawn(p, {}, false);
  REQUIRE(child);
  CHECK(reaper::exec_outcome(*child));
  CHECK(wait_status(child->pid) == 3);
}

TEST_CASE("spawn: an execve that fails after the lookup exits 126 and says why") {
  TempDir d;
  auto junk = d.file("junk", "not a program\n", 0755);  // no #!: execve says ENOEXEC
  auto child = reaper::spawn(process({junk}), {}, false);
  REQUIRE(child);
  auto outcome = reaper::exec_outcome(*child);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().exit_status == 126);
  CHECK_THAT(outcome.error().message, Catch::Contains("Exec format error"));
  CHECK(wait_status(child->pid) == 126);
}

TEST_CASE("spawn: a program removed between the spawn and the gate exits 127") {
  TempDir d;
  auto prog = d.file("prog", "#!/bin/sh\nexit 0\n", 0755);
  auto child = reaper::spawn(process({prog}), {}, true);
  REQUIRE(child);
  std::filesystem::remove(prog);
  reaper::open_gate(*child);
  auto outcome = reaper::exec_outcome(*child);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().exit_status == 127);
  CHECK(wait_status(child->pid) == 127);
}

TEST_CASE("spawn: a bad cwd fails the spawn itself") {
  auto p = process({"true"});
  p.cwd = "/nonexistent-dir";
  auto child = reaper::spawn(p, {}, false);
  REQUIRE_FALSE(child);
  CHECK_THAT(child.error().message, Catch::Contains("chdir"));
}

TEST_CASE("spawn: exit status for signals is 128 + signal") {
  auto child = reaper::spawn(process({"sh", "-c", "kill -TERM $$"}), {}, false);
  REQUIRE(child);
  REQUIRE(reaper::exec_outcome(*child));
  CHECK(wait_status(child->pid) == 143);
}
