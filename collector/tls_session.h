// TLS for the TCP input (RFC 5425: syslog over TLS, octet-counted frames inside): a
// server context built once from --tls-cert/--tls-key (and --tls-client-ca to require and
// verify client certificates), and one session per connection that turns the ciphertext
// read from the socket into plaintext frames and handshake replies, through OpenSSL memory
// BIOs so that libuv keeps owning the socket. OpenSSL types stay in this file's .cc.
// A TlsServerContext is immutable and may be shared; a TlsSession is one connection's,
// used on the loop thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

class TlsServerContext {
 public:
  // Errors name the file and OpenSSL's reason.
  static Result<std::shared_ptr<TlsServerContext>> Create(const std::string& cert_file,
                                                          const std::string& key_file,
                                                          const std::string& client_ca_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  void* native() const { return ctx_; }  // SSL_CTX*

 private:
  explicit TlsServerContext(void* ctx) : ctx_(ctx) {}
  void* ctx_;
};

class TlsSession {
 public:
  explicit TlsSession(const TlsServerContext& context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Feeds ciphertext read from the peer: appends the decrypted bytes to *plain and what
  // must be sent back (handshake records) to *reply. False on a TLS failure (a bad or
  // missing client certificate, not TLS at all), with OpenSSL's reason in *error.
  bool Feed(std::string_view cipher, std::string* plain, std::string* reply, std::string* error);

 private:
  bool Pump(std::string* plain, std::string* error);
  void* ssl_;  // SSL*
  void* rbio_;
  void* wbio_;
};

}  // namespace resyncwatch
