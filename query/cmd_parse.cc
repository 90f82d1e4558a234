// `resyncwatch parse [--config FILE]`: datagrams on stdin, one per line, to JSON lines
// on stdout (the contract of the parsers; see README). Exit 0 even for raw or unknown
// lines; 2 with one line on stderr for a bad option or configuration.
#include <cstdio>
#include <string>

#include "common/flags.h"
#include "common/json_writer.h"
#include "parsers/parsers.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/event_json.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "parse",
    "resyncwatch parse [--config FILE] < datagrams",
    "Parses syslog datagrams, one per line on stdin, and prints one JSON object per\n"
    "line with the keys format, facility, severity, timestamp, host, app, identifier,\n"
    "kind, mac, sn, model, url, scheme, server, port, path, error, message.",
    "  echo '<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: "
    "http_get failed' | resyncwatch parse\n"
    "  resyncwatch parse --config /etc/resyncwatch/resyncwatch.json < capture.txt\n",
};

constexpr FlagSpec kConfig = {
    "config", FlagType::kString, "", "FILE",
    "resyncwatch config file; its \"templates\" key sets the message templates"};

}  // namespace

int RunParse(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, 0, {kConfig}, io);
  if (std::optional<int> exit = cli.Parse(args)) return *exit;
  auto templates = LoadTemplates(cli.flags().GetString("config"));
  if (!templates.ok()) return cli.Fail(templates.status());
  ParseContext ctx;
  ctx.reference_us = io.clock->NowMicros();
  ParsedMessage parsed;
  JsonWriter w;
  std::string line;
  char buf[65536];
  bool pending = false;
  auto emit = [&]() {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Parse(line, *templates, ctx, &parsed);
    Event e = EventFromParsed(parsed, ctx.reference_us, "stdin", false);
    w.Begin();
    AppendEventJson(&w, e, false);
    w.End();
    std::fwrite(w.str().data(), 1, w.str().size(), io.out);
    std::fputc('\n', io.out);
    line.clear();
  };
  // fgets would stop at NUL bytes; read raw blocks and split on '\n' ourselves.
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, io.in)) > 0) {
    std::string_view chunk(buf, n);
    while (!chunk.empty()) {
      size_t lf = chunk.find('\n');
      if (lf == std::string_view::npos) {
        line.append(chunk);
        pending = true;
        break;
      }
      line.append(chunk.substr(0, lf));
      emit();
      pending = false;
      chunk.remove_prefix(lf + 1);
    }
  }
  if (pending && !line.empty()) emit();
  std::fflush(io.out);
  return kExitFound;
}

}  // namespace resyncwatch
