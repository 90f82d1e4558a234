// The wall's compact schedule and recovery answers, from the command's JSON lines.
#include "web/wall_summary.h"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "common/json_writer.h"

namespace resyncwatch {
namespace {

std::vector<std::string_view> Lines(std::string_view body) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string_view::npos) nl = body.size();
    if (nl > start) out.push_back(body.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

struct DeviceLine {
  std::string_view line;
  std::string state;
  double overdue_s = 0;
  int64_t backoff_step = 0;
};

// state, overdue_s and backoff_step of one device line; false for anything else (gap lines).
bool ReadDevice(simdjson::ondemand::parser& parser, std::string& buffer, std::string_view line,
                DeviceLine* out) {
  buffer.assign(line);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::ondemand::document doc;
  if (parser.iterate(buffer.data(), line.size(), buffer.size()).get(doc)) return false;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return false;
  bool have_state = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    if (key == "type") {
      std::string_view type;
      if (field.value().get_string().get(type) || type != "device") return false;
    } else if (key == "state") {
      std::string_view state;
      if (field.value().get_string().get(state)) return false;
      out->state = std::string(state);
      have_state = true;
    } else if (key == "overdue_s") {
      if (field.value().get_double().get(out->overdue_s)) return false;
    } else if (key == "backoff_step") {
      if (field.value().get_int64().get(out->backoff_step)) return false;
    }
  }
  out->line = line;
  return have_state;
}

std::string SummarizeSchedule(std::string_view body) {
  simdjson::ondemand::parser parser;
  std::string buffer;
  std::map<std::string, int64_t> counts;
  std::map<std::string, std::vector<DeviceLine>> by_state;
  int64_t phones = 0;
  for (std::string_view line : Lines(body)) {
    DeviceLine d;
    if (!ReadDevice(parser, buffer, line, &d)) continue;
    ++phones;
    ++counts[d.state];
    if (d.state != "ok") by_state[d.state].push_back(std::move(d));
  }
  JsonWriter w;
  w.Begin();
  w.String("type", "schedule_summary");
  w.Int("phones", phones);
  w.BeginObject("states");
  for (const auto& [state, n] : counts) w.Int(state, n);
  w.EndObject();
  w.BeginObject("worst");
  for (auto& [state, list] : by_state) {
    std::stable_sort(list.begin(), list.end(), [](const DeviceLine& a, const DeviceLine& b) {
      if (a.overdue_s != b.overdue_s) return a.overdue_s > b.overdue_s;
      return a.backoff_step > b.backoff_step;
    });
    std::string array = "[";
    for (size_t i = 0; i < list.size() && i < kWallWorst; ++i) {
      if (i > 0) array += ",";
      array += list[i].line;
    }
    w.RawValue(state, array + "]");
  }
  w.EndObject();
  w.End();
  return w.str() + "\n";
}

// The first kWallWorst phone lines and the summary line, as the command printed them.
std::string SummarizeRecovery(std::string_view body) {
  std::string out;
  size_t phones = 0;
  for (std::string_view line : Lines(body)) {
    const bool summary = line.rfind("{\"type\":\"summary\"", 0) == 0;
    if (!summary && phones++ >= kWallWorst) continue;
    out.append(line);
    out += '\n';
  }
  return out;
}

// Phones per model and firmware.
std::string SummarizeFirmware(std::string_view body) {
  simdjson::ondemand::parser parser;
  std::string buffer;
  // (model, firmware or nullopt) -> phones
  std::map<std::pair<std::string, std::optional<std::string>>, int64_t> counts;
  for (std::string_view line : Lines(body)) {
    buffer.assign(line);
    buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (parser.iterate(buffer.data(), line.size(), buffer.size()).get(doc) ||
        doc.get_object().get(object)) {
      continue;
    }
    std::string model;
    std::optional<std::string> firmware;
    bool ok = true;
    for (auto field : object) {
      std::string_view key, text;
      if (field.unescaped_key().get(key)) ok = false;
      if (!ok || (key != "model" && key != "firmware")) continue;
      simdjson::ondemand::value value;
      if (field.value().get(value)) {
        ok = false;
      } else if (!value.is_null()) {
        if (value.get_string().get(text)) ok = false;
        (key == "model" ? model : firmware.emplace()) = std::string(text);
      }
    }
    if (ok) ++counts[{model, firmware}];
  }
  std::vector<std::pair<std::pair<std::string, std::optional<std::string>>, int64_t>> rows(
      counts.begin(), counts.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  JsonWriter w;
  for (const auto& [key, phones] : rows) {
    w.Begin();
    w.String("model", key.first);
    w.OptionalString("firmware", key.second);
    w.Int("phones", phones);
    w.End();
    out += w.str() + "\n";
  }
  return out;
}

}  // namespace

ApiReply SummarizeForWall(WallSummary kind, const ApiReply& full) {
  if (full.status != 200 || full.body.empty() || kind == WallSummary::kNone) return full;
  ApiReply reply = full;
  switch (kind) {
    case WallSummary::kSchedule:
      reply.body = SummarizeSchedule(full.body);
      break;
    case WallSummary::kRecovery:
      reply.body = SummarizeRecovery(full.body);
      break;
    default:
      reply.body = SummarizeFirmware(full.body);
  }
  return reply;
}

ApiReply FilterScheduleState(const ApiReply& full, std::string_view state) {
  if (full.status != 200) return full;
  // Not a copy of `full`: its body is the whole fleet's, tens of MB at 100,000 phones.
  ApiReply reply;
  reply.status = full.status;
  reply.precomputed = full.precomputed;
  reply.as_of = full.as_of;
  simdjson::ondemand::parser parser;
  std::string buffer;
  for (std::string_view line : Lines(full.body)) {
    DeviceLine d;
    if (!ReadDevice(parser, buffer, line, &d) || d.state != state) continue;
    reply.body.append(line);
    reply.body += '\n';
  }
  // The command's own line when no device is left.
  if (reply.body.empty()) reply.nothing = "no devices in range";
  return reply;
}

}  // namespace resyncwatch
