//===- Runner.cpp - The main() of llm-compile's standalone executables ----===//
//
// Part of LLMC, under the Apache License v2.0.
//
// `llm-compile MODEL -o NAME --emit=exe` links the model's code with this
// file (libLLMCRunner.a) and libllmrt into the executable NAME, and writes
// the rest of the artifact beside it, in NAME.llmc/ (manifest.json,
// params.safetensors, the tokenizer's files): the parameters are read from
// that folder at run time, not embedded. The executable needs libllmrt
// and its kernels, never LLVM or MLIR. It takes llm-run's running flags:
//
//   NAME (--input-ids IDS | --prompt TEXT) [--max-new-tokens N]
//        [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--seed S]
//        [--ignore-eos] [--num-threads N] [--dump-logits FILE.npy]
//        [--dump-ids FILE]
//
// prints the generated ids ("generated: ...") or, from a text prompt, the
// completion as it streams. Errors name the flag or the file and exit 1.
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"
#include "Generate.h"
#include "Json.h"
#include "Model.h"
#include "SafeTensors.h"
#include "Session.h"
#include "Tokenizer.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

using namespace llmrt;

namespace {

int fail(const std::string &tool, const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), message.c_str());
  return 1;
}

/// The entry points linked into this executable (exported with -rdynamic).
class SelfCode : public CodeProvider {
public:
  SelfCode() : handle(dlopen(nullptr, RTLD_NOW)) {}
  ~SelfCode() override {
    if (handle)
      dlclose(handle);
  }
  void *lookup(std::string_view symbol) override {
    return handle ? dlsym(handle, std::string(symbol).c_str()) : nullptr;
  }

private:
  void *handle;
};

bool parseInt(const std::string &text, int64_t &out) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || errno)
    return false;
  out = v;
  return true;
}

bool parseDouble(const std::string &text, double &out) {
  char *end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && !*end && !errno;
}

bool writeNpy(const std::string &path, const std::vector<float> &data,
              int64_t rows, int64_t cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) +
                       "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out << "\x93NUMPY" << '\x01' << '\x00'
      << static_cast<char>(header.size() & 0xff)
      << static_cast<char>(header.size() >> 8) << header;
  out.write(reinterpret_cast<const char *>(data.data()),
            static_cast<std::streamsize>(data.size() * sizeof(float)));
  out.close();
  return static_cast<bool>(out);
}

} // namespace

