// A headless Chromium driven through its DevTools protocol, for tests that must measure a
// rendered page (layout, sizes) rather than read its DOM text: Chromium is started on a
// page with --remote-debugging-port=0, the test connects to the page's WebSocket and
// evaluates JavaScript expressions in it. A minimal WebSocket client (RFC 6455: masked text
// frames out, unmasked frames in) over a blocking socket; test code only.
#pragma once

#include <memory>
#include <string>

namespace resyncwatch::testing {

class Daemon;

class HeadlessPage {
 public:
  // Starts Chromium on about:blank; its profile and log go to workdir (which exists).
  HeadlessPage(const std::string& chromium, const std::string& workdir);
  ~HeadlessPage();
  // Connects to the page; false (with the reason in *error) if it cannot within 60 s.
  bool Connect(std::string* error);
  // Sends one DevTools command (params: a JSON object) and returns its whole answer ("" on
  // failure, reason in *error).
  std::string Call(const std::string& method, const std::string& params, std::string* error);
  // The viewport becomes width x height CSS pixels (a wall screen's, without window frame).
  bool SetViewport(int width, int height, std::string* error);
  // Loads url; returns once the new document is committed (its scripts may still run).
  bool Navigate(const std::string& url, std::string* error);
  // The value of a JavaScript expression that evaluates to a string ("" on any failure,
  // reason in *error). The string must hold no '"' or '\' (it is read without unescaping).
  std::string Evaluate(const std::string& expression, std::string* error);

 private:
  bool Send(const std::string& text);
  bool Receive(std::string* text);
  std::unique_ptr<Daemon> browser_;
  int fd_ = -1;
  int next_id_ = 1;
};

}  // namespace resyncwatch::testing
