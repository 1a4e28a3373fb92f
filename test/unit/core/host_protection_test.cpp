// Node configuration, pod annotations, group keys, shadow sanitising, mountinfo and
// mount planning: the pure decisions of the host-protection layer (docs/overlay.md).
#include <catch2/catch.hpp>

#include "core/container_mounts.hpp"
#include "core/masking.hpp"
#include "core/mountinfo.hpp"
#include "core/node_config.hpp"
#include "core/overlay_group.hpp"
#include "core/pod_settings.hpp"

using namespace reaper;

TEST_CASE("reaper.conf: KEY=VALUE lines, comments, quotes, environment wins") {
  auto c = parse_node_config("# node\n\nREAPER_DNS_MODE = kubernetes\nREAPER_OVERLAY_ROOT=\"/srv/ov/\"\n"
                             "REAPER_MASK_PATHS=/a:/b*\n",
                             "reaper.conf", {"REAPER_DNS_MODE=host", "HOME=/root"});
  REQUIRE(c);
  CHECK(c->dns == DnsMode::kHost);
  CHECK(c->overlay_root == "/srv/ov");
  CHECK(c->mask_paths == std::vector<std::string>{"/a", "/b*"});
  CHECK(c->warnings.empty());
}

TEST_CASE("reaper.conf: bad lines are errors naming the line; unknown REAPER_ keys warn") {
  auto no_eq = parse_node_config("REAPER_DNS_MODE=host\nREAPER_MASK\n", "f", {});
  REQUIRE_FALSE(no_eq);
  CHECK_THAT(no_eq.error().message, Catch::Contains("f:2"));
  auto foreign = parse_node_config("PATH=/bin\n", "f", {});
  REQUIRE_FALSE(foreign);
  CHECK_THAT(foreign.error().message, Catch::Contains("REAPER_"));
  auto bad = parse_node_config("REAPER_OVERLAY_GROUPS=cluster\n", "f", {});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("namespace or node"));
  CHECK_FALSE(parse_node_config("REAPER_OVERLAY_ROOT=relative\n", "f", {}));
  CHECK_FALSE(parse_node_config("", "f", {"REAPER_MASK=maybe"}));
  auto unknown = parse_node_config("REAPER_SOMETHING=1\n", "f", {});
  REQUIRE(unknown);
  REQUIRE(unknown->warnings.size() == 1);
  CHECK_THAT(unknown->warnings[0], Catch::Contains("REAPER_SOMETHING"));
}

TEST_CASE("group keys never collide and parse back") {
  OverlayGroup a{"a--b", std::nullopt}, b{"a", "b"}, c{std::nullopt, "x"}, d{};
  CHECK(a.key() == "k8s.a--b");
  CHECK(b.key() == "k8s.a.b");
  CHECK(c.key() == "node.x");
  CHECK(d.key() == "node");
  for (const auto& g : {a, b, c, d}) {
    auto back = parse_group_key(g.key());
    REQUIRE(back);
    CHECK(*back == g);
  }
  for (const char* bad : {"", "..", "k8s.", "k8s.A", "node.", "node.x.y", "k8s.a.b.c", "other", "k8s.a/b"})
    CHECK_FALSE(parse_group_key(bad));
}

TEST_CASE("annotations: allowlist only, bad values fall back with a note") {
  NodeConfig node;
  auto s = pod_settings(node, {{"io.kubernetes.pod.namespace", "team"},
                               {"reaper.runtime/overlay-name", "tools"},
                               {"reaper.runtime/dns-mode", "kubernetes"},
                               {"reaper.runtime/overlay-root", "/tmp"}});
  REQUIRE(s);
  CHECK(s->group.key() == "k8s.team.tools");
  CHECK(s->dns == DnsMode::kKubernetes);
  REQUIRE(s->notes.size() == 1);
  CHECK_THAT(s->notes[0], Catch::Contains("overlay-root"));

  auto bad = pod_settings(node, {{"reaper.runtime/overlay-name", "Tools!"}, {"reaper.runtime/dns-mode", "x"}});
  REQUIRE(bad);
  CHECK(bad->group.key() == "node");
  CHECK(bad->dns == DnsMode::kHost);
  CHECK(bad->notes.size() == 2);

  node.annotations = false;
  auto off = pod_settings(node, {{"reaper.runtime/overlay-name", "tools"}});
  REQUIRE(off);
  CHECK(off->group.key() == "node");

  node.groups = GroupScope::kNode;
  auto nodewide = pod_settings(node, {{"io.kubernetes.cri.sandbox-namespace", "team"}});
  REQUIRE(nodewide);
  CHECK(nodewide->group.key() == "node");
  CHECK_FALSE(pod_settings(NodeConfig{}, {{"io.kubernetes.pod.namespace", "Bad_NS"}}));
}

