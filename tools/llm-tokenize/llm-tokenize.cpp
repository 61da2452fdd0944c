//===- llm-tokenize.cpp - Encode and decode text with a tokenizer ---------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//   llm-tokenize PATH [--add-special-tokens] < lines.jsonl
//   llm-tokenize PATH --decode [--skip-special-tokens] < ids.jsonl
//
// PATH is a tokenizer.json or a model folder. The contract, which outside
// tests rely on:
//   - stdin is JSON Lines: one JSON string per line to encode, or with
//     --decode one JSON array of ids per line;
//   - stdout gets one line per input line: a JSON array of ids, or with
//     --decode a JSON string;
//   - --add-special-tokens applies the post-processor, as
//     encode(text, add_special_tokens=True); --skip-special-tokens drops the
//     special tokens when decoding.
// Bytes of a line that are not UTF-8 are replaced by U+FFFD (one per
// maximal subpart, as Python's errors="replace") before the line is parsed,
// and an unpaired surrogate escape ("\ud800") decodes to U+FFFD. A line that
// is not the JSON value expected stops the run with
// "llm-tokenize: error: <stdin>:LINE: ..." and exit code 1, after the results
// of the lines before it; so does a tokenizer that does not load, with the
// file and the field at fault.
//
// No MLIR or LLVM: this links the runtime only.
//
//===----------------------------------------------------------------------===//

#include "Json.h"
#include "Tokenizer.h"
#include "tokenizer/Unicode.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

using namespace llmrt;

namespace {

const char *const kUsage =
    "usage: llm-tokenize PATH [--add-special-tokens] [--decode "
    "[--skip-special-tokens]]\n"
    "  PATH: a tokenizer.json, or a model folder with tokenizer.json,\n"
    "        vocab.json + merges.txt, vocab.txt or tokenizer.model\n"
    "  stdin: JSON Lines, one string per line (with --decode, one array of\n"
    "         ids per line); stdout: one array of ids (a string) per line\n";

int fail(const std::string &message) {
  std::fflush(stdout);
  std::fprintf(stderr, "llm-tokenize: error: %s\n", message.c_str());
  return 1;
}

/// What a line held, for messages: the value itself when it is a scalar.
std::string describe(const json::Value &value) {
  if (value.getAsArray())
    return "an array";
  if (value.getAsObject())
    return "an object";
  Expected<std::string> text = json::serialize(value);
  if (!text)
    return "a JSON value";
  return text->size() > 40 ? text->substr(0, 37) + "..." : *text;
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  bool addSpecial = false, decode = false, skipSpecial = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--add-special-tokens")
      addSpecial = true;
    else if (arg == "--decode")
      decode = true;
    else if (arg == "--skip-special-tokens")
      skipSpecial = true;
    else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!arg.empty() && arg[0] == '-')
      return fail("unknown option '" + arg + "'\n" + kUsage);
    else if (!path.empty())
      return fail("expected one PATH, found '" + path + "' and '" + arg +
                  "'\n" + kUsage);
    else
      path = arg;
  }
  if (path.empty())
    return fail(std::string("expected a PATH\n") + kUsage);
  if (decode && addSpecial)
    return fail("--add-special-tokens applies to encoding, not to --decode");
  if (!decode && skipSpecial)
    return fail("--skip-special-tokens applies to --decode only");

  Expected<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::load(path);
  if (!tokenizer)
    return fail(tokenizer.error());

  std::ios::sync_with_stdio(false);
  std::string line, out;
  for (size_t lineNo = 1; std::getline(std::cin, line); ++lineNo) {
    std::string where = "<stdin>:" + std::to_string(lineNo) + ": ";
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    Expected<json::Value> value = json::parse(unicode::repairUtf8(line));
    if (!value)
      return fail(where + (line.empty() ? "expected a JSON value, found an "
                                          "empty line"
                                        : "not valid JSON: " + value.error()));
    out.clear();
    if (!decode) {
      std::optional<std::string_view> text = value->getAsString();
      if (!text)
        return fail(
            where + "expected a JSON string to encode, found " +
            describe(*value) +
            (value->getAsArray() ? " (use --decode to decode ids)" : ""));
      Expected<std::vector<int32_t>> ids =
          (*tokenizer)->encode(*text, addSpecial);
      if (!ids)
        return fail(where + ids.error());
      out += '[';
      for (size_t k = 0; k < ids->size(); ++k) {
        if (k)
          out += ',';
        out += std::to_string((*ids)[k]);
      }
      out += ']';
    } else {
      const json::Array *array = value->getAsArray();
      if (!array)
        return fail(where + "expected a JSON array of ids to decode, found " +
                    describe(*value));
      std::vector<int32_t> ids;
      ids.reserve(array->size());
      int64_t vocabSize = (*tokenizer)->getVocabSize();
      for (size_t k = 0; k < array->size(); ++k) {
        std::optional<int64_t> id = (*array)[k].getAsInt64();
        if (!id || *id < 0 || *id >= vocabSize)
          return fail(where + "element " + std::to_string(k) +
                      ": expected an id in [0, " + std::to_string(vocabSize) +
                      "), found " + describe((*array)[k]));
        ids.push_back(static_cast<int32_t>(*id));
      }
      Expected<std::string> text = (*tokenizer)->decode(ids, skipSpecial);
      if (!text)
        return fail(where + text.error());
      json::appendQuoted(out, *text);
    }
    out += '\n';
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size())
      return fail(std::string("cannot write to standard output: ") +
                  std::strerror(errno));
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return fail(std::string("cannot write to standard output: ") +
                std::strerror(errno));
  return 0;
}
