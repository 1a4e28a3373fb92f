// The HTTP side of `reaper metrics --listen` (metrics_server.hpp).
#include "cli/metrics_server.hpp"

#include <boost/asio.hpp>
#include <charconv>
#include <memory>

#include "core/log.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace reaper::cli {
namespace {

constexpr size_t kMaxRequestHead = 8192;  // request line and headers
constexpr size_t kMaxConnections = 64;
constexpr auto kReadDeadline = std::chrono::seconds(5);
constexpr auto kWriteDeadline = std::chrono::seconds(10);
constexpr const char* kExposition = "text/plain; version=0.0.4; charset=utf-8";

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
  }
  return "Error";
}

HttpResponse error_response(int status) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::string(reason(status)) + "\n", false};
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

// The next line of `text` without its CRLF (or bare LF); advances `text`.
std::string_view next_line(std::string_view& text) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Header lines are "name: value" with a token name; HTTP/1.1 needs a Host.
bool headers_valid(std::string_view rest, bool http11) {
  bool host = false;
  for (std::string_view line = next_line(rest); !line.empty(); line = next_line(rest)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return false;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    host = host || name == "host";
  }
  return host || !http11;
}

// The last read found the end of the request head (an empty line).
size_t head_end(std::string_view data) {
  size_t crlf = data.find("\r\n\r\n");
  if (crlf != std::string_view::npos) return crlf + 4;
  size_t lf = data.find("\n\n");
  return lf == std::string_view::npos ? std::string_view::npos : lf + 2;
}

class Server;

// One client: read the head (deadline), answer, close. Holds itself alive through the
// handlers it has pending; closing the socket ends them.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Server& server);
  ~Connection();
  void start();

 private:
  void read_more();
  void respond(const HttpResponse& r);
  void close();

  tcp::socket socket_;
  asio::steady_timer deadline_;
  Server& server_;
  std::string in_, out_;
  std::array<char, 2048> chunk_{};
};

class Server {
 public:
  Server(asio::io_context& io, tcp::endpoint endpoint, std::function<std::string()> metrics)
      : io_(io), acceptor_(io), signals_(io, SIGTERM, SIGINT), metrics_(std::move(metrics)) {
    endpoint_ = endpoint;
  }

  Result<tcp::endpoint> open() {
    boost::system::error_code ec;
    acceptor_.open(endpoint_.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint_, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return failf("listen on {}: {}", describe(endpoint_), ec.message());
    tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return failf("listen on {}: {}", describe(endpoint_), ec.message());
    return bound;
  }

  void run() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();  // pending connections are dropped with the loop's handlers
    });
    accept();
    io_.run();
  }

  HttpResponse answer(std::string_view head) const { return answer_request(head, metrics_); }
  void opened() { ++live_; }
  void closed() { --live_; }

  static std::string describe(const tcp::endpoint& e) {
    if (e.address().is_v6()) return fmt::format("[{}]:{}", e.address().to_string(), e.port());
    return fmt::format("{}:{}", e.address().to_string(), e.port());
  }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // closed by the signal
      if (!ec) {
        if (live_ >= kMaxConnections) {
          boost::system::error_code ignored;
          socket.close(ignored);  // over the cap: refused rather than queued
        } else {
          std::make_shared<Connection>(std::move(socket), *this)->start();
        }
      } else if (ec == asio::error::no_descriptors) {
        log::warn("metrics: accept: {}", ec.message());
      }
      accept();
    });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  tcp::endpoint endpoint_;
  std::function<std::string()> metrics_;
  size_t live_ = 0;
};

Connection::Connection(tcp::socket socket, Server& server)
    : socket_(std::move(socket)), deadline_(socket_.get_executor()), server_(server) {
  server_.opened();
}

Connection::~Connection() { server_.closed(); }

void Connection::start() {
  deadline_.expires_after(kReadDeadline);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->close();  // too slow, or silent: its pending read ends with an error
  });
  read_more();
}

void Connection::read_more() {
  socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
    if (ec) return self->close();
    self->in_.append(self->chunk_.data(), n);
    size_t end = head_end(self->in_);
    if (end != std::string::npos && end <= kMaxRequestHead)
      return self->respond(self->server_.answer(std::string_view(self->in_).substr(0, end)));
    if (self->in_.size() > kMaxRequestHead) return self->respond(error_response(431));
    self->read_more();
  });
}

void Connection::respond(const HttpResponse& r) {
  out_ = format_response(r);
  deadline_.expires_after(kWriteDeadline);  // the read deadline's wait ends, aborted
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->close();
  });
  asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](const boost::system::error_code&, size_t) {
    boost::system::error_code ignored;
    self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
    self->close();
  });
}

void Connection::close() {
  boost::system::error_code ignored;
  deadline_.cancel();
  socket_.close(ignored);
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return failf("--listen {:?}: expected ADDRESS:PORT", text);
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return failf("--listen {:?}: an IPv6 address goes in brackets: [::1]:PORT", text);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return failf("--listen {:?}: the port must be a number from 0 to 65535", text);
  boost::system::error_code bad;
  asio::ip::make_address(std::string(host), bad);
  if (host.empty() || bad)
    return failf("--listen {:?}: {:?} is not an IP address", text, host);
  return ListenAddress{std::string(host), static_cast<uint16_t>(value)};
}

HttpResponse answer_request(std::string_view head, const std::function<std::string()>& metrics) {
  std::string_view rest = head;
  std::string_view line = next_line(rest);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return error_response(400);
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                   version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.front() != '/' || !version.starts_with("HTTP/"))
    return error_response(400);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return error_response(505);
  if (!headers_valid(rest, version == "HTTP/1.1")) return error_response(400);
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") return error_response(404);
  if (method != "GET" && method != "HEAD") return error_response(405);
  HttpResponse r;
  r.head = method == "HEAD";
  if (path == "/healthz") {
    r.body = "ok\n";
  } else {
    r.content_type = kExposition;
    r.body = metrics();
  }
  return r;
}

std::string format_response(const HttpResponse& r) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", r.status,
                                reason(r.status), r.content_type, r.body.size());
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!r.head) out += r.body;
  return out;
}

int serve_metrics(const ListenAddress& address, std::function<std::string()> metrics) {
  asio::io_context io(1);
  tcp::endpoint endpoint(asio::ip::make_address(address.host), address.port);
  Server server(io, endpoint, std::move(metrics));
  auto bound = server.open();
  if (!bound) {
    log::error("metrics: {}", bound.error().describe());
    return 1;
  }
  log::info("metrics: listening on {}", Server::describe(*bound));
  server.run();
  return 0;
}

}  // namespace reaper::cli
