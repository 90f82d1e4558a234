#include "query/follow.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "common/json_writer.h"
#include "query/event_json.h"

namespace resyncwatch {
namespace {

constexpr std::array<FlagSpec, 2> kFollowFlags = {{
    {"follow", FlagType::kBool, "", "",
     "keep printing matching events as the running collector stores them, until Ctrl-C"},
    {"follow-buffer", FlagType::kInt, "0", "N",
     "events the collector may hold for this reader before cutting it off (0: its default)"},
}};

// Written by the signal handler: the follow's stop fd.
volatile sig_atomic_t g_stop_fd = -1;

void OnStopSignal(int) {
  const int fd = g_stop_fd;
  if (fd < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

// SIGINT and SIGTERM write to an eventfd while it lives; the previous handlers come back
// with it.
class StopSignals {
 public:
  StopSignals() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    g_stop_fd = fd_;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_stop_fd = -1;
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

std::span<const FlagSpec> FollowFlags() { return kFollowFlags; }

void AppendOneLine(std::string* out, std::string_view text) {
  for (char c : text) {
    out->push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  }
}

Result<std::unique_ptr<QueryClient>> ConnectForFollow(Cli& cli) {
  Result<std::unique_ptr<QueryClient>> client = cli.ConnectToWriter();
  if (client.ok()) return client;
  if (client.status().IsNotFound()) {
    return Status::NotFound("--follow needs a running resyncwatchd (" + client.status().message() +
                            ")");
  }
  return Status::IoError("--follow: " + client.status().message());
}

void RenderFollowLine(const Cli& cli, const Event& e, std::string* out) {
  *out += cli.TableTime(e.event_time_us);
  *out += "  ";
  if (e.mac != 0) {
    *out += FormatMac(e.mac);
  } else {
    *out += "-           ";
  }
  *out += "  ";
  std::string_view kind = ToString(e.kind);
  *out += kind;
  if (kind.size() < 15) out->append(15 - kind.size(), ' ');
  *out += "  ";
  const bool fields = e.kind != EventKind::kDebug && e.kind != EventKind::kUnknown;
  if (fields && !e.url.empty()) {
    AppendOneLine(out, e.url);
    *out += "  ";
  }
  AppendOneLine(out, fields && !e.error.empty() ? e.error : e.message);
  *out += "  (";
  AppendOneLine(out, e.source);
  *out += ")\n";
}

int RunFollow(Cli& cli, QueryClient& client, FollowRequest& request) {
  CommandIo& io = cli.io();
  const int64_t buffer = cli.flags().GetInt("follow-buffer");
  if (buffer < 0 || buffer > UINT32_MAX) return cli.Fail("--follow-buffer: out of range");
  request.filter.max_pending = static_cast<uint32_t>(buffer);
  StopSignals stop;
  if (stop.fd() < 0) return cli.Fail("--follow: cannot create an eventfd");
  int64_t shown = 0;
  std::string line;
  Status s = client.Follow(
      request.filter, stop.fd(),
      [&](const Event& e) {
        line.clear();
        request.render(e, &line);
        std::fwrite(line.data(), 1, line.size(), io.out);
        std::fflush(io.out);
        ++shown;
        return request.limit == 0 || shown < request.limit;
      },
      [&] {
        std::fprintf(io.err, "following %s (Ctrl-C to stop)\n", request.what.c_str());
        std::fflush(io.err);
      });
  if (s.ok()) return kExitFound;
  if (s.code() == Status::Code::kBusy) return cli.Fail(s.message());
  if (s.code() == Status::Code::kIoError) {
    return cli.Fail(
        "the collector ended this follow (this reader fell behind, or the "
        "collector stopped): " +
        s.message());
  }
  return cli.Fail(s);
}

}  // namespace resyncwatch
