#include "shim/async_wait.hpp"

#include <poll.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>

namespace asio = boost::asio;

namespace reaper::shim {

void async_read_line(asio::io_context& io, UniqueFd fd, std::function<void(LineRead)> done,
                     std::shared_ptr<asio::streambuf> rest) {
  auto stream = std::make_shared<asio::posix::stream_descriptor>(io, fd.release());
  auto buf = rest ? std::move(rest) : std::make_shared<asio::streambuf>();
  asio::async_read_until(*stream, *buf, '\n', [stream, buf, done = std::move(done)](boost::system::error_code ec, size_t n) {
    LineRead r;
    if (ec) {
      r.line = fail(ec == asio::error::eof ? "end of file before a line" : "read: " + ec.message());
    } else {
      std::string text(asio::buffers_begin(buf->data()), asio::buffers_begin(buf->data()) + static_cast<std::ptrdiff_t>(n));
      buf->consume(n);
      text.pop_back();  // the '\n'
      r.line = std::move(text);
    }
    r.fd = UniqueFd(stream->release());
    r.rest = buf;
    done(std::move(r));
  });
}

ProcessWatch watch_process_end(asio::io_context& io, UniqueFd pidfd, std::function<void()> done) {
  // A pidfd is readable once its process has ended. The edge may have passed before
  // the wait is queued (epoll is edge-triggered here), so the level is checked first;
  // nothing runs the reactor between that check and the wait.
  pollfd p{pidfd.get(), POLLIN, 0};
  bool ended = ::poll(&p, 1, 0) == 1;
  auto watch = std::make_shared<asio::posix::stream_descriptor>(io, pidfd.release());
  if (ended) {
    asio::post(io, [watch, done = std::move(done)] {
      if (watch->is_open()) done();
    });
    return watch;
  }
  std::weak_ptr<asio::posix::stream_descriptor> weak = watch;
  watch->async_wait(asio::posix::stream_descriptor::wait_read, [weak, done = std::move(done)](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || weak.expired()) return;
    done();
  });
  return watch;
}

void when_all_ended(asio::io_context& io, std::vector<UniqueFd> pidfds, std::function<void()> done) {
  struct Pending {
    size_t left;
    std::vector<ProcessWatch> watches;
    std::function<void()> done;
  };
  auto pending = std::make_shared<Pending>(Pending{pidfds.size(), {}, std::move(done)});
  if (pidfds.empty()) {
    asio::post(io, [pending] { pending->done(); });
    return;
  }
  for (auto& fd : pidfds)
    pending->watches.push_back(watch_process_end(io, std::move(fd), [pending] {
      if (--pending->left == 0) {
        auto d = std::move(pending->done);
        pending->watches.clear();
        d();
      }
    }));
}

}  // namespace reaper::shim
