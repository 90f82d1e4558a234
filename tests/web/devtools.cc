// HeadlessPage: Chromium's DevTools protocol over a minimal WebSocket client.
#include "devtools.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <regex>
#include <thread>

#include "harness.h"

namespace resyncwatch::testing {
namespace {

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool ReadExactly(int fd, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::recv(fd, out->data() + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

// A GET on loopback, read up to its Content-Length (DevTools keeps the connection open).
std::string HttpGet(int port, const std::string& path) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  std::string response, c;
  if (WriteAll(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) {
    while (response.find("\r\n\r\n") == std::string::npos && ReadExactly(fd, 1, &c)) {
      response += c;
    }
  }
  std::smatch m;
  std::string body;
  if (std::regex_search(response, m, std::regex("Content-Length: *([0-9]+)", std::regex::icase))) {
    ReadExactly(fd, std::stoul(m[1].str()), &body);
  }
  close(fd);
  return body;
}

std::string JsonQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char u[8];
      std::snprintf(u, sizeof u, "\\u%04x", c);
      out += u;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

HeadlessPage::HeadlessPage(const std::string& chromium, const std::string& workdir) {
  browser_ = std::make_unique<Daemon>(
      chromium,
      std::vector<std::string>{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", "--hide-scrollbars", "--remote-debugging-port=0",
                               "--user-data-dir=" + workdir + "/chromium-devtools", "about:blank"},
      workdir, false);
}

HeadlessPage::~HeadlessPage() {
  if (fd_ >= 0) close(fd_);
}

bool HeadlessPage::Connect(std::string* error) {
  static const std::regex kListening("DevTools listening on ws://127\\.0\\.0\\.1:([0-9]+)/");
  int port = -1;
  std::string page, list;
  const bool found = WaitUntil(
      [&] {
        std::smatch m;
        const std::string log = browser_->Stderr();
        if (port < 0 && std::regex_search(log, m, kListening)) port = std::stoi(m[1].str());
        if (port < 0) return false;
        list = HttpGet(port, "/json/list");
        const size_t type = list.find("\"type\": \"page\"");
        const std::string key = "\"webSocketDebuggerUrl\": \"ws://";
        size_t at = type == std::string::npos ? type : list.find(key, type);
        if (at == std::string::npos) return false;
        at = list.find('/', at + key.size());
        page = list.substr(at, list.find('"', at) - at);
        return true;
      },
      std::chrono::seconds(60));
  if (!found) {
    *error = "no DevTools page (port " + std::to_string(port) + ", list " + list +
             "); chromium said: " + browser_->Stderr();
    return false;
  }
  fd_ = ConnectLoopback(port);
  if (fd_ < 0) return (*error = "cannot connect to DevTools", false);
  // The key is fixed: the server's accept value is not checked (this is a test client).
  WriteAll(fd_,
           "GET " + page + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string head, c;
  while (head.find("\r\n\r\n") == std::string::npos && ReadExactly(fd_, 1, &c)) head += c;
  if (head.rfind("HTTP/1.1 101", 0) != 0) return (*error = "no WebSocket: " + head, false);
  return true;
}

bool HeadlessPage::Send(const std::string& text) {
  std::string frame = "\x81";
  const size_t n = text.size();
  if (n < 126) {
    frame += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(n >> 8);
    frame += static_cast<char>(n & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) frame += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(mask, 4);
  for (size_t i = 0; i < n; ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
  return WriteAll(fd_, frame);
}

// One whole message (continuation frames joined); control frames are skipped.
bool HeadlessPage::Receive(std::string* text) {
  text->clear();
  for (;;) {
    std::string h, ext, payload;
    if (!ReadExactly(fd_, 2, &h)) return false;
    const bool fin = h[0] & 0x80;
    const int opcode = h[0] & 0x0f;
    uint64_t n = h[1] & 0x7f;
    if (n >= 126) {
      if (!ReadExactly(fd_, n == 126 ? 2 : 8, &ext)) return false;
      n = 0;
      for (unsigned char b : ext) n = (n << 8) | b;
    }
    if (!ReadExactly(fd_, n, &payload)) return false;
    if (opcode >= 8) continue;
    *text += payload;
    if (fin) return true;
  }
}

std::string HeadlessPage::Call(const std::string& method, const std::string& params,
                               std::string* error) {
  const int id = next_id_++;
  if (!Send("{\"id\":" + std::to_string(id) + ",\"method\":\"" + method +
            "\",\"params\":" + params + "}")) {
    return (*error = "send failed", "");
  }
  std::string message;
  while (Receive(&message)) {
    if (message.find("\"id\":" + std::to_string(id) + ",") == std::string::npos) continue;
    if (message.find("\"error\":") != std::string::npos) return (*error = message, "");
    return message;
  }
  *error = "connection closed";
  return "";
}

bool HeadlessPage::SetViewport(int width, int height, std::string* error) {
  return !Call("Emulation.setDeviceMetricsOverride",
               "{\"width\":" + std::to_string(width) + ",\"height\":" + std::to_string(height) +
                   ",\"deviceScaleFactor\":1,\"mobile\":false}",
               error)
              .empty();
}

bool HeadlessPage::Navigate(const std::string& url, std::string* error) {
  return !Call("Page.navigate", "{\"url\":" + JsonQuoted(url) + "}", error).empty();
}

std::string HeadlessPage::Evaluate(const std::string& expression, std::string* error) {
  const std::string message =
      Call("Runtime.evaluate",
           "{\"expression\":" + JsonQuoted(expression) + ",\"returnByValue\":true}", error);
  const std::string key = "\"value\":\"";
  size_t at = message.find(key);
  if (at == std::string::npos) return (*error = message, "");
  at += key.size();
  return message.substr(at, message.find('"', at) - at);
}

}  // namespace resyncwatch::testing
