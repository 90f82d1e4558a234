// ingest_loadgen: replays a realistic fleet corpus (Cisco MPP/SPA resync, upgrade and
// debug messages in the shapes phones and relays send) as UDP datagrams with sendmmsg,
// flat out or paced. Prints one "sent=N seconds=S rate=R" line for bench/ingest/run.sh.
// Two corpora: "fleet" mixes the shapes phones and relays send (identifiers, relay stamps,
// RFC 5424, debug lines); "storm" is a mass-reboot burst as the phones send it themselves:
// RFC 3164 with PRI, one constant timestamp, no identifier, resync/upgrade messages only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/bench_flags.h"
#include "common/flags.h"

namespace resyncwatch {
namespace {

constexpr FlagSpec kSpecs[] = {
    {"host", FlagType::kString, "127.0.0.1", "ADDR", "receiver address (IPv4)"},
    {"port", FlagType::kInt, "5514", "PORT", "receiver UDP port"},
    {"count", FlagType::kInt, "1000000", "N", "datagrams to send"},
    {"rate", FlagType::kInt, "0", "N", "datagrams per second; 0 = as fast as possible"},
    {"devices", FlagType::kInt, "20000", "N", "phones in the simulated fleet"},
    {"batch", FlagType::kInt, "256", "N", "datagrams per sendmmsg call"},
    {"seed", FlagType::kInt, "1", "N", "corpus random seed"},
    {"sources", FlagType::kInt, "1", "N",
     "sender addresses: 1 sends everything from one socket; N > 1 sends each phone's "
     "datagrams from its own loopback address (127.1.x.y, one of N) and relayed ones from "
     "the relays' (127.0.0.10, 127.0.0.11), as a fleet does"},
    {"shape", FlagType::kString, "fleet", "NAME",
     "corpus: fleet (mixed senders and formats) or storm (RFC 3164 from the phones, constant "
     "timestamp, no identifier)"},
    {"corpus-out", FlagType::kString, "", "FILE", "also write the corpus, one message per line"},
    {"help", FlagType::kBool, "", "", "print this help"},
};

struct Phone {
  std::string model;
  std::string mac_colon;  // 00:0e:08:ab:cd:ef
  std::string mac_plain;  // 000e08abcdef
  std::string server;
  std::string path;
};

const char* kModels[] = {"CP-8851-3PCC", "CP-7841-3PCC", "CP-6841-3PCC", "CP-8845-3PCC",
                         "CP-8832-3PCC", "ATA192-3PCC",  "SPA112",       "SPA504G"};
const char* kServers[] = {"http://10.23.45.67:80", "https://prov.telco.com:443",
                          "tftp://192.168.1.200", "http://[2001:db8::5]:80"};
const char* kErrors[] = {"http_get failed", "corrupt file", "http_get failed: 404 Not Found",
                         "connection timed out"};
const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Datagram {
  std::string text;
  uint32_t phone = 0;
  int relay = -1;  // 0 or 1 when a relay forwarded it, else -1
};

std::vector<Datagram> MakeCorpus(int devices, uint32_t seed, size_t size, bool storm) {
  std::mt19937 rng(seed);
  std::vector<Phone> fleet;
  for (int i = 0; i < devices; ++i) {
    Phone p;
    p.model = kModels[rng() % 8];
    uint64_t mac = 0x000e08000000ULL + static_cast<uint64_t>(i) * 7919 % 0xffffff;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", int(mac >> 40 & 0xff),
                  int(mac >> 32 & 0xff), int(mac >> 24 & 0xff), int(mac >> 16 & 0xff),
                  int(mac >> 8 & 0xff), int(mac & 0xff));
    p.mac_colon = buf;
    std::snprintf(buf, sizeof(buf), "%012llx", static_cast<unsigned long long>(mac));
    p.mac_plain = buf;
    p.server = kServers[rng() % 4];
    p.path = (rng() % 2) ? "/cisco/" + p.mac_plain + ".cfg" : "/" + p.model + ".xml";
    fleet.push_back(std::move(p));
  }
  std::vector<Datagram> corpus;
  corpus.reserve(size);
  char line[512];
  for (size_t i = 0; i < size; ++i) {
    const uint32_t phone = static_cast<uint32_t>(rng() % fleet.size());
    const Phone& p = fleet[phone];
    int relay = -1;
    // The storm's phones only report resyncs and upgrades (no debug lines).
    const int r = storm ? static_cast<int>(rng() % 85) : static_cast<int>(rng() % 100);
    std::string body;
    if (r < 40) {
      body = p.model + " " + p.mac_colon + " -- Requesting resync " + p.server + p.path;
    } else if (r < 75) {
      body = p.model + " " + p.mac_colon + " -- Successful resync " + p.server + p.path;
    } else if (r < 83) {
      body = p.model + " " + p.mac_colon + " -- Resync failed: " + kErrors[rng() % 4];
    } else if (r < 85) {
      body = p.model + " " + p.mac_colon + " -- Requesting upgrade " + p.server + "/sip88xx.loads";
    } else {
      static const char* kDebug[] = {"SIP/2.0 200 OK", "REGISTER sip:10.23.45.1 SIP/2.0",
                                     "[0]Reg Addr Change(0) 0:0->a17082d:5060",
                                     "RSE_DEBUG: getting alternate from domain:10.23.45.1"};
      body = kDebug[rng() % 4];
    }
    const int month = static_cast<int>(rng() % 12), day = 1 + static_cast<int>(rng() % 28);
    const int hh = static_cast<int>(rng() % 24), mm = static_cast<int>(rng() % 60),
              ss = static_cast<int>(rng() % 60);
    const int shape = static_cast<int>(rng() % 10);
    if (storm) {  // every phone rebooted in the same second
      std::snprintf(line, sizeof(line), "<134>Dec  7 08:00:00 %s", body.c_str());
    } else if (shape < 5) {  // the phone's own datagram, no identifier
      std::snprintf(line, sizeof(line), "<134>%s %2d %02d:%02d:%02d %s", kMonths[month], day, hh,
                    mm, ss, body.c_str());
    } else if (shape < 7) {  // Syslog_Identifier $MA
      std::snprintf(line, sizeof(line), "<134>%s %2d %02d:%02d:%02d %s %s", kMonths[month], day, hh,
                    mm, ss, p.mac_plain.c_str(), body.c_str());
    } else if (shape < 9) {  // through an rsyslog relay (ISO timestamp, host)
      relay = 0;
      std::snprintf(line, sizeof(line),
                    "<134>2026-%02d-%02dT%02d:%02d:%02d.%06d+00:00 relay01 phone: %s", month + 1,
                    day, hh, mm, ss, static_cast<int>(rng() % 1000000), body.c_str());
    } else {  // RFC 5424 from a relay
      relay = 1;
      std::snprintf(line, sizeof(line),
                    "<134>1 2026-%02d-%02dT%02d:%02d:%02d.000Z relay02 phone - - - %s", month + 1,
                    day, hh, mm, ss, body.c_str());
    }
    corpus.push_back(Datagram{line, phone, relay});
  }
  return corpus;
}

// Where the datagrams go and from which source addresses.
struct Target {
  sockaddr_in to{};
  int64_t sources = 1;
};

constexpr size_t kControl = CMSG_SPACE(sizeof(in_pktinfo));

// With many sources, each datagram names its source address in an IP_PKTINFO control message
// (any 127/8 address is local), so the socket stays unconnected.
void SetSource(mmsghdr& msg, char* control, const Datagram& d, Target& target) {
  std::memset(control, 0, kControl);
  msg.msg_hdr.msg_name = &target.to;
  msg.msg_hdr.msg_namelen = sizeof(target.to);
  msg.msg_hdr.msg_control = control;
  msg.msg_hdr.msg_controllen = kControl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg.msg_hdr);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo info{};
  info.ipi_spec_dst.s_addr =
      d.relay >= 0 ? htonl(0x7f00000aU + static_cast<uint32_t>(d.relay))
                   : htonl(0x7f010001U + d.phone % static_cast<uint32_t>(target.sources));
  std::memcpy(CMSG_DATA(c), &info, sizeof(info));
}

