#pragma once
// The two waits the shim does on its monitors, done on the event loop so that no
// container's slow setup (an overlay group being built, a volume on a slow disk) holds
// another container's requests: reading one report line from a pipe, and learning
// that a process has ended through its pidfd.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/streambuf.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace reaper::shim {

// Reads one line (without its '\n') from `fd`, then hands back the fd and whatever
// was read beyond the line (`rest`, for the next read). The line is an error at EOF.
struct LineRead {
  Result<std::string> line;
  UniqueFd fd;
  std::shared_ptr<boost::asio::streambuf> rest;
};
// `rest`, if given, is what an earlier read took beyond its line: it is read first.
void async_read_line(boost::asio::io_context& io, UniqueFd fd, std::function<void(LineRead)> done,
                     std::shared_ptr<boost::asio::streambuf> rest = nullptr);

// Calls `done` once the process behind `pidfd` has ended (at once if it has). The
// returned object owns the pidfd and the wait; destroying it cancels the wait.
using ProcessWatch = std::shared_ptr<boost::asio::posix::stream_descriptor>;
ProcessWatch watch_process_end(boost::asio::io_context& io, UniqueFd pidfd, std::function<void()> done);

// Calls `done` once every one of `pidfds` has ended (at once for none).
void when_all_ended(boost::asio::io_context& io, std::vector<UniqueFd> pidfds, std::function<void()> done);

}  // namespace reaper::shim
