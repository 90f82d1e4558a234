// `resyncwatch history` in steps, so that the full CLI (cmd_history.cc) and its static
// front (front_main.cc) parse, ask the collector (or follow it), read the store and print
// with the same code; only the full CLI reads ClickHouse.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "query/cli_common.h"

namespace resyncwatch {

class HistoryCommand {
 public:
  // Everything history prints, read from one store.
  struct Timeline {
    MacAddress mac = 0;
    std::vector<Event> events;  // in the widened range
    bool known = false;         // the store has a summary of the device
  };

  explicit HistoryCommand(CommandIo& io);

  // An exit code when the command must stop now (--help, a usage error), else std::nullopt.
  std::optional<int> Parse(std::span<const std::string_view> args);
  // --direct: do not ask the collector.
  bool direct() const;
  // --follow: print the device's events as the collector stores them (query/follow.h).
  bool follow() const;
  // Runs --follow: the exit code.
  int Follow();
  Cli& cli() { return cli_; }

  // Answers with the collector serving --db unless --direct; when none serves it (or it
  // fails, said in one line), reads the store open_store opens: the exit code.
  int Answer(const std::function<Result<DeviceReaderHandle>()>& open_store);

 private:
  // Asks the collector serving --db and prints its answer: the exit code. std::nullopt
  // when it could not answer, with the reason in *why (NotFound: no collector serves it).
  std::optional<int> AskCollector(Status* why);
  // The one stderr line for a collector that failed (nothing when none serves the store).
  void WarnIfCollectorFailed(const Status& why);
  int ReadStore(const DeviceReader& store);
  int Print();

  Cli cli_;
  std::vector<bool> kinds_;
  int64_t timeout_us_ = 0;
  TimeRange wide_;
  Timeline timeline_;
};

}  // namespace resyncwatch
