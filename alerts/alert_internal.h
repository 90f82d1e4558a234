// Helpers shared by the files of alerts/ (not part of the module's public surface).
#pragma once

#include <string>

#include "alerts/alerts.h"

namespace resyncwatch {

// "000e08abcdef": the canonical MAC form (the same as parsers' FormatMac), kept here so
// that the alert engine depends on the store's vocabulary only.
std::string MacHex(MacAddress mac);

}  // namespace resyncwatch
