#include "agent/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace linen::agent {

void Log(std::string_view msg) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line = std::string(ts) + "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") +
                     std::to_string(ms) + "Z linend: " + std::string(msg) + "\n";
  // One write per line so lines from the HTTP thread never interleave mid-line.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace linen::agent
