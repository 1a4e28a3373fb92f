#include "shim/publisher.hpp"

#include <chrono>

#include "core/log.hpp"
#include "core/state_store.hpp"
#include "events_ttrpc.pb.h"
#include "shim/proto_util.hpp"

namespace reaper::shim {

namespace {
constexpr size_t kMaxQueued = 4096;
constexpr int kMaxAttempts = 30;  // with backoff capped at 2 s: a minute of containerd restart
constexpr int64_t kForwardTimeoutNs = 5'000'000'000;
}  // namespace

Publisher::Publisher(boost::asio::io_context& io, std::string ttrpc_address, std::string ns)
    : io_(io),
      ns_(std::move(ns)),
      client_(io, ttrpc_address),
      retry_(io),
      enabled_(!ttrpc_address.empty()) {}

void Publisher::publish(std::string topic, std::string type_url, std::string payload) {
  if (!enabled_) return;
  if (queue_.size() >= kMaxQueued) {
    // The oldest event not on the wire goes: the one in flight is still owed an answer.
    auto victim = queue_.begin() + (in_flight_ ? 1 : 0);
    log::error("event queue full: dropping {}", victim->topic);
    queue_.erase(victim);
  }
  queue_.push_back(Event{std::move(topic), std::move(type_url), std::move(payload), now_ns()});
  if (!in_flight_) send_next();
}

void Publisher::flush(std::function<void()> done) {
  if (queue_.empty()) {
    done();
    return;
  }
  flushed_.push_back(std::move(done));
}

void Publisher::send_next() {
  if (queue_.empty()) {
    auto waiting = std::move(flushed_);
    flushed_.clear();
    for (auto& f : waiting) f();
    return;
  }
  in_flight_ = true;
  const Event& e = queue_.front();
  containerd::services::events::ttrpc::v1::ForwardRequest req;
  auto* env = req.mutable_envelope();
  set_time(env->mutable_timestamp(), e.timestamp_ns);
  env->set_namespace_(ns_);
  env->set_topic(e.topic);
  env->mutable_event()->set_type_url(e.type_url);
  env->mutable_event()->set_value(e.payload);
  client_.call("containerd.services.events.ttrpc.v1.Events", "Forward", req.SerializeAsString(),
               {{"containerd-namespace-ttrpc", ns_}}, kForwardTimeoutNs,
               [this](Result<std::string> r) {
                 if (!r) log::warn("publish {}: {}", queue_.front().topic, r.error().describe());
                 sent(r.has_value());
               });
}

void Publisher::sent(bool ok) {
  in_flight_ = false;
  if (queue_.empty()) return;
  if (ok || ++queue_.front().attempts >= kMaxAttempts) {
    if (!ok) log::error("giving up on event {}", queue_.front().topic);
    queue_.pop_front();
    send_next();
    return;
  }
  // containerd is away (restarting): retry the same event later, in order.
  int attempt = queue_.front().attempts;
  retry_.expires_after(std::chrono::milliseconds(std::min(2000, 50 << std::min(attempt, 6))));
  in_flight_ = true;
  retry_.async_wait([this](boost::system::error_code ec) {
    in_flight_ = false;
    if (!ec) send_next();
  });
}

}  // namespace reaper::shim
