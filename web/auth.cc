#include "web/auth.h"

#include <crypt.h>

#include <cstring>
#include <sstream>

#include "common/file_text.h"

namespace resyncwatch {
namespace {

constexpr size_t kMaxVerified = 64;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Calls fn(line_number, line) for each line that is not blank or a comment.
template <typename Fn>
Status ForEachLine(const std::string& path, Fn fn) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string_view l = Trim(line);
    if (l.empty() || l[0] == '#') continue;
    if (Status s = fn(n, l); !s.ok()) return s;
  }
  return Status::Ok();
}

// Compares in time independent of where the texts differ (the length may show).
bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string Base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) return {};
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Credentials>> Credentials::Load(const std::string& users_file,
                                                       const std::string& tokens_file) {
  auto c = std::unique_ptr<Credentials>(new Credentials());
  if (!users_file.empty()) {
    Status s = ForEachLine(users_file, [&](int n, std::string_view line) {
      auto bad = [&](std::string_view why) {
        return Status::InvalidArgument("--http-users " + users_file + " line " + std::to_string(n) +
                                       ": " + std::string(why));
      };
      size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos) return bad("is not name:HASH");
      std::string hash(Trim(line.substr(colon + 1)));
      // crypt_checksalt: the method is known to libxcrypt and still considered strong.
      int check = crypt_checksalt(hash.c_str());
      if (check != CRYPT_SALT_OK) {
        return bad(
            "the hash is not one crypt(3) accepts as strong (make one with mkpasswd "
            "or openssl passwd -6)");
      }
      c->users_[std::string(line.substr(0, colon))] = hash;
      return Status::Ok();
    });
    if (!s.ok()) return s;
  }
  if (!tokens_file.empty()) {
    Status s = ForEachLine(tokens_file, [&](int n, std::string_view line) {
      if (line.size() < 16) {
        return Status::InvalidArgument("--http-tokens " + tokens_file + " line " +
                                       std::to_string(n) + ": a token needs 16 characters");
      }
      c->tokens_.emplace_back(line);
      return Status::Ok();
    });
    if (!s.ok()) return s;
  }
  if (!users_file.empty() && !tokens_file.empty() && c->open()) {
    return Status::InvalidArgument("--http-users and --http-tokens list nobody");
  }
  return c;
}

bool Credentials::Check(std::string_view authorization) const {
  if (open()) return true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.count(authorization) != 0) return true;
  }
  bool ok = false;
  if (authorization.rfind("Basic ", 0) == 0) {
    ok = CheckBasic(Trim(authorization.substr(6)));
  } else if (authorization.rfind("Bearer ", 0) == 0) {
    ok = CheckBearer(Trim(authorization.substr(7)));
  }
  if (ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.size() >= kMaxVerified) verified_.clear();
    verified_.emplace(authorization);
  }
  return ok;
}

bool Credentials::CheckBasic(std::string_view encoded) const {
  std::string decoded = Base64Decode(encoded);
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  auto it = users_.find(std::string_view(decoded).substr(0, colon));
  if (it == users_.end()) return false;
  std::string password = decoded.substr(colon + 1);
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), it->second.c_str(), &data);
  return hash != nullptr && hash[0] != '*' && ConstantTimeEqual(it->second, hash);
}

bool Credentials::CheckBearer(std::string_view token) const {
  bool ok = false;
  for (const std::string& t : tokens_) ok |= ConstantTimeEqual(t, token);
  return ok;
}

}  // namespace resyncwatch
