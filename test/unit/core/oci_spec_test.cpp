#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "core/oci_spec.hpp"

using reaper::oci::parse_spec;

namespace {
std::string with_process(const std::string& process, const std::string& extra = "") {
  return R"({"ociVersion":"1.0.2","process":)" + process + extra + "}";
}
}  // namespace

TEST_CASE("oci: a full process is parsed") {
  auto spec = parse_spec(with_process(
      R"({"terminal":true,"consoleSize":{"height":24,"width":80},
          "user":{"uid":1000,"gid":1001,"umask":63,"additionalGids":[27,100]},
          "args":["sh","-c","id"],"env":["PATH=/bin","A=b"],"cwd":"/tmp",
          "rlimits":[{"type":"RLIMIT_NOFILE","soft":1024,"hard":4096}],
          "noNewPrivileges":true,"oomScoreAdj":500,
          "capabilities":{"bounding":["CAP_KILL"]}})",
      R"(,"root":{"path":"rootfs"},"hostname":"x","linux":{"namespaces":[]},
         "mounts":[{"destination":"/data","type":"bind","source":"/srv","options":["rbind","ro"]}],
         "annotations":{"io.kubernetes.cri.container-type":"sandbox"})"));
  REQUIRE(spec);
  const auto& p = spec->process;
  CHECK(p.terminal);
  CHECK(p.console_height == 24);
  CHECK(p.user.uid == 1000);
  CHECK(p.user.gid == 1001);
  CHECK(p.user.umask.value() == 077);
  CHECK(p.user.additional_gids == std::vector<gid_t>{27, 100});
  CHECK(p.args == std::vector<std::string>{"sh", "-c", "id"});
  CHECK(p.cwd == "/tmp");
  REQUIRE(p.rlimits.size() == 1);
  CHECK(p.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(p.rlimits[0].hard == 4096);
  CHECK(p.no_new_privileges);
  CHECK(p.oom_score_adj.value() == 500);
  REQUIRE(spec->mounts.size() == 1);
  CHECK(spec->mounts[0].options == std::vector<std::string>{"rbind", "ro"});
  CHECK(spec->annotations.at("io.kubernetes.cri.container-type") == "sandbox");
  CHECK(reaper::oci::env_lookup(p.env, "PATH").value() == "/bin");
  CHECK_FALSE(reaper::oci::env_lookup(p.env, "PAT"));
}

TEST_CASE("oci: defaults") {
  auto spec = parse_spec(with_process(R"({"args":["true"]})"));
  REQUIRE(spec);
  CHECK(spec->process.cwd == "/");
  CHECK(spec->process.user.uid == 0);
  CHECK_FALSE(spec->process.user.umask);
  CHECK(spec->process.env.empty());
}

TEST_CASE("oci: bad input is refused with a message naming the field") {
  struct Case {
    std::string json, expect;
  };
  std::vector<Case> cases = {
      {"{", "malformed JSON"},
      {"[]", "must be an object"},
      {R"({"process":{"args":["x"]}})", "missing ociVersion"},
      {R"({"ociVersion":"1.0.2"})", "missing process"},
      {with_process(R"({"cwd":"/"})"), "process.args: missing"},
      {with_process(R"({"args":[]})"), "must not be empty"},
      {with_process(R"({"args":"ls"})"), "process.args: must be an array"},
      {with_process(R"({"args":[1]})"), "process.args: must be an array"},
      {with_process(R"({"args":["x"],"cwd":"rel"})"), "absolute"},
      {with_process(R"({"args":["x"],"user":{"uid":-1}})"), "process.user.uid"},
      {with_process(R"({"args":["x"],"user":{"uid":"0"}})"), "process.user.uid"},
      {with_process(R"({"args":["x"],"user":{"umask":4096}})"), "umask"},
      {with_process(R"({"args":["x"],"terminal":"yes"})"), "process.terminal"},
      {with_process(R"({"args":["x"],"bogus":1})"), "unknown field \"bogus\""},
      {with_process(R"({"args":["x"]})", R"(,"bogus":1)"), "unknown field \"bogus\""},
      {with_process(R"({"args":["x"],"rlimits":[{"type":"RLIMIT_NOPE"}]})"), "unknown type"},
      {with_process(R"({"args":["x"],"rlimits":[{"type":"RLIMIT_CPU","soft":2,"hard":1}]})"), "soft"},
      {with_process(R"({"args":["x"],"oomScoreAdj":5000})"), "oomScoreAdj"},
      {with_process(R"({"args":["x"]})", R"(,"annotations":{"a":1})"), "annotations.a"},
      {with_process(R"({"args":["x"]})", R"(,"mounts":[{"source":"/x"}])"), "destination"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto r = parse_spec(c.json);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(c.expect));
  }
}