TEST_CASE("shadow: every hash becomes '!', other lines stay") {
  CHECK(sanitize_shadow("root:$6$abc:19000:0:99999:7:::\n# c\n\nweird\nu::1") ==
        "root:!:19000:0:99999:7:::\n# c\n\nweird\nu:!:1\n");
  CHECK(sanitize_shadow("a:b") == "a:!\n");
}

TEST_CASE("mask list: defaults, append, replace, allowlist, off") {
  NodeConfig c;
  auto d = mask_patterns(c);
  CHECK(std::find(d.begin(), d.end(), "/etc/shadow") != d.end());
  CHECK(std::find(d.begin(), d.end(), "/etc/kubernetes/*.conf") != d.end());
  c.mask_paths = {"/x"};
  CHECK(mask_patterns(c).size() == d.size() + 1);
  c.mask_replace = true;
  CHECK(mask_patterns(c) == std::vector<std::string>{"/x"});
  c.mask = false;
  CHECK(mask_patterns(c).empty());
}

TEST_CASE("mountinfo: escapes, optional fields, propagation") {
  auto m = parse_mountinfo(
      "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "27 26 0:24 / /mnt/with\\040space rw master:3 - tmpfs tmpfs rw\n"
      "28 26 0:25 /sub /srv rw - xfs /dev/vdb rw\n");
  REQUIRE(m);
  REQUIRE(m->size() == 3);
  CHECK((*m)[0].propagates);
  CHECK((*m)[1].mount_point == "/mnt/with space");
  CHECK((*m)[1].propagates);
  CHECK_FALSE((*m)[2].propagates);
  CHECK((*m)[2].root == "/sub");
  CHECK((*m)[2].fstype == "xfs");
  CHECK_FALSE(parse_mountinfo("garbage line\n"));
  CHECK(path_within("/run/x", "/run"));
  CHECK_FALSE(path_within("/runner", "/run"));
}

TEST_CASE("mount plan: bind entries become volumes; bad entries are refused") {
  NodeConfig node;
  oci::Spec spec;
  spec.mounts = {{"/proc", "proc", "proc", {}},
                 {"/dev/shm", "bind", "/dev/shm", {"rbind"}},
                 {"/etc/hosts", "bind", "/etc/hosts", {"rbind"}},
                 {"/etc/resolv.conf", "bind", "/etc/resolv.conf", {"rbind"}},
                 {"/data//x/", "bind", "/tmp", {"bind", "ro", "nosuid"}}};
  auto plan = plan_mounts(node, spec);
  REQUIRE(plan);
  REQUIRE(plan->volumes.size() == 1);
  CHECK(plan->volumes[0].destination == "/data/x");
  CHECK(plan->volumes[0].readonly);
  CHECK_FALSE(plan->volumes[0].recursive);
  CHECK_FALSE(plan->resolv_conf);
  CHECK_FALSE(plan->volumes[0].in_dev);

  // A regular file below /dev (kubelet's termination log) is a volume of the container's
  // own /dev; a directory there (/dev/shm) and anything below /proc or /sys are not.
  oci::Spec term;
  term.mounts = {{"/dev/termination-log", "bind", "/etc/passwd", {"rbind", "rw"}},
                 {"/dev/shm", "bind", "/tmp", {"rbind"}},
                 {"/proc/x", "bind", "/etc/passwd", {"rbind"}},
                 {"/dev", "bind", "/etc/passwd", {"rbind"}}};
  auto tp = plan_mounts(node, term);
  REQUIRE(tp);
  REQUIRE(tp->volumes.size() == 1);
  CHECK(tp->volumes[0].destination == "/dev/termination-log");
  CHECK(tp->volumes[0].in_dev);
  CHECK_FALSE(tp->volumes[0].readonly);

  auto refused = [&](oci::Mount m, const char* why) {
    oci::Spec s;
    s.mounts = {m};
    auto p = plan_mounts(node, s);
    REQUIRE_FALSE(p);
    CHECK_THAT(p.error().describe(), Catch::Contains(why));
  };
  refused({"/x", "bind", "", {}}, "empty");
  refused({"x", "bind", "/tmp", {}}, "absolute");
  refused({"/a/../etc", "bind", "/tmp", {}}, "..");
  refused({"/x", "bind", "rel", {}}, "absolute");
  refused({"/x", "bind", "/nonexistent-reaper-source", {}}, "nonexistent-reaper-source");
  refused({"/", "bind", "/tmp", {}}, "hide");

  node.dns = DnsMode::kKubernetes;
  oci::Spec none;
  CHECK_FALSE(plan_mounts(node, none));
  auto k8s = plan_mounts(node, spec);
  REQUIRE(k8s);
  REQUIRE(k8s->resolv_conf);
  CHECK(k8s->resolv_conf->source == "/etc/resolv.conf");
}
