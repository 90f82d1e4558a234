#include "query/command.h"

namespace resyncwatch {

// One declaration and one table row per subcommand; each lives in cmd_<name>.cc.
int RunParse(std::span<const std::string_view> args, CommandIo& io);
int RunHistory(std::span<const std::string_view> args, CommandIo& io);
int RunGrep(std::span<const std::string_view> args, CommandIo& io);
int RunFleet(std::span<const std::string_view> args, CommandIo& io);
int RunDevices(std::span<const std::string_view> args, CommandIo& io);
int RunStats(std::span<const std::string_view> args, CommandIo& io);
int RunAlerts(std::span<const std::string_view> args, CommandIo& io);
int RunSchedule(std::span<const std::string_view> args, CommandIo& io);
int RunOverdue(std::span<const std::string_view> args, CommandIo& io);
int RunFirmware(std::span<const std::string_view> args, CommandIo& io);
int RunRecovery(std::span<const std::string_view> args, CommandIo& io);
int RunImport(std::span<const std::string_view> args, CommandIo& io);
int RunClickHouseSchema(std::span<const std::string_view> args, CommandIo& io);

std::span<const Command> AllCommands() {
  static const Command kCommands[] = {
      {"parse", "parse datagrams from stdin into JSON lines", RunParse},
      {"history", "one device's timeline, requests paired with outcomes", RunHistory},
      {"grep", "search message bodies across the fleet or one device", RunGrep},
      {"fleet", "fleet health over a time range, by model, server, error or hour", RunFleet},
      {"devices", "one line per device from its summary", RunDevices},
      {"stats", "the collector's counters", RunStats},
      {"alerts", "alerts raised by the collector's rules, active or past", RunAlerts},
      {"schedule", "resyncs judged against each phone's schedule: one device or --fleet",
       RunSchedule},
      {"overdue", "phones whose next expected resync is past due", RunOverdue},
      {"firmware", "each phone's firmware from its latest successful upgrade", RunFirmware},
      {"recovery", "after an outage: failing phones, when each retries, how to force it",
       RunRecovery},
      {"import", "load syslog archives (plain, gzip, JSON lines) into the store", RunImport},
      {"clickhouse-schema", "the ClickHouse tables the export creates, for a DBA",
       RunClickHouseSchema},
  };
  return kCommands;
}

}  // namespace resyncwatch
