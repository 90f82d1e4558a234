#include "clickhouse/http.h"

#include <httplib.h>

namespace resyncwatch::clickhouse {
namespace {

// ClickHouse answers an error with its exception text: its first line says what.
std::string FirstLine(std::string_view body) {
  body = body.substr(0, body.find('\n'));
  if (body.size() > 400) body = body.substr(0, 400);
  return std::string(body);
}

std::unique_ptr<httplib::Client> Connect(const ClickHouseOptions& o) {
  auto client = std::make_unique<httplib::Client>(o.url);
  const time_t sec = o.timeout_ms / 1000;
  const time_t usec = (o.timeout_ms % 1000) * 1000;
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  client->set_keep_alive(false);
  client->enable_server_certificate_verification(true);
  if (!o.ca_file.empty()) client->set_ca_cert_path(o.ca_file.c_str());
  if (!o.user.empty() || !o.password.empty()) {
    client->set_basic_auth(o.user.empty() ? "default" : o.user, o.password);
  }
  return client;
}

std::string Path(const ClickHouseOptions& o, const std::string& sql) {
  std::string path = "/?database=" + httplib::detail::encode_query_param(o.database);
  if (!sql.empty()) path += "&query=" + httplib::detail::encode_query_param(sql);
  return path;
}

Status Unreachable(const ClickHouseOptions& o, httplib::Error error) {
  return Status::IoError("ClickHouse at " + o.url + " does not answer (" +
                         httplib::to_string(error) + ")");
}

}  // namespace

std::string SqlQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

Status Http::Execute(const std::string& sql, const std::string& body) const {
  const std::string_view piece = body;
  return Execute(sql, std::span<const std::string_view>(&piece, body.empty() ? 0 : 1));
}

Status Http::Execute(const std::string& sql, std::span<const std::string_view> body) const {
  auto client = Connect(options_);
  size_t length = 0;
  for (std::string_view piece : body) length += piece.size();
  // The pieces go to the socket as they are: a body passed as one string would be copied
  // whole (megabytes per batch) first.
  auto rows = [body](size_t offset, size_t /*length*/, httplib::DataSink& sink) {
    for (std::string_view piece : body) {
      if (offset < piece.size()) return sink.write(piece.data() + offset, piece.size() - offset);
      offset -= piece.size();
    }
    return false;
  };
  // DDL goes as the body (no data); an INSERT names itself in the URL, its rows are the body.
  httplib::Result r =
      length == 0 ? client->Post(Path(options_, ""), sql, "text/plain")
                  : client->Post(Path(options_, sql), length, rows, "text/tab-separated-values");
  if (!r) return Unreachable(options_, r.error());
  if (r->status != 200) {
    return Status::IoError("ClickHouse answered " + std::to_string(r->status) + ": " +
                           FirstLine(r->body));
  }
  return Status::Ok();
}

Status Http::Query(const std::string& sql, const RowVisitor& visit) const {
  auto client = Connect(options_);
  httplib::Request req;
  req.method = "POST";
  req.path = Path(options_, "");
  req.body = sql;
  req.set_header("Content-Type", "text/plain");
  int status = 0;
  std::string error_body;
  std::string pending;
  bool stopped = false;
  req.response_handler = [&](const httplib::Response& response) {
    status = response.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (status != 200) {
      if (error_body.size() < 4096) error_body.append(data, size);
      return true;
    }
    pending.append(data, size);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!visit(std::string_view(pending).substr(start, nl - start))) {
        stopped = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  };
  httplib::Result r = client->send(req);
  if (stopped) return Status::Ok();
  if (!r) return Unreachable(options_, r.error());
  if (status != 200) {
    return Status::IoError("ClickHouse answered " + std::to_string(status) + ": " +
                           FirstLine(error_body));
  }
  if (!pending.empty()) {
    // An exception after the first rows arrives as text in the body.
    return Status::IoError("ClickHouse broke off its answer: " + FirstLine(pending));
  }
  return Status::Ok();
}

}  // namespace resyncwatch::clickhouse
