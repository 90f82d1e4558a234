#include <cstdio>

#include "tests/odr/probe.h"

int main(int argc, char**) {
  std::printf("%ld\n", resyncwatch::ProbeStruct(argc) + resyncwatch::ProbeEnum(argc));
  return 0;
}
