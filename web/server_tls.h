// ServerTls: the HTTPS server's certificate and key, reloadable. Load builds an OpenSSL
// server context from PEM files (TLS 1.2 or newer); Reload builds a new one from the same
// files and, only if that works, makes it the one new connections use. Connections already
// established keep the context they started with (OpenSSL counts its references), so none
// is dropped; a bad new file keeps the old context and returns the reason.
// Threads: Current and Reload are thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace resyncwatch {

class ServerTls {
 public:
  // Errors name the options (--http-tls-cert / --http-tls-key) and OpenSSL's reason.
  static Result<std::shared_ptr<ServerTls>> Load(const std::string& cert_file,
                                                 const std::string& key_file);
  Status Reload();
  // The context new connections use; keep the shared_ptr while calling SSL_new.
  std::shared_ptr<SSL_CTX> Current() const;

 private:
  ServerTls(std::string cert, std::string key) : cert_(std::move(cert)), key_(std::move(key)) {}
  std::string cert_, key_;
  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;
};

}  // namespace resyncwatch