// Sends n prepared messages, retrying what the kernel did not take; false on a hard error.
bool SendBatch(int fd, mmsghdr* msgs, int n) {
  int done = 0;
  while (done < n) {
    int r = sendmmsg(fd, msgs + done, n - done, 0);
    if (r < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) continue;
      std::perror("sendmmsg");
      return false;
    }
    done += r;
  }
  return true;
}

// Sends `count` datagrams from the corpus (cycling), `batch` per sendmmsg, paced to `rate` per
// second when rate > 0. Returns the seconds it took, or a negative value on a send error.
double SendCorpus(int fd, const std::vector<Datagram>& corpus, Target& target, int64_t count,
                  int64_t rate, int batch) {
  std::vector<mmsghdr> msgs(batch);
  std::vector<iovec> iov(batch);
  std::vector<char> control(static_cast<size_t>(batch) * kControl);
  const auto start = std::chrono::steady_clock::now();
  int64_t sent = 0;
  size_t next = 0;
  while (sent < count) {
    const int n = static_cast<int>(std::min<int64_t>(batch, count - sent));
    for (int i = 0; i < n; ++i) {
      const Datagram& d = corpus[next++ & 0xffff];
      iov[i].iov_base = const_cast<char*>(d.text.data());
      iov[i].iov_len = d.text.size();
      std::memset(&msgs[i], 0, sizeof(mmsghdr));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (target.sources > 1)
        SetSource(msgs[i], control.data() + static_cast<size_t>(i) * kControl, d, target);
    }
    if (!SendBatch(fd, msgs.data(), n)) return -1;
    sent += n;
    if (rate > 0) {
      const auto due = start + std::chrono::nanoseconds(sent * 1'000'000'000LL / rate);
      std::this_thread::sleep_until(due);
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The UDP socket to the receiver; connected when everything comes from one source. Returns
// -1 after printing why on a bad address or a failed connect (*exit_code says which).
int OpenSocket(const FlagSet& flags, Target& target, int* exit_code) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  target.to.sin_family = AF_INET;
  target.to.sin_port = htons(static_cast<uint16_t>(flags.GetInt("port")));
  if (inet_pton(AF_INET, flags.GetString("host").c_str(), &target.to.sin_addr) != 1) {
    std::fprintf(stderr, "ingest_loadgen: --host must be an IPv4 address\n");
    *exit_code = 2;
    return -1;
  }
  if (target.sources == 1 &&
      connect(fd, reinterpret_cast<sockaddr*>(&target.to), sizeof(target.to)) != 0) {
    std::perror("connect");
    *exit_code = 1;
    return -1;
  }
  return fd;
}

int Main(int argc, char** argv) {
  FlagSet flags(kSpecs);
  if (auto exit = bench::ParseBenchFlags(
          flags,
          {"ingest_loadgen", "ingest_loadgen [options]", "UDP syslog load generator (sendmmsg)."},
          argc, argv)) {
    return *exit;
  }
  const int64_t count = flags.GetInt("count");
  const int batch =
      static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(1024, flags.GetInt("batch"))));
  const std::string shape = flags.GetString("shape");
  if (shape != "fleet" && shape != "storm") {
    std::fprintf(stderr, "ingest_loadgen: --shape must be fleet or storm\n");
    return 2;
  }
  auto corpus = MakeCorpus(static_cast<int>(flags.GetInt("devices")),
                           static_cast<uint32_t>(flags.GetInt("seed")), 65536, shape == "storm");
  if (std::string out = flags.GetString("corpus-out"); !out.empty()) {
    std::ofstream f(out);
    for (const auto& d : corpus) f << d.text << "\n";
  }
  Target target;
  target.sources = flags.GetInt("sources");
  if (target.sources < 1 || target.sources > 65000) {
    std::fprintf(stderr, "ingest_loadgen: --sources must be between 1 and 65000\n");
    return 2;
  }
  int exit_code = 0;
  int fd = OpenSocket(flags, target, &exit_code);
  if (fd < 0) return exit_code;
  const double seconds = SendCorpus(fd, corpus, target, count, flags.GetInt("rate"), batch);
  if (seconds < 0) return 1;
  const int64_t sent = std::max<int64_t>(0, count);  // SendCorpus sends all or fails
  std::printf("sent=%lld seconds=%.3f rate=%.0f\n", static_cast<long long>(sent), seconds,
              sent / seconds);
  close(fd);
  return 0;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) { return resyncwatch::Main(argc, argv); }
