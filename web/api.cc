// The API route table and the in-memory command run behind each route.
#include "web/api.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "common/json_writer.h"
#include "query/command.h"
#include "web/wall_precompute.h"
#include "web/wall_summary.h"

namespace resyncwatch {
namespace {

struct Param {
  std::string_view name;  // the query parameter, spelled as the command's flag
  bool boolean = false;   // ?failing=1 gives --failing; a value param gives --name=value
};

struct Route {
  std::string_view pattern;  // "{device}" matches one path segment
  std::string_view command;
  std::vector<std::string_view> fixed = {};  // always given, after --json
  std::vector<Param> params = {};
  std::string_view text_param = {};  // required, passed as the positional argument ("q" for grep)
  bool config = false;               // give the daemon's --config (schedule rules)
  WallSummary summary = WallSummary::kNone;  // the wall's compact form of the answer
};

const std::vector<Param> kRange = {{"since"}, {"until"}, {"now"}, {"utc", true}};
const std::vector<Param> kJudging = {{"grace"}, {"tolerance"}, {"tolerance-pct"}, {"deep-backoff"}};

std::vector<Param> With(std::vector<Param> a, const std::vector<Param>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// One row per endpoint: adding a command to the API is adding its row here.
const std::vector<Route>& Routes() {
  static const std::vector<Route> kRoutes = {
      {"/api/fleet", "fleet", {}, With(kRange, {{"by"}, {"top"}})},
      {"/api/devices", "devices", {}, With(kRange, {{"failing", true}, {"model"}})},
      {"/api/devices/{device}", "devices", {}, With(kRange, {{"failing", true}, {"model"}})},
      {"/api/devices/{device}/history",
       "history",
       {"--direct"},
       With(kRange, {{"kind"}, {"timeout"}})},
      {"/api/schedule/fleet",
       "schedule",
       {"--fleet"},
       With(With(kRange, kJudging), {{"state"}, {"limit"}, {"gaps", true}}),
       "",
       true},
      {"/api/schedule/{device}",
       "schedule",
       {},
       With(With(kRange, kJudging), {{"gaps", true}}),
       "",
       true},
      {"/api/overdue", "overdue", {}, With(kRange, kJudging), "", true},
      {"/api/alerts", "alerts", {}, With(kRange, {{"active", true}})},
      {"/api/grep",
       "grep",
       {},
       With(kRange, {{"mac"}, {"kind"}, {"ignore-case", true}, {"limit"}}),
       "q"},
      {"/api/stats", "stats", {}, {}},
      {"/api/firmware", "firmware", {}, With(kRange, {{"model"}, {"not"}})},
      {"/api/recovery", "recovery", {}, With(With(kRange, kJudging), {{"server"}}), "", true},
      {"/api/wall/schedule",
       "schedule",
       {"--fleet"},
       With(kRange, kJudging),
       "",
       true,
       WallSummary::kSchedule},
      {"/api/wall/firmware",
       "firmware",
       {},
       With(kRange, {{"model"}, {"not"}}),
       "",
       false,
       WallSummary::kFirmware},
      {"/api/wall/recovery",
       "recovery",
       {},
       With(With(kRange, kJudging), {{"server"}}),
       "",
       true,
       WallSummary::kRecovery},
  };
  return kRoutes;
}

ApiReply Error(int status, std::string_view message) {
  JsonWriter w;
  w.Begin();
  w.String("error", message);
  w.Int("status", status);
  w.End();
  return {status, w.str(), {}};
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Matches path against pattern; *device gets the {device} segment.
bool Match(std::string_view pattern, std::string_view path, std::string* device) {
  std::vector<std::string> want = Split(pattern), got = Split(path);
  if (want.size() != got.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{device}") {
      if (got[i].empty()) return false;
      *device = got[i];
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  return true;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& c : AllCommands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// The command's arguments for this request, or an error reply.
ApiReply BuildArgs(const ApiContext& context, const Route& route, const ApiRequest& request,
                   const std::string& device, std::vector<std::string>* args) {
  args->push_back("--json");
  for (std::string_view f : route.fixed) args->emplace_back(f);
  if (route.config && !context.config_path.empty()) {
    args->push_back("--config=" + context.config_path);
  }
  for (const auto& [name, value] : request.params) {
    if (request.params.count(name) > 1) return Error(400, "parameter '" + name + "' given twice");
    if (name == route.text_param) continue;
    const Param* param = nullptr;
    for (const Param& p : route.params) {
      if (p.name == name) param = &p;
    }
    if (param == nullptr) {
      std::string known;
      for (const Param& p : route.params)
        known += (known.empty() ? "" : ", ") + std::string(p.name);
      if (!route.text_param.empty())
        known += (known.empty() ? "" : ", ") + std::string(route.text_param);
      return Error(400, "unknown parameter '" + name +
                            "' (known: " + (known.empty() ? "none" : known) + ")");
    }
    if (!param->boolean) {
      args->push_back("--" + name + "=" + value);
    } else if (value.empty() || value == "1" || value == "true" || value == "yes") {
      args->push_back("--" + name);
    } else if (value != "0" && value != "false" && value != "no") {
      return Error(400, "parameter '" + name + "' is 1 or 0, not '" + value + "'");
    }
  }
  args->push_back("--");
  if (!route.text_param.empty()) {
    auto it = request.params.find(std::string(route.text_param));
    if (it == request.params.end() || it->second.empty()) {
      return Error(400, "parameter '" + std::string(route.text_param) + "' is required");
    }
    args->push_back(it->second);
  }
  if (!device.empty()) args->push_back(device);
  return {};
}

std::string ReadAndClose(std::FILE* f, char** buf, size_t* len) {
  std::fclose(f);
  std::string s(*buf, *len);
  std::free(*buf);
  return s;
}

// Runs the command with its output in memory: the exit code, stdout and stderr.
int RunInMemory(const Command& command, const ApiContext& context,
                const std::vector<std::string>& args, std::string* out, std::string* err) {
  char *out_buf = nullptr, *err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  std::FILE* out_f = open_memstream(&out_buf, &out_len);
  std::FILE* err_f = open_memstream(&err_buf, &err_len);
  std::FILE* in_f = std::fopen("/dev/null", "r");
  CommandIo io;
  io.in = in_f;
  io.out = out_f;
  io.err = err_f;
  io.store = context.store;
  io.fleet_rollup = context.fleet_rollup;
  std::vector<std::string_view> views(args.begin(), args.end());
  int rc = command.run(views, io);
  if (in_f != nullptr) std::fclose(in_f);
  *out = ReadAndClose(out_f, &out_buf, &out_len);
  *err = ReadAndClose(err_f, &err_buf, &err_len);
  return rc;
}

// "resyncwatch fleet: --by: 'x' is not ..." -> "--by: 'x' is not ...", one line.
std::string Message(std::string_view command, std::string err) {
  std::string prefix = "resyncwatch " + std::string(command) + ": ";
  if (err.rfind(prefix, 0) == 0) err.erase(0, prefix.size());
  if (size_t nl = err.find('\n'); nl != std::string::npos) err.resize(nl);
  return err;
}

// The precomputed reply when the request is exactly one the precompute ran.
std::optional<ApiReply> Precomputed(const ApiContext& context, const ApiRequest& request) {
  if (context.wall_precompute == nullptr) return std::nullopt;
  std::optional<ApiReply> reply = context.wall_precompute->Lookup(request);
  if (reply.has_value()) reply->precomputed = true;
  return reply;
}

}  // namespace

ApiReply HandleApi(const ApiContext& context, const ApiRequest& request) {
  for (const Route& route : Routes()) {
    std::string device;
    if (!Match(route.pattern, request.path, &device)) continue;
    const Command* command = FindCommand(route.command);
    if (command == nullptr) {
      return Error(404, "command '" + std::string(route.command) + "' is not in this build");
    }
    if (std::optional<ApiReply> ready = Precomputed(context, request)) return *ready;
    std::vector<std::string> args;
    if (ApiReply e = BuildArgs(context, route, request, device, &args); e.status != 200) return e;
    std::string out, err;
    int rc = RunInMemory(*command, context, args, &out, &err);
    if (rc == kExitFound) return SummarizeForWall(route.summary, {200, std::move(out), {}});
    if (rc == kExitNothing) return {200, std::move(out), Message(route.command, err)};
    return Error(400, Message(route.command, err));
  }
  return Error(404, "no such endpoint: " + request.path + " (GET /api lists them)");
}

std::string DescribeApi() {
  std::string out;
  for (const Route& route : Routes()) {
    out += "GET " + std::string(route.pattern) + "  =  resyncwatch " + std::string(route.command);
    for (std::string_view f : route.fixed) out += " " + std::string(f);
    out += " --json";
    if (route.summary != WallSummary::kNone) out += " (counts and the worst phones only)";
    std::string params;
    for (const Param& p : route.params) params += " " + std::string(p.name);
    if (!route.text_param.empty()) params += " " + std::string(route.text_param) + " (required)";
    if (!params.empty()) out += "   params:" + params;
    if (FindCommand(route.command) == nullptr) out += "   (not in this build)";
    out += "\n";
  }
  return out;
}

}  // namespace resyncwatch
