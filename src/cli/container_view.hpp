#pragma once
// The JSON shape of a container shared by `reaper state --json` and `reaper list --json`:
// "namespace" is the containerd namespace, null for reaper-runtime's containers.
#include <boost/json.hpp>

#include "cli/places.hpp"
#include "core/container.hpp"

namespace reaper::cli {

inline boost::json::object state_json(const Located& l) {
  const Observed& o = l.observed;
  boost::json::object j;
  j["id"] = o.state.id;
  if (l.place.ns.empty()) j["namespace"] = nullptr;
  else j["namespace"] = l.place.ns;
  j["status"] = status_name(o.status);
  j["pid"] = o.state.pid;
  j["bundle"] = o.state.bundle;
  j["created"] = format_time(o.state.created_ns);
  if (o.state.started_ns) j["started"] = format_time(*o.state.started_ns);
  if (o.state.exited_ns) j["exited"] = format_time(*o.state.exited_ns);
  if (o.state.exit_status) j["exitStatus"] = *o.state.exit_status;
  if (!o.state.error.empty()) j["error"] = o.state.error;
  if (!o.state.overlay_group.empty()) j["overlayGroup"] = o.state.overlay_group;
  return j;
}

}  // namespace reaper::cli
