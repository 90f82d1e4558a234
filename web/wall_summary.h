// The wall's compact forms of two large answers, made from the command's own JSON lines so
// that they can never disagree with it. At 100,000 phones `schedule --fleet --json` is tens
// of megabytes and `recovery --json` several; the wall only shows counts and the worst few
// phones, so it asks for these instead (/api/wall/schedule, /api/wall/recovery,
// /api/wall/firmware):
//   schedule: one line {"type":"schedule_summary","phones":N,"states":{"<state>":n,...},
//             "worst":{"<state>":[<device line>,...],...}}: the phones per state (by name),
//             and for each state but "ok" the kWallWorst device lines (the command's own
//             objects) longest overdue first, then deepest back-off, then as printed;
//   recovery: the command's first kWallWorst phone lines (those that come back last) and
//             its summary line, unchanged;
//   firmware: one line {"model":M,"firmware":F,"phones":n} per model and firmware (F null
//             when no upgrade was seen), most phones first, then by model and firmware.
// It also narrows a precomputed fleet schedule to one state, for the console's lists.
// Internal to web/. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "web/api.h"

namespace resyncwatch {

inline constexpr size_t kWallWorst = 10;

enum class WallSummary { kNone, kSchedule, kRecovery, kFirmware };

// The compact reply made from a full one (status, "nothing" line and flags are kept; an
// error or empty reply is returned as is). A line that is not a JSON object is skipped.
ApiReply SummarizeForWall(WallSummary kind, const ApiReply& full);

// A `schedule --fleet --json` reply narrowed to the devices in `state`, as the command
// prints them with `--state STATE` (the lines in their order; none left: its "no devices
// in range"). An error reply is returned as is.
ApiReply FilterScheduleState(const ApiReply& full, std::string_view state);

}  // namespace resyncwatch
