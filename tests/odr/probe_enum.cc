// The other half of the deliberate break (see probe_struct.cc): an enum named OdrProbe.
#include "tests/odr/probe.h"

namespace resyncwatch {

enum class OdrProbe { kOne, kTwo };

long ProbeEnum(int n) {
  OdrProbe p = n > 1 ? OdrProbe::kTwo : OdrProbe::kOne;
  return static_cast<long>(p);
}

}  // namespace resyncwatch
