// libFuzzer target over the tls:// input: TlsSession (ciphertext in, plaintext and
// handshake replies out) and the octet-counting framer and parser its plaintext feeds,
// as TcpInput chains them. Built only with -DRESYNCWATCH_FUZZ=ON (clang); run with
// scripts/fuzz tls.
//
// Input: byte 0 picks the mode, byte 1 and byte 2 cut sizes; the rest is the payload.
//  - mode 0 (raw): the payload is what a peer sends before any handshake: OpenSSL's record
//    and ClientHello parsing behind our Feed/Pump loop. It can never yield plaintext.
//  - mode 1 (session): a real client (OpenSSL, memory BIOs) completes a handshake with the
//    session, then sends the payload as application data in records of the first cut
//    size; the ciphertext reaches the session in reads of the second. The session must
//    give back exactly the payload, and its frames go through the framer and the parser.
//  - mode 2 (tampered): as mode 1, with one byte of the client's last flight flipped: the
//    session must not give back the whole payload, and what it gave must be a prefix of it.
// Random bytes cannot complete a handshake, so the session modes are how the fuzzer
// reaches the post-handshake record path and the framing behind it.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "collector/tls_session.h"
#include "parsers/parsers.h"

namespace {

using resyncwatch::TlsServerContext;
using resyncwatch::TlsSession;

struct Fixture {
  std::shared_ptr<TlsServerContext> server;
  SSL_CTX* client = nullptr;
  resyncwatch::TemplateSet templates = resyncwatch::TemplateSet::Defaults().value();
};

// A self-signed P-256 certificate and its key, written to files for TlsServerContext.
void WriteCertificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("fuzz"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, key, EVP_sha256()) == 0) std::abort();
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    char dir[] = "/tmp/resyncwatch-tls-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    const std::string cert = std::string(dir) + "/cert.pem", key = std::string(dir) + "/key.pem";
    WriteCertificate(cert, key);
    auto server = TlsServerContext::Create(cert, key, "");
    if (!server.ok()) std::abort();
    f->server = *server;
    ::unlink(cert.c_str());
    ::unlink(key.c_str());
    ::rmdir(dir);
    f->client = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(f->client, SSL_VERIFY_NONE, nullptr);
    return f;
  }();
  return *fixture;
}

std::string Drain(BIO* bio) {
  std::string out;
  char buf[16 * 1024];
  for (int n; (n = BIO_read(bio, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Feeds cipher to the session in reads of `cut` bytes; false once the session fails.
bool FeedCut(TlsSession* session, std::string_view cipher, size_t cut, std::string* plain,
             std::string* reply) {
  for (size_t i = 0; i < cipher.size(); i += cut) {
    std::string error;
    if (!session->Feed(cipher.substr(i, cut), plain, reply, &error)) {
      if (error.empty()) std::abort();  // a failure always says why
      return false;
    }
  }
  return true;
}

void FuzzRaw(std::string_view payload, size_t cut) {
  TlsSession session(*GetFixture().server);
  std::string plain, reply;
  FeedCut(&session, payload, cut, &plain, &reply);
  if (!plain.empty()) std::abort();
}

// The plaintext as TcpInput treats it: octet-counted frames, each parsed.
void FrameAndParse(std::string_view plain) {
  resyncwatch::TcpFrameDecoder decoder(4096);
  resyncwatch::ParseContext ctx;
  ctx.reference_us = 1'795'000'000'000'000;
  resyncwatch::ParsedMessage m;
  auto on_frame = [&](std::string_view frame) {
    resyncwatch::Parse(frame, GetFixture().templates, ctx, &m);
    if ((m.format == resyncwatch::SyslogFormat::kRaw) == m.raw_reason.empty()) std::abort();
  };
  decoder.Feed(plain, on_frame);
  decoder.Finish(on_frame);
}

void FuzzSession(std::string_view payload, size_t record, size_t cut, bool tamper) {
  const Fixture& fixture = GetFixture();
  TlsSession session(*fixture.server);
  SSL* client = SSL_new(fixture.client);
  BIO* to_server = BIO_new(BIO_s_mem());
  BIO* from_server = BIO_new(BIO_s_mem());
  SSL_set_bio(client, from_server, to_server);  // the client reads from_server
  SSL_set_connect_state(client);
  std::string plain, reply;
  for (int round = 0; round < 8 && SSL_is_init_finished(client) == 0; ++round) {
    SSL_do_handshake(client);
    if (!FeedCut(&session, Drain(to_server), cut, &plain, &reply)) std::abort();
    BIO_write(from_server, reply.data(), static_cast<int>(reply.size()));
    reply.clear();
  }
  if (SSL_is_init_finished(client) == 0) std::abort();  // a real client always gets in
  for (size_t i = 0; i < payload.size(); i += record) {
    std::string_view part = payload.substr(i, record);
    if (SSL_write(client, part.data(), static_cast<int>(part.size())) <= 0) std::abort();
  }
  std::string cipher = Drain(to_server);
  if (tamper && !cipher.empty()) cipher[(record * 131 + cut) % cipher.size()] ^= 0x5a;
  const bool ok = FeedCut(&session, cipher, cut, &plain, &reply);
  if (tamper && !cipher.empty()) {
    // AEAD: a flipped byte never yields altered plaintext. The session fails, or waits for
    // more bytes when the flip lengthened a record; either way only a prefix came out.
    if (ok && plain == payload && !payload.empty()) std::abort();
    if (payload.substr(0, plain.size()) != plain) std::abort();
  } else {
    if (!ok || plain != payload) std::abort();
  }
  FrameAndParse(plain);
  SSL_free(client);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const size_t record = 1 + data[1] * 64;  // 1 .. 16321 bytes: up to one full record
  const size_t cut = 1 + data[2] * 16;
  std::string_view payload(reinterpret_cast<const char*>(data) + 3, size - 3);
  switch (data[0] % 3) {
    case 0:
      FuzzRaw(payload, cut);
      break;
    case 1:
      FuzzSession(payload, record, cut, false);
      break;
    default:
      FuzzSession(payload, record, cut, true);
      break;
  }
  ERR_clear_error();
  return 0;
}
