// A small fleet written into a real store on disk through Store::Write: three phones
// with real-looking resync and upgrade messages around 2026-11-25T08:00:00Z.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "store/store.h"
#include "tests/testlib/testlib.h"

namespace resyncwatch::testing {

// 2026-11-25T08:00:00Z
constexpr int64_t kT0 = 1'795'593'600'000'000;
constexpr int64_t kSec = 1'000'000;

// The event as the parsers would produce it from "<model> <mac> -- <body>".
Event MakeEvent(EventKind kind, std::string_view mac_text, std::string_view model, int64_t t,
                std::string_view url_or_error, std::string_view source);

// Writes the fixture fleet (and some counters) into a new store in dir and closes it.
//  A  00:12:34:ab:45:de CP-8851-3PCC SN FCH2251A1B2: two profiles fetched at T0 (1.2 s
//     and 0.5 s), at T0+1h a request that fails with "http_get failed", then a debug line.
//  B  00:0e:08:ab:cd:ef CP-6841-3PCC: a request at T0+10s with no outcome, another at
//     T0+1000s that succeeds 0.4 s later.
//  C  00:0e:08:aa:bb:cc SPA2102: an upgrade at T0+20s (success, firmware 5.1.10), then a
//     resync failure "corrupt file" at T0+30s.
//  and one unattributed line at T0+40s.
void WriteFixtureFleet(const std::string& dir);

}  // namespace resyncwatch::testing
