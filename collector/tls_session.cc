#include "collector/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace resyncwatch {
namespace {

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

SSL* Ssl(void* p) { return static_cast<SSL*>(p); }
BIO* Bio(void* p) { return static_cast<BIO*>(p); }

}  // namespace

Result<std::shared_ptr<TlsServerContext>> TlsServerContext::Create(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::IoError("TLS: " + OpenSslError());
  auto fail = [&](const std::string& what) {
    std::string why = what + ": " + OpenSslError();
    SSL_CTX_free(ctx);
    return Status::InvalidArgument(why);
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return fail("--tls-cert " + cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("--tls-key " + key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("--tls-key " + key_file + " does not match --tls-cert " + cert_file);
  }
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, client_ca_file.c_str(), nullptr) != 1) {
      return fail("--tls-client-ca " + client_ca_file);
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return std::shared_ptr<TlsServerContext>(new TlsServerContext(ctx));
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

TlsSession::TlsSession(const TlsServerContext& context) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(context.native()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);  // the SSL owns both
  SSL_set_accept_state(ssl);
  ssl_ = ssl;
  rbio_ = rbio;
  wbio_ = wbio;
}

TlsSession::~TlsSession() { SSL_free(Ssl(ssl_)); }

bool TlsSession::Feed(std::string_view cipher, std::string* plain, std::string* reply,
                      std::string* error) {
  ERR_clear_error();
  bool ok = true;
  while (ok && !cipher.empty()) {
    const int n = BIO_write(Bio(rbio_), cipher.data(), static_cast<int>(cipher.size()));
    if (n <= 0) {
      *error = "cannot buffer TLS input";
      return false;
    }
    cipher.remove_prefix(static_cast<size_t>(n));
    ok = Pump(plain, error);
  }
  char buf[16 * 1024];
  for (int n; (n = BIO_read(Bio(wbio_), buf, sizeof buf)) > 0;) {
    reply->append(buf, static_cast<size_t>(n));
  }
  return ok;
}

bool TlsSession::Pump(std::string* plain, std::string* error) {
  SSL* ssl = Ssl(ssl_);
  auto failed = [&](int rc) {
    const int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_ZERO_RETURN) {
      return false;
    }
    *error = OpenSslError();
    return true;
  };
  if (!SSL_is_init_finished(ssl)) {
    const int rc = SSL_do_handshake(ssl);
    if (rc != 1) return !failed(rc);
  }
  char buf[16 * 1024];
  for (;;) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n > 0) {
      plain->append(buf, static_cast<size_t>(n));
      continue;
    }
    return !failed(n);
  }
}

}  // namespace resyncwatch
