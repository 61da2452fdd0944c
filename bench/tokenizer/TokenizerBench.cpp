//===- TokenizerBench.cpp - Encoding throughput of a tokenizer ------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// llm-tokenizer-bench TOKENIZER TEXT [--runs N] [--add-special-tokens]
//                     [--ids FILE]
//
// Loads TOKENIZER (a tokenizer.json or a model folder, as llm-tokenize does)
// and encodes TEXT line by line (the pieces of the file between "\n", as
// Python's str.split("\n") gives them: one encode call per line, one
// thread) once to warm up, then --runs times, timed. Prints the median
// tokens/s and MB/s, then one JSON line with every number for
// bench/tokenizer/run.py. --ids writes the ids of each line as JSON Lines,
// as llm-tokenize does, for comparing with another tokenizer.
//
// Built only on request (ninja llm-tokenizer-bench): a tool to run by hand
// or through bench/tokenizer/run.py, not part of the test suite.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using namespace llmrt;

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "llm-tokenizer-bench: error: %s\n", message.c_str());
  return 1;
}

double threadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string jsonList(const std::vector<double> &v) {
  std::string out = "[";
  char buffer[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buffer, sizeof(buffer), "%s%.6f", i ? ", " : "", v[i]);
    out += buffer;
  }
  return out + "]";
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> paths;
  int runs = 7;
  bool addSpecial = false;
  std::string idsPath;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
      if (runs < 1)
        return fail("--runs: expected a positive count, found '" +
                    std::string(argv[i]) + "'");
    } else if (arg == "--ids" && i + 1 < argc) {
      idsPath = argv[++i];
    } else if (arg == "--add-special-tokens") {
      addSpecial = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return fail("unknown option '" + arg +
                  "'\nusage: llm-tokenizer-bench TOKENIZER TEXT [--runs N] "
                  "[--add-special-tokens] [--ids FILE]");
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.size() != 2)
    return fail("expected TOKENIZER and TEXT\nusage: llm-tokenizer-bench "
                "TOKENIZER TEXT [--runs N] [--add-special-tokens] [--ids "
                "FILE]");

  auto loadStart = std::chrono::steady_clock::now();
  Expected<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::load(paths[0]);
  if (!tokenizer)
    return fail(tokenizer.error());
  double loadSeconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - loadStart)
                           .count();

  std::ifstream in(paths[1], std::ios::binary);
  if (!in)
    return fail(paths[1] + ": cannot open");
  std::ostringstream contents;
  contents << in.rdbuf();
  const std::string text = contents.str();
  std::vector<std::string_view> lines;
  for (size_t start = 0;;) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.emplace_back(text.data() + start, text.size() - start);
      break;
    }
    lines.emplace_back(text.data() + start, end - start);
    start = end + 1;
  }

  // The warm-up pass: the token count, and the ids for --ids.
  size_t tokens = 0;
  std::string idsOut;
  for (std::string_view line : lines) {
    Expected<std::vector<int32_t>> ids = (*tokenizer)->encode(line, addSpecial);
    if (!ids)
      return fail(ids.error());
    tokens += ids->size();
    if (!idsPath.empty()) {
      idsOut += '[';
      for (size_t k = 0; k < ids->size(); ++k) {
        if (k)
          idsOut += ',';
        idsOut += std::to_string((*ids)[k]);
      }
      idsOut += "]\n";
    }
  }
  if (!idsPath.empty()) {
    std::ofstream out(idsPath, std::ios::binary);
    out << idsOut;
    if (!out.flush())
      return fail(idsPath + ": cannot write");
  }

  std::vector<double> wall, cpu;
  for (int r = 0; r < runs; ++r) {
    double cpuStart = threadSeconds();
    auto start = std::chrono::steady_clock::now();
    size_t count = 0;
    for (std::string_view line : lines) {
      Expected<std::vector<int32_t>> ids =
          (*tokenizer)->encode(line, addSpecial);
      if (!ids)
        return fail(ids.error());
      count += ids->size();
    }
    wall.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    cpu.push_back(threadSeconds() - cpuStart);
    if (count != tokens)
      return fail("run " + std::to_string(r) + " gave " +
                  std::to_string(count) + " tokens, the warm-up " +
                  std::to_string(tokens));
  }

  double seconds = median(wall);
  double tokensPerSecond = static_cast<double>(tokens) / seconds;
  double mbPerSecond = static_cast<double>(text.size()) / seconds / 1e6;
  std::printf("%s: %zu lines, %zu bytes, %zu tokens; load %.3f s\n",
              (*tokenizer)->describe().c_str(), lines.size(), text.size(),
              tokens, loadSeconds);
  std::printf("median of %d runs: %.4f s (thread CPU %.4f s): %.0f tokens/s, "
              "%.2f MB/s\n",
              runs, seconds, median(cpu), tokensPerSecond, mbPerSecond);
  std::printf("{\"lines\": %zu, \"bytes\": %zu, \"tokens\": %zu, "
              "\"load_s\": %.6f, \"wall_s\": %s, \"cpu_s\": %s, "
              "\"median_s\": %.6f, \"tokens_per_s\": %.1f, "
              "\"mb_per_s\": %.4f}\n",
              lines.size(), text.size(), tokens, loadSeconds,
              jsonList(wall).c_str(), jsonList(cpu).c_str(), seconds,
              tokensPerSecond, mbPerSecond);
  return 0;
}
