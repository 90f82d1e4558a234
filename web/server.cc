// WebServer: one httplib::Server holds the routes; each listen address is an HttpGate
// that owns its socket, waits for complete requests and has them answered through
// Server::process_request. Security is applied before routing (method, credentials) and
// by default headers on every answer; the routes only read.
#include <httplib.h>

#include <algorithm>

#include "common/http_listen.h"
#include "common/net_address.h"
#include "common/prometheus_text.h"
#include "web/api.h"
#include "web/assets.h"
#include "web/auth.h"
#include "web/gzip.h"
#include "web/http_gate.h"
#include "web/server_tls.h"
#include "web/wall_precompute.h"
#include "web/web.h"

namespace resyncwatch {
namespace {

using httplib::Request;
using httplib::Response;
using HandlerResponse = httplib::Server::HandlerResponse;

constexpr const char* kJsonLines = "application/x-ndjson; charset=utf-8";
constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

httplib::Headers SecurityHeaders() {
  return {
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
  };
}

bool IsApi(const std::string& path) { return path == "/api" || path.rfind("/api/", 0) == 0; }

void SetError(Response& res, int status, const std::string& path, std::string_view message) {
  res.status = status;
  if (IsApi(path)) {
    std::string body =
        "{\"error\":\"" + std::string(message) + "\",\"status\":" + std::to_string(status) + "}\n";
    res.set_content(body, kJson);
  } else {
    res.set_content(std::string(message) + "\n", kText);
  }
}

// Header values from command output must not break the header block.
std::string HeaderSafe(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

// The collector callback's object with "schedule_ready" and "firmware_ready" added as its
// last members: the precomputed schedule minute (a now= value) and the time the firmware
// answer served now is as of, each null when there is none.
std::string WithReady(std::string object, const std::string& schedule,
                      const std::string& firmware) {
  while (!object.empty() && (object.back() == '\n' || object.back() == ' ')) object.pop_back();
  if (object.size() < 2 || object.back() != '}') object = "{}";
  auto value = [](const std::string& t) {
    return t.empty() ? std::string("null") : "\"" + t + "\"";
  };
  const std::string members =
      "\"schedule_ready\":" + value(schedule) + ",\"firmware_ready\":" + value(firmware);
  object.insert(object.size() - 1, (object == "{}" ? "" : ",") + members);
  return object;
}

// httplib's request handling without its connection handling (process_request is
// protected): the gates own the connections.
class Router : public httplib::Server {
 public:
  bool Answer(httplib::Stream& strm, bool close_connection, bool& connection_closed) {
    return process_request(strm, close_connection, connection_closed, nullptr);
  }
};

}  // namespace

std::string WebCounters::Render() const {
  PrometheusText out;
  out.Counter("resyncwatch_http_requests_total", "HTTP requests answered.", requests.load());
  out.Counter("resyncwatch_http_unauthorized_total", "HTTP requests refused with 401.",
              unauthorized.load());
  out.Counter("resyncwatch_http_client_errors_total", "HTTP answers with a 4xx status.",
              client_errors.load());
  out.Counter("resyncwatch_http_server_errors_total", "HTTP answers with a 5xx status.",
              server_errors.load());
  out.Counter("resyncwatch_http_connections_total", "HTTP connections accepted.",
              gate.accepted.load());
  out.Counter("resyncwatch_http_evicted_total",
              "HTTP connections closed, idle longest, to make room for a new one.",
              gate.evicted.load());
  out.Counter("resyncwatch_http_idle_timeouts_total",
              "HTTP connections closed after sending nothing.", gate.idle_timeouts.load());
  out.Counter("resyncwatch_http_request_timeouts_total",
              "HTTP connections closed for a request or answer too slow.",
              gate.request_timeouts.load());
  out.Counter("resyncwatch_http_rejected_total",
              "HTTP connections refused (no descriptor, or all open ones being answered).",
              gate.rejected.load());
  out.Counter("resyncwatch_http_bad_requests_total",
              "HTTP connections closed for an oversized head.", gate.bad_requests.load());
  out.Counter("resyncwatch_http_tls_errors_total", "HTTPS handshakes that failed.",
              gate.tls_errors.load());
  out.Gauge("resyncwatch_http_open_connections", "HTTP connections open now.", gate.open.load());
  return out.Take();
}

class WebServer::Impl {
 public:
  Impl(const WebOptions& options, WebCallbacks callbacks, Store* store)
      : options_(options), callbacks_(std::move(callbacks)) {
    api_.store = store;
    api_.config_path = options.config_path;
    api_.fleet_rollup = options.fleet_rollup;
  }
  ~Impl() { Stop(); }

