// ServerTls: an SSL_CTX per load, swapped under a mutex.
#include "web/server_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace resyncwatch {
namespace {

std::string OpenSslReason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Result<std::shared_ptr<SSL_CTX>> Build(const std::string& cert, const std::string& key) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  const std::string files = "--http-tls-cert " + cert + " / --http-tls-key " + key;
  if (ctx == nullptr) return Status::IoError(files + ": " + OpenSslReason());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Status::InvalidArgument(
        files + ": cannot load the certificate and key (PEM): " + OpenSslReason());
  }
  return ctx;
}

}  // namespace

Result<std::shared_ptr<ServerTls>> ServerTls::Load(const std::string& cert_file,
                                                   const std::string& key_file) {
  std::shared_ptr<ServerTls> tls(new ServerTls(cert_file, key_file));
  if (Status s = tls->Reload(); !s.ok()) return s;
  return tls;
}

Status ServerTls::Reload() {
  Result<std::shared_ptr<SSL_CTX>> ctx = Build(cert_, key_);
  if (!ctx.ok()) return ctx.status();
  std::lock_guard lock(mu_);
  ctx_ = std::move(*ctx);
  return Status::Ok();
}

std::shared_ptr<SSL_CTX> ServerTls::Current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

}  // namespace resyncwatch