int main(int argc, char **argv) {
  std::string tool = argv[0];
  if (size_t slash = tool.rfind('/'); slash != std::string::npos)
    tool = tool.substr(slash + 1);
  // The flags, as llm-run spells them.
  std::map<std::string, std::string> flags;
  const char *valued[] = {"--input-ids",   "--prompt",  "--max-new-tokens",
                          "--temperature", "--top-k",   "--top-p",
                          "--min-p",       "--seed",    "--num-threads",
                          "--dump-logits", "--dump-ids"};
  bool ignoreEos = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "--ignore-eos") {
      ignoreEos = true;
      continue;
    }
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail(tool, arg + ": expected a value");
    }
    bool known = false;
    for (const char *name : valued)
      known = known || arg == name;
    if (!known)
      return fail(tool, "unknown flag '" + arg +
                            "' (expected --input-ids, "
                            "--prompt, --max-new-tokens, "
                            "--temperature, --top-k, "
                            "--top-p, --min-p, --seed, "
                            "--ignore-eos, --num-threads, "
                            "--dump-logits, --dump-ids)");
    flags[arg] = value;
  }
  if (flags.count("--input-ids") == flags.count("--prompt"))
    return fail(tool, "expected the prompt: --input-ids IDS or --prompt TEXT");

  // The artifact beside the executable: NAME.llmc/.
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return fail(tool, "cannot find this executable's path");
  self[n] = 0;
  const std::string dir = std::string(self) + ".llmc";
  Expected<ArtifactManifest> read = readArtifactManifest(dir);
  if (!read)
    return fail(tool, read.error());
  if (!read->manifest.model)
    return fail(tool, dir + "/manifest.json: field 'model': expected the "
                            "model's description, found nothing");
  const ModelInfo info = *read->manifest.model;
  Expected<std::unique_ptr<SafeTensorsArchive>> params =
      SafeTensorsArchive::openFile(dir + "/params.safetensors", dir);
  if (!params)
    return fail(tool, params.error());
  const std::vector<uint64_t> paramBytes = read->info.paramBytes;
  Expected<std::unique_ptr<Model>> model = Model::create(
      std::move(read->manifest),
      std::shared_ptr<const SafeTensorsArchive>(std::move(*params)),
      []() -> Expected<std::unique_ptr<CodeProvider>> {
        return std::unique_ptr<CodeProvider>(new SelfCode());
      },
      true, nullptr, paramBytes.empty() ? nullptr : &paramBytes);
  if (!model)
    return fail(tool, model.error());

  int64_t threads = 0;
  if (flags.count("--num-threads") &&
      (!parseInt(flags["--num-threads"], threads) || threads < 0 ||
       threads > 1024))
    return fail(tool, "--num-threads: expected a value in [0, 1024], found '" +
                          flags["--num-threads"] + "'");
  setNumThreads(static_cast<int32_t>(threads));

  // The prompt.
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<int64_t> prompt;
  if (flags.count("--prompt")) {
    Expected<std::unique_ptr<Tokenizer>> loaded = Tokenizer::load(dir);
    if (!loaded)
      return fail(tool, loaded.error());
    tokenizer = std::move(*loaded);
    Expected<std::vector<int32_t>> ids =
        tokenizer->encode(flags["--prompt"], true, false);
    if (!ids)
      return fail(tool, "--prompt: " + ids.error());
    prompt.assign(ids->begin(), ids->end());
  } else {
    std::string text = flags["--input-ids"], item;
    for (size_t start = 0; start <= text.size();) {
      size_t comma = text.find(',', start);
      item = text.substr(start, comma == std::string::npos ? std::string::npos
                                                           : comma - start);
      int64_t id;
      if (!parseInt(item, id) || id < 0 || id >= info.vocabSize)
        return fail(tool, "--input-ids: expected token ids in [0, " +
                              std::to_string(info.vocabSize) +
                              ") separated by commas, found '" + item + "'");
      prompt.push_back(id);
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
  }
  if (prompt.empty())
    return fail(tool, "the prompt has no tokens");

  GenerateParams generate;
  int64_t maxNew = 32, topK = 0, seed = 0;
  double temperature = 0, topP = 1, minP = 0;
  if ((flags.count("--max-new-tokens") &&
       !parseInt(flags["--max-new-tokens"], maxNew)) ||
      (flags.count("--top-k") && !parseInt(flags["--top-k"], topK)) ||
      (flags.count("--seed") && !parseInt(flags["--seed"], seed)) ||
      (flags.count("--temperature") &&
       !parseDouble(flags["--temperature"], temperature)) ||
      (flags.count("--top-p") && !parseDouble(flags["--top-p"], topP)) ||
      (flags.count("--min-p") && !parseDouble(flags["--min-p"], minP)))
    return fail(tool, "expected numbers for --max-new-tokens, --top-k, "
                      "--seed, --temperature, --top-p and --min-p");
  generate.sampler = sampler_params(temperature, topK, topP, minP, 1.0,
                                    static_cast<uint64_t>(seed));
  generate.maxNewTokens = maxNew;
  if (!ignoreEos)
    generate.stopTokenIds = info.eosTokenIds;
  generate.keepPromptLogits = flags.count("--dump-logits") > 0;
  auto flagName = [](std::string field) {
    for (char &c : field)
      c = c == '_' ? '-' : c;
    return "--" + field;
  };
  Status checked = checkGenerateParams(generate, flagName);
  if (!checked.isOk())
    return fail(tool, checked.message());
  if (maxNew < 1)
    return fail(tool, "--max-new-tokens: expected a value >= 1, found " +
                          std::to_string(maxNew));
  std::vector<Prompt> prompts = {{prompt, {}}};
  Expected<SessionOptions> sessionOptions =
      getSessionOptions(**model, prompts, generate);
  if (!sessionOptions)
    return fail(tool, sessionOptions.error());
  Expected<std::unique_ptr<Session>> session =
      Session::create(**model, *sessionOptions);
  if (!session)
    return fail(tool, session.error());
  std::unique_ptr<SequenceSet> sequences = makeCachedSequences(**session);
  // From text: the completion streams as it is generated.
  std::vector<int32_t> streamed;
  size_t shown = 0;
  if (tokenizer)
    generate.onToken = [&](size_t, int64_t token) {
      streamed.push_back(static_cast<int32_t>(token));
      Expected<std::string> text = tokenizer->decode(streamed, true);
      if (text && text->size() > shown &&
          text->compare(text->size() >= 3 ? text->size() - 3 : 0,
                        std::string::npos, "\xEF\xBF\xBD") != 0) {
        std::fputs(text->c_str() + shown, stdout);
        std::fflush(stdout);
        shown = text->size();
      }
      return true;
    };
  Expected<GenerationResult> result =
      llmrt::generate(*sequences, prompts, generate, info.vocabSize);
  if (!result)
    return fail(tool, result.error());
  const std::vector<int64_t> &tokens = result->tokens[0];
  if (tokenizer) {
    std::printf("\n");
  } else {
    std::printf("generated:");
    for (size_t i = 0; i < tokens.size(); ++i)
      std::printf("%s%lld", i ? "," : " ", static_cast<long long>(tokens[i]));
    std::printf("\n");
  }
  if (flags.count("--dump-ids")) {
    std::ofstream out(flags["--dump-ids"]);
    for (size_t i = 0; i < tokens.size(); ++i)
      out << (i ? "," : "") << tokens[i];
    out << "\n";
    if (!out)
      return fail(tool,
                  "--dump-ids: cannot write '" + flags["--dump-ids"] + "'");
  }
  if (flags.count("--dump-logits") &&
      !writeNpy(flags["--dump-logits"], result->promptLogits,
                static_cast<int64_t>(prompt.size()), info.vocabSize))
    return fail(tool,
                "--dump-logits: cannot write '" + flags["--dump-logits"] + "'");
  return 0;
}
