// One half of a deliberate one-definition-rule break for scripts/odr_check's own test: a
// struct named resyncwatch::OdrProbe here, an enum of the same name in probe_enum.cc. Neither
// file sees the other, so the compiler and the linker say nothing, as with any such break.
#include "tests/odr/probe.h"

namespace resyncwatch {

struct OdrProbe {
  int first;
  long second;
};

long ProbeStruct(int n) {
  OdrProbe p{n, 2L * n};
  return p.first + p.second;
}

}  // namespace resyncwatch
