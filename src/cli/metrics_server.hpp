#pragma once
// `reaper metrics --listen ADDR:PORT`: GET /metrics and /healthz over HTTP/1.1.
//
// A scrape endpoint on a node must never become the node's problem: one thread, one
// Boost.Asio loop, one response per connection (then it is closed), requests read with a
// size cap and a deadline so a slow or silent client costs a socket for a few seconds and
// never delays another, a cap on open connections, and SIGTERM/SIGINT end it at once with
// every socket closed. The metrics are collected for each GET /metrics (the audit trail
// only as far as it grew since the last one: metrics.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace reaper::cli {

struct ListenAddress {
  std::string host;  // an IPv4 or IPv6 literal
  uint16_t port = 0;  // 0: any free port (the one bound is logged)
};

// "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "[::]:9464".
Result<ListenAddress> parse_listen_address(std::string_view text);

// The answer to one request line and its headers (all of the request we read).
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  bool head = false;  // a HEAD request: headers only
};
HttpResponse answer_request(std::string_view head, const std::function<std::string()>& metrics);
std::string format_response(const HttpResponse& r);

// Serves until SIGTERM or SIGINT; "reaper: metrics: listening on ADDR:PORT" on stderr once
// bound. Returns the CLI exit code.
int serve_metrics(const ListenAddress& address, std::function<std::string()> metrics);

}  // namespace reaper::cli
