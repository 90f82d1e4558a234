// A program that links two different types named resyncwatch::OdrProbe (probe_struct.cc,
// probe_enum.cc), so that the test of scripts/odr_check sees it find a real break.
#pragma once

namespace resyncwatch {

long ProbeStruct(int n);
long ProbeEnum(int n);

}  // namespace resyncwatch
