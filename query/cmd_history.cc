// `resyncwatch history <MAC|SN>`: one device's timeline, requests paired with outcomes.
#include "query/history_command.h"

namespace resyncwatch {

int RunHistory(std::span<const std::string_view> args, CommandIo& io) {
  HistoryCommand history(io);
  if (std::optional<int> code = history.Parse(args)) return *code;
  if (history.follow()) return history.Follow();
  // The collector's open store answers without the cost of opening it here; any failure of
  // the socket falls back to the store, so the output is the same either way.
  return history.Answer([&history] { return history.cli().OpenDeviceReader(); });
}

}  // namespace resyncwatch
