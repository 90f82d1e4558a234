// A private clickhouse-server for the tests: its own config, data directory and users
// file in a temporary directory, listening on a free loopback port (HTTP only), started as
// a child process and never the system service. One per test process, started on first use
// (it takes about half a second) and killed when the process ends.
#pragma once

#include <memory>
#include <string>

#include "clickhouse/clickhouse.h"
#include "harness.h"

namespace resyncwatch::testing {

class TestClickHouse {
 public:
  // The process's server, started if needed; REQUIREs (Catch) that it answers.
  static TestClickHouse& Get();
  ~TestClickHouse();

  const std::string& url() const { return url_; }
  // The server also has the cluster two_shards: two shards that are both this server, with
  // their tables in the databases shard1 and shard2.
  // The same server over HTTPS, with a self-signed certificate for 127.0.0.1 in ca_file()
  // (its own CA); "" when the certificate could not be made.
  std::string https_url() const { return certificate_ok_ ? https_url_ : ""; }
  std::string ca_file() const { return dir_.Join("cert.pem"); }
  // Options for a database of the caller's own (tests share the server, not the tables).
  ClickHouseOptions Options(const std::string& database) const;
  // SIGKILL, as a crash or a pulled cable would; Start() brings it back on the same port
  // and data directory.
  void Kill();
  bool Start();
  // The first column of the first row of `sql`'s answer ("" on failure).
  std::string Scalar(const std::string& sql) const;

 private:
  TestClickHouse();
  friend std::default_delete<TestClickHouse>;
  TempDir dir_;
  int port_ = 0;
  std::string url_, https_url_;
  bool certificate_ok_ = false;
  std::unique_ptr<Daemon> server_;
};

// Whether clickhouse-server is installed (scripts/deps installs it).
bool ClickHouseInstalled();

}  // namespace resyncwatch::testing