  Status Start() {
    Result<std::unique_ptr<Credentials>> creds =
        Credentials::Load(options_.users_file, options_.tokens_file);
    if (!creds.ok()) return creds.status();
    credentials_ = std::move(*creds);
    if (!options_.tls_cert.empty()) {
      Result<std::shared_ptr<ServerTls>> tls = ServerTls::Load(options_.tls_cert, options_.tls_key);
      if (!tls.ok()) return tls.status();
      tls_ = std::move(*tls);
    }
    if (options_.wall_precompute && api_.store != nullptr) {
      WallPrecompute::Options o;
      o.clock = options_.clock;
      wall_ = std::make_unique<WallPrecompute>(api_, o);
      api_.wall_precompute = wall_.get();
    }
    Configure(router_);
    for (const auto& [name, address] : options_.listen) {
      if (Status s = Listen(name, address); !s.ok()) return s;
    }
    for (auto& gate : gates_) {
      gate->Start([this](httplib::Stream& strm, bool close, bool& closed) {
        return router_.Answer(strm, close, closed);
      });
    }
    if (wall_ != nullptr) wall_->Start();
    return Status::Ok();
  }

  void Stop() {
    for (auto& gate : gates_) gate->Stop();
    // After the requests that read it; waits for a run in flight.
    api_.wall_precompute = nullptr;
    wall_.reset();
  }

  Status ReloadTls() { return tls_ != nullptr ? tls_->Reload() : Status::Ok(); }
  std::vector<std::string> bound() const { return bound_; }
  const WebCounters& counters() const { return counters_; }

 private:
  Status Listen(const std::string& name, const std::string& address) {
    const std::string option = name == "metrics" ? "--metrics-listen" : "--http-listen";
    Result<HttpListen> ep = ParseHttpListen(address, option);
    if (!ep.ok()) return ep.status();
    GateOptions g;
    g.threads = static_cast<size_t>(std::max(1, options_.threads));
    g.max_connections =
        static_cast<size_t>(std::max(options_.threads + 1, options_.max_connections));
    g.request_timeout = std::chrono::seconds(options_.request_timeout_s);
    g.idle_timeout = std::chrono::seconds(options_.idle_timeout_s);
    Result<std::unique_ptr<HttpGate>> gate =
        HttpGate::Bind(ep->host, ep->port, g, tls_, &counters_.gate);
    if (!gate.ok()) return Status::IoError(option + " " + address + ": " + gate.status().message());
    bound_.push_back(name + " " + JoinHostPort(ep->host, (*gate)->port()));
    gates_.push_back(std::move(*gate));
    return Status::Ok();
  }

  void Configure(httplib::Server& s) {
    // What the Keep-Alive header announces; the gate enforces both.
    s.set_keep_alive_timeout(options_.idle_timeout_s);
    s.set_keep_alive_max_count(GateOptions().keep_alive_max);
    s.set_payload_max_length(64 * 1024);
    s.set_default_headers(SecurityHeaders());
    s.set_pre_routing_handler(
        [this](const Request& req, Response& res) { return Guard(req, res); });
    s.set_error_handler([](const Request& req, Response& res) {
      if (res.body.empty())
        SetError(res, res.status, req.path, "error " + std::to_string(res.status));
    });
    s.set_exception_handler([](const Request& req, Response& res, std::exception_ptr) {
      SetError(res, 500, req.path, "internal error");
    });
    s.set_logger([this](const Request&, const Response& res) { Count(res.status); });
    s.Get("/metrics", [this](const Request&, Response& res) { Metrics(res); });
    s.Get("/healthz", [this](const Request&, Response& res) { Health(res); });
    s.Get("/api", [](const Request&, Response& res) { res.set_content(DescribeApi(), kText); });
    s.Get("/api/collector", [this](const Request&, Response& res) {
      std::string body = callbacks_.collector ? callbacks_.collector() : std::string("{}");
      const std::string schedule = wall_ != nullptr ? wall_->ReadyNow() : std::string();
      const std::string firmware = wall_ != nullptr ? wall_->FirmwareAsOf() : std::string();
      res.set_content(WithReady(std::move(body), schedule, firmware) + "\n", kJsonLines);
    });
    s.Get("/api/.*", [this](const Request& req, Response& res) { Api(req, res); });
    s.Get("/.*", [](const Request& req, Response& res) { Page(req, res); });
  }

