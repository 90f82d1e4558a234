// Who may use resyncwatchd's HTTP server: users with crypt(3) password hashes (HTTP basic
// auth) and bearer tokens, each from a file read once at start. Verification uses
// libxcrypt's crypt_r, so any hash it accepts works ($y$ yescrypt from mkpasswd, $6$ from
// openssl passwd -6); weak or unknown hash methods are refused when the file is read.
// Thread-safe after Load: Check is called from the server's threads concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace resyncwatch {

class Credentials {
 public:
  // Reads "name:HASH" lines from users_file and one token per line from tokens_file (either
  // may be empty: none). Blank lines and lines starting with '#' are skipped. Errors name
  // the file and line.
  static Result<std::unique_ptr<Credentials>> Load(const std::string& users_file,
                                                   const std::string& tokens_file);

  // True when there is nothing to check (no users, no tokens): everyone is let in.
  bool open() const { return users_.empty() && tokens_.empty(); }
  // The value of an Authorization header ("Basic ..." or "Bearer ..."): allowed or not.
  bool Check(std::string_view authorization) const;

 private:
  bool CheckBasic(std::string_view encoded) const;
  bool CheckBearer(std::string_view token) const;

  std::map<std::string, std::string, std::less<>> users_;  // name -> hash
  std::vector<std::string> tokens_;
  // Authorization values already verified: a yescrypt check costs tens of milliseconds,
  // and the console polls several endpoints every few seconds.
  mutable std::mutex mutex_;
  mutable std::set<std::string, std::less<>> verified_;
};

}  // namespace resyncwatch
