#pragma once
// Publishes task events to containerd (Events/Forward over ttrpc), one at a time
// and in order: containerd serves one connection's requests concurrently, so
// pipelined Forwards could be reordered. A failed Forward (containerd restarting)
// is retried with backoff, keeping the order; the queue is bounded.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <string>

#include "ttrpc/client.hpp"

namespace reaper::shim {

class Publisher {
 public:
  Publisher(boost::asio::io_context& io, std::string ttrpc_address, std::string ns);

  // topic "/tasks/exit", type "containerd.events.TaskExit", payload the serialized event.
  void publish(std::string topic, std::string type_url, std::string payload);
  // Calls `done` once every queued event has been delivered (or given up on).
  void flush(std::function<void()> done);
  size_t queued() const { return queue_.size(); }

 private:
  struct Event {
    std::string topic, type_url, payload;
    int64_t timestamp_ns;
    int attempts = 0;
  };
  void send_next();
  void sent(bool ok);

  boost::asio::io_context& io_;
  std::string ns_;
  ttrpc::Client client_;
  boost::asio::steady_timer retry_;
  std::deque<Event> queue_;
  bool in_flight_ = false;
  bool enabled_;
  std::vector<std::function<void()>> flushed_;
};

}  // namespace reaper::shim