  // Before any route: read-only methods only, then credentials (except for /healthz).
  HandlerResponse Guard(const Request& req, Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      SetError(res, 405, req.path, "only GET and HEAD: this server changes nothing");
      return HandlerResponse::Handled;
    }
    if (req.path == "/healthz" || credentials_->open()) return HandlerResponse::Unhandled;
    if (credentials_->Check(req.get_header_value("Authorization"))) {
      return HandlerResponse::Unhandled;
    }
    counters_.unauthorized.fetch_add(1, std::memory_order_relaxed);
    res.set_header("WWW-Authenticate", options_.users_file.empty()
                                           ? "Bearer realm=\"resyncwatch\""
                                           : "Basic realm=\"resyncwatch\", charset=\"UTF-8\"");
    SetError(res, 401, req.path, "credentials required");
    return HandlerResponse::Handled;
  }

  void Count(int status) {
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
    if (status >= 400 && status < 500)
      counters_.client_errors.fetch_add(1, std::memory_order_relaxed);
    if (status >= 500) counters_.server_errors.fetch_add(1, std::memory_order_relaxed);
  }

  void Metrics(Response& res) {
    std::string text = callbacks_.metrics ? callbacks_.metrics() : std::string();
    res.set_content(text + counters_.Render(), kMetricsType);
  }

  void Health(Response& res) {
    std::string problem = callbacks_.health ? callbacks_.health() : std::string();
    if (!problem.empty()) res.status = 503;
    res.set_content(problem.empty() ? "ok\n" : problem + "\n", kText);
  }

  void Api(const Request& req, Response& res) {
    ApiRequest request{req.path, {req.params.begin(), req.params.end()}};
    ApiReply reply = HandleApi(api_, request);
    res.status = reply.status;
    if (!reply.nothing.empty()) res.set_header("X-Resyncwatch-Nothing", HeaderSafe(reply.nothing));
    if (reply.precomputed) res.set_header("X-Resyncwatch-Precomputed", "1");
    if (!reply.as_of.empty()) res.set_header("X-Resyncwatch-As-Of", reply.as_of);
    res.set_header("Vary", "Accept-Encoding");
    const char* type = reply.status == 200 ? kJsonLines : kJson;
    if (reply.body.size() >= kGzipMinBytes &&
        AcceptsGzip(req.get_header_value("Accept-Encoding"))) {
      std::string z = reply.gzip != nullptr ? *reply.gzip : Gzip(reply.body);
      if (!z.empty()) {
        res.set_header("Content-Encoding", "gzip");
        reply.body = std::move(z);
      }
    }
    // Moved, not copied (set_content copies): a full schedule is tens of megabytes.
    res.body = std::move(reply.body);
    res.set_header("Content-Type", type);
  }

  static void Page(const Request& req, Response& res) {
    const Asset* asset = FindAsset(req.path);
    if (asset == nullptr) return SetError(res, 404, req.path, "not found");
    res.set_content(asset->body.data(), asset->body.size(), std::string(asset->content_type));
  }

  WebOptions options_;
  WebCallbacks callbacks_;
  ApiContext api_;
  std::unique_ptr<WallPrecompute> wall_;
  std::unique_ptr<Credentials> credentials_;
  std::shared_ptr<ServerTls> tls_;
  Router router_;
  std::vector<std::unique_ptr<HttpGate>> gates_;
  std::vector<std::string> bound_;
  WebCounters counters_;
};

Result<std::unique_ptr<WebServer>> WebServer::Start(const WebOptions& options,
                                                    WebCallbacks callbacks, Store* store) {
  auto impl = std::make_unique<Impl>(options, std::move(callbacks), store);
  if (Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebServer::~WebServer() { Stop(); }
void WebServer::Stop() { impl_->Stop(); }
Status WebServer::ReloadTls() { return impl_->ReloadTls(); }
std::vector<std::string> WebServer::BoundAddresses() const { return impl_->bound(); }
const WebCounters& WebServer::counters() const { return impl_->counters(); }

}  // namespace resyncwatch
