//===- Memory.cpp - The runtime's big allocations -------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Memory.h"

#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace llmrt;

uint64_t llmrt::getAvailableMemory() {
  if (FILE *f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof(line), f))
      found = std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
    std::fclose(f);
    if (found)
      return static_cast<uint64_t>(kb) * 1024;
  }
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * size : 0;
}

std::string llmrt::formatBytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (uint64_t(1) << 30))
    std::snprintf(text, sizeof(text), "%.2f GB", bytes / 1e9);
  else if (bytes >= (uint64_t(1) << 20))
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / 1e6);
  else
    std::snprintf(text, sizeof(text), "%llu bytes",
                  static_cast<unsigned long long>(bytes));
  return text;
}

Status llmrt::checkMemory(uint64_t bytes, const std::string &what) {
  uint64_t available = getAvailableMemory();
  if (available == 0 || bytes <= available)
    return Status::ok();
  return Status::error(ErrorCode::OutOfMemory,
                       "not enough memory: " + what + " needs " +
                           formatBytes(bytes) + ", the machine has " +
                           formatBytes(available) + " available");
}
