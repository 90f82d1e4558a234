// The client side of the query socket: a Store answered by the writer (store.h,
// query_protocol.h).
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "store/key_format.h"
#include "store/query_protocol.h"
#include "store/record_codec.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

namespace qp = query_protocol;

Status NotServed() {
  return Status::Unsupported(
      "the query socket answers history, serial and device look-ups only; open the store");
}

Result<int> Connect(const std::string& path, int timeout_ms) {
  // A path no socket can have cannot have a daemon behind it either: the caller falls back.
  Result<sockaddr_un> address = qp::UnixAddress(path);
  if (!address.ok()) return Status::NotFound(address.status().message());
  const sockaddr_un& addr = *address;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
  // Bounds a connect that waits for room in a busy server's backlog.
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) {
      return Status::NotFound("no resyncwatchd answers on " + path);
    }
    // Not allowed into the store directory: opening the store says so in its own words.
    if (err == EACCES) return Status::NotFound("not allowed to connect to " + path);
    return Status::IoError("cannot connect to " + path + ": " + std::strerror(err));
  }
  return fd;
}

class QueryClientStore final : public Store {
 public:
  QueryClientStore(std::string path, int fd, int timeout_ms)
      : path_(std::move(path)), timeout_ms_(timeout_ms), fd_(fd), reader_(fd, -1, timeout_ms) {}
  ~QueryClientStore() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status History(MacAddress mac, TimeRange range, const EventVisitor& visit) const override {
    std::string payload;
    return Call(qp::HistoryRequest(mac, range), &visit, &payload);
  }

  Result<MacAddress> MacForSerial(std::string_view sn) const override {
    std::string payload;
    if (Status s = Call(qp::MacForSerialRequest(sn), nullptr, &payload); !s.ok()) return s;
    std::optional<MacAddress> mac = store_format::ParseMacKey(payload);
    if (!mac) return Status::Corruption("malformed MAC from the query server");
    return *mac;
  }

  Result<DeviceSummary> GetDevice(MacAddress mac) const override {
    std::string payload;
    if (Status s = Call(qp::GetDeviceRequest(mac), nullptr, &payload); !s.ok()) return s;
    DeviceSummary summary;
    summary.mac = mac;
    if (Status s = store_format::DecodeSummary(payload, &summary); !s.ok()) return s;
    return summary;
  }

  Result<WriteResult> Write(WriteBatch&) override { return NotServed(); }
  Status Scan(TimeRange, const EventVisitor&) const override { return NotServed(); }
  Status ScanRaw(TimeRange, const std::function<bool(const RawDatagram&)>&) const override {
    return NotServed();
  }
  Status ForEachDevice(const std::function<bool(const DeviceSummary&)>&) const override {
    return NotServed();
  }
  Result<std::map<std::string, int64_t>> Counters() const override { return NotServed(); }
  Status AddCounters(const std::map<std::string, int64_t>&) override { return NotServed(); }
  Status PutAlert(const AlertRecord&) override { return NotServed(); }
  Status ScanAlerts(TimeRange, bool,
                    const std::function<bool(const AlertRecord&)>&) const override {
    return NotServed();
  }
  Status CatchUp() override { return NotServed(); }
  Status ApplyRetention() override { return NotServed(); }
  Status Flush() override { return NotServed(); }
  Status Compact() override { return NotServed(); }

 private:
  // Sends request and reads its answer: events to *visit, the final status, and the
  // payload into *payload. The server drops a connection that stays quiet, so a request
  // that finds the connection closed before any answer is sent again once on a new one.
  Status Call(const std::string& request, const EventVisitor* visit, std::string* payload) const {
    std::lock_guard lock(mu_);
    for (int attempt = 0;; ++attempt) {
      if (fd_ < 0) {
        Result<int> fd = Connect(path_, timeout_ms_);
        if (!fd.ok()) return fd.status();
        fd_ = *fd;
        reader_.Reset(fd_);
      }
      Status s = Exchange(request, visit, payload);
      if (s.ok() || fd_ >= 0) return s;
      if (attempt > 0 || !retry_) return s;
    }
  }

  // One request on the open connection; closes it (fd_ = -1) when it is unusable, and
  // sets retry_ when nothing of the answer had arrived.
  Status Exchange(const std::string& request, const EventVisitor* visit,
                  std::string* payload) const {
    retry_ = false;
    auto broken = [&](const Status& s, bool nothing_received) {
      ::close(fd_);
      fd_ = -1;
      retry_ = nothing_received;
      return Status::IoError("query socket " + path_ + ": " + s.message());
    };
    if (Status s = qp::WriteAll(fd_, request, -1, timeout_ms_); !s.ok()) return broken(s, true);
    bool received = false;
    bool more = true;
    Event scratch;
    auto pass = [&](const Event& e) { return more = (*visit)(e); };
    for (;;) {
      std::string_view body;
      if (Status s = reader_.Next(&body); !s.ok()) {
        return broken(s.IsNotFound() ? Status::IoError("the server closed the connection") : s,
                      !received && s.IsNotFound());
      }
      received = true;
      const uint8_t type = body.empty() ? 0 : static_cast<uint8_t>(body[0]);
      if (type == qp::kReplyEvents && visit) {
        if (!more) continue;  // the caller stopped: drain the rest of the answer
        if (Status s = qp::ForEachEvent(body, &scratch, pass); !s.ok()) return broken(s, false);
        continue;
      }
      Status status;
      std::string_view data;
      if (type != qp::kReplyDone || !qp::ParseDone(body, &status, &data).ok()) {
        return broken(Status::Corruption("unexpected frame from the server"), false);
      }
      payload->assign(data);
      return status;
    }
  }

  const std::string path_;
  const int timeout_ms_;
  mutable std::mutex mu_;
  mutable int fd_;
  mutable bool retry_ = false;
  mutable qp::FrameReader reader_;
};

}  // namespace

Result<std::unique_ptr<Store>> ConnectToQueryServer(const std::string& socket_path,
                                                    int timeout_ms) {
  Result<int> fd = Connect(socket_path, timeout_ms);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<Store>(new QueryClientStore(socket_path, *fd, timeout_ms));
}

Result<std::unique_ptr<Store>> Store::ConnectToWriter(const std::string& dir) {
  return ConnectToQueryServer(QuerySocketPath(dir));
}

}  // namespace resyncwatch
