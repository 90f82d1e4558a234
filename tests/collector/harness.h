// Test harness for the collector: a resyncwatchd child process on ephemeral loopback
// ports and small UDP/TCP senders (TempDir and WaitUntil: tests/testlib).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/testlib/testlib.h"

namespace resyncwatch::testing {

std::string ReadFileText(const std::string& path);
void WriteFileText(const std::string& path, const std::string& text);

// Runs argv (no shell) and returns its exit status (-1 if it could not run).
int RunProgram(const std::vector<std::string>& argv);
bool ProgramExists(const std::string& path);
// Runs argv with its stdout in *out (stderr passes through); returns the exit status.
int RunCapture(const std::vector<std::string>& argv, std::string* out);

// resyncwatchd started with the given arguments plus --port-file; stderr to a file.
class Daemon {
 public:
  // with_port_file false: any other long-running program (a relay), nothing appended.
  Daemon(const std::string& binary, std::vector<std::string> args, const std::string& workdir,
         bool with_port_file = true);
  ~Daemon();  // kills it if still running

  // Waits until the port file lists every address; false on timeout or early exit.
  bool WaitListening();
  // "127.0.0.1:40123" lines of the port file, per transport ("udp"/"tcp").
  int Port(const std::string& transport, int index = 0) const;
  // Sends sig and waits for the exit status (-1 on timeout).
  int Stop(int sig = 15);
  bool running();
  pid_t pid() const { return pid_; }
  std::string Stderr() const;
  // The last "received N datagrams" summary count logged (-1 if none yet).
  int64_t LastReceivedSummary() const;

 private:
  pid_t pid_ = -1;
  std::string port_file_;
  std::string stderr_file_;
  std::vector<std::pair<std::string, int>> ports_;
  size_t expected_listeners_ = 0;
};

// Sends each payload as one UDP datagram from one socket to 127.0.0.1:port (::1 with v6).
void SendUdp(int port, const std::vector<std::string>& payloads, bool v6 = false);
// Sends bytes over one TCP connection to 127.0.0.1:port and closes it.
bool SendTcp(int port, const std::string& bytes);
// Like SendUdp, from the IPv4 address source_ip (any of 127.0.0.0/8 on loopback).
void SendUdpFrom(const std::string& source_ip, int port, const std::vector<std::string>& payloads);
// A TCP connection to 127.0.0.1:port left open (the caller closes the fd); -1 on failure.
int ConnectTcp(int port, const std::string& source_ip = "127.0.0.1");
// Raises this process's open-file limit to at least n (up to the hard limit); false if the
// hard limit is lower.
bool RaiseFileLimit(int64_t n);

}  // namespace resyncwatch::testing
