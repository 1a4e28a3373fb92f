#pragma once
// Small protobuf helpers for the shim: timestamps as containerd expects them and
// Any values with bare type URLs (a "type.googleapis.com/" prefix breaks 1.6).
#include <cstdint>
#include <string>

#include "any.pb.h"
#include "timestamp.pb.h"

namespace reaper::shim {

// "Not exited" as runc sends it: 0001-01-01T00:00:00Z.
inline constexpr int64_t kZeroTimeSeconds = -62135596800;

inline void set_time(google::protobuf::Timestamp* ts, int64_t ns) {
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}
inline void set_unset_time(google::protobuf::Timestamp* ts) {
  ts->set_seconds(kZeroTimeSeconds);
  ts->set_nanos(0);
}

template <class Message>
void pack_any(google::protobuf::Any* any, const std::string& type_url, const Message& m) {
  any->set_type_url(type_url);
  any->set_value(m.SerializeAsString());
}

}  // namespace reaper::shim
