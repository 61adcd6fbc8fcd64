#include "plugins/bridge/random_mac.h"

#include <sys/random.h>

#include <cstdint>
#include <cstdio>
#include <random>

namespace bridge {

std::string RandomMac() {
  uint8_t b[6];
  if (getrandom(b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    std::random_device rd;  // getrandom cannot really fail for 6 bytes; be safe anyway
    for (uint8_t& x : b) x = static_cast<uint8_t>(rd());
  }
  b[0] = static_cast<uint8_t>((b[0] & 0xfe) | 0x02);  // unicast, locally administered
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

}  // namespace bridge
