//===- Generate.cpp - Generation loops: sampling, greedy, beam ------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Generate.h"
#include "BeamSearch.h"
#include "Session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

using namespace llmrt;

SequenceSet::~SequenceSet() = default;

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

//===----------------------------------------------------------------------===//
// Over the KV cache
//===----------------------------------------------------------------------===//

class CachedSequences : public SequenceSet {
public:
  explicit CachedSequences(Session &session) : session(session) {}

  Expected<int64_t> start(TokenSpan prompt, TokenSpan encoderInput,
                          float *logits, PrefillLogits which) override {
    Expected<int64_t> seq = session.addSequence(encoderInput);
    if (!seq)
      return seq;
    Status status = session.prefill(*seq, prompt, logits, which);
    if (!status.isOk()) {
      session.release(*seq);
      return status;
    }
    return seq;
  }

  Status extend(const std::vector<int64_t> &seqs,
                const std::vector<int64_t> &tokens, float *logits) override {
    return session.decode(seqs, tokens, logits);
  }

  Expected<int64_t> fork(int64_t seq) override { return session.fork(seq); }
  void release(int64_t seq) override { session.release(seq); }
  int64_t getBatch() const override { return session.getDecodeBatch(); }
  const Model &getModel() const override { return session.getModel(); }

private:
  Session &session;
};

//===----------------------------------------------------------------------===//
// By recomputation
//===----------------------------------------------------------------------===//

/// Runs the full-sequence entry point on a whole sequence per call, the
/// tokens zero-padded to the compiled length. Causal attention makes
/// position i independent of later positions, so one entry point compiled
/// for the longest sequence serves every length: the padded tail is
/// computed but never read.
class RecomputedSequences : public SequenceSet {
public:
  RecomputedSequences(Model &model, const Entry &entry, ModelInfo info)
      : model(model), entry(entry), info(std::move(info)) {
    const EntryDesc &desc = *entry.desc;
    length = desc.getArg(ArgKind::Tokens).tensor.getNumElements();
    if (desc.hasArg(ArgKind::EncoderTokens))
      encoderLength =
          desc.getArg(ArgKind::EncoderTokens).tensor.getNumElements();
    output.resize(desc.results[0].getNumElements());
    width = output.size() / std::max<int64_t>(length, 1);
  }

  Expected<int64_t> start(TokenSpan prompt, TokenSpan encoderInput,
                          float *logits, PrefillLogits which) override {
    if (encoderLength != static_cast<int64_t>(encoderInput.size()))
      return Status::invalid("the compiled forward pass takes " +
                             std::to_string(encoderLength) +
                             " encoder tokens, the input has " +
                             std::to_string(encoderInput.size()));
    sequences.push_back(
        {std::vector<int64_t>(prompt.begin(), prompt.end()),
         std::vector<int64_t>(encoderInput.begin(), encoderInput.end()), true});
    int64_t seq = static_cast<int64_t>(sequences.size()) - 1;
    Status status = run(seq);
    if (!status.isOk())
      return status;
    if (logits && which == PrefillLogits::Last)
      std::copy_n(output.data() + (prompt.size() - 1) * width, width, logits);
    else if (logits)
      std::copy_n(output.data(), prompt.size() * width, logits);
    return seq;
  }

  Status extend(const std::vector<int64_t> &seqs,
                const std::vector<int64_t> &tokens, float *logits) override {
    for (size_t i = 0; i < seqs.size(); ++i)
      sequences[seqs[i]].tokens.push_back(tokens[i]);
    for (size_t i = 0; i < seqs.size(); ++i) {
      const Sequence &s = sequences[seqs[i]];
      // Sequences with the same tokens (beams that forked this step) share
      // one pass.
      bool same = false;
      for (size_t j = 0; j < i && !same; ++j)
        if (sequences[seqs[j]].tokens == s.tokens &&
            sequences[seqs[j]].encoderTokens == s.encoderTokens) {
          std::copy_n(logits + j * width, width, logits + i * width);
          same = true;
        }
      if (same)
        continue;
      Status status = run(seqs[i]);
      if (!status.isOk())
        return status;
      std::copy_n(output.data() + (s.tokens.size() - 1) * width, width,
                  logits + i * width);
    }
    return Status::ok();
  }

  Expected<int64_t> fork(int64_t seq) override {
    sequences.push_back(sequences[seq]);
    return static_cast<int64_t>(sequences.size()) - 1;
  }

  void release(int64_t seq) override {
    sequences[seq].live = false;
    sequences[seq].tokens.clear();
  }

  int64_t getBatch() const override { return 1; }
  const Model &getModel() const override { return model; }

private:
  struct Sequence {
    std::vector<int64_t> tokens;
    std::vector<int64_t> encoderTokens;
    bool live = false;
  };

  Status run(int64_t seq) {
    const Sequence &s = sequences[seq];
    int64_t known = s.tokens.size();
    if (known > length)
      return Status::invalid("a sequence of " + std::to_string(known) +
                             " tokens is longer than the compiled forward "
                             "pass (" +
                             std::to_string(length) + " tokens)");
    std::vector<int64_t> ids(length, 0), positions(length, info.positionOffset),
        types(length, 0), encoder(s.encoderTokens);
    std::copy(s.tokens.begin(), s.tokens.end(), ids.begin());
    // Positions past the known tokens stay at the offset, so that a
    // position-dependent rope scaling (dynamic NTK) sees the true length.
    for (int64_t i = 0; i < known; ++i)
      positions[i] = info.positionOffset + i;
    EntryArgs args;
    args.tokens = ids.data();
    args.positions = positions.data();
    args.tokenTypes = types.data();
    args.encoderTokens = encoder.data();
    void *results[] = {output.data()};
    return model.run(entry, args, results);
  }

  Model &model;
  const Entry &entry;
  ModelInfo info;
  int64_t length = 0, encoderLength = 0, width = 0;
  std::vector<float> output;
  std::vector<Sequence> sequences;
};

} // namespace

std::unique_ptr<SequenceSet> llmrt::makeCachedSequences(Session &session) {
  return std::make_unique<CachedSequences>(session);
}

Expected<std::unique_ptr<SequenceSet>>
llmrt::makeRecomputedSequences(Model &model) {
  Expected<const ModelInfo *> info = model.getInfo();
  if (!info)
    return info.takeStatus();
  for (const Entry &entry : model.getEntries()) {
    const EntryDesc &desc = *entry.desc;
    if (!desc.hasArg(ArgKind::KVCache) && !desc.hasArg(ArgKind::CrossSlots) &&
        desc.hasArg(ArgKind::Tokens) && desc.results.size() == 1)
      return std::unique_ptr<SequenceSet>(
          new RecomputedSequences(model, entry, **info));
  }
  return Status::error(ErrorCode::Unsupported,
                       "the model has no full-sequence entry point (compile "
                       "it without the KV cache)");
}

Expected<SessionOptions>
llmrt::getSessionOptions(const Model &model, const std::vector<Prompt> &prompts,
                         const GenerateParams &params) {
  int64_t blockSize = 0, crossBlockSize = 0;
  for (const Entry &entry : model.getEntries()) {
    if (entry.desc->hasArg(ArgKind::KVCache))
      blockSize = entry.desc->getArg(ArgKind::KVCache).cache->blockSize;
    if (entry.desc->hasArg(ArgKind::CrossCache))
      crossBlockSize = entry.desc->getArg(ArgKind::CrossCache).cache->blockSize;
  }
  if (blockSize <= 0)
    return Status::error(ErrorCode::Unsupported,
                         "the model has no entry point over a KV cache");
  auto blocks = [](int64_t tokens, int64_t size) {
    return size > 0 ? (tokens + size - 1) / size : 0;
  };
  // A sequence holds blocks for all its tokens, unless every layer attends
  // through a sliding window: then it holds its prompt while prefilling, and
  // afterwards the window's last W - 1 keys plus the block of the next token.
  int64_t window = 0;
  if (Expected<const ModelInfo *> info = model.getInfo())
    window = (*info)->slidingWindow;
  auto held = [&](int64_t prompt) {
    int64_t all = blocks(prompt + params.maxNewTokens, blockSize);
    if (window <= 0)
      return all;
    return std::min(all, std::max(blocks(prompt, blockSize),
                                  blocks(window - 1, blockSize) + 2));
  };
  SessionOptions options;
  options.maxSequences = prompts.size();
  options.ignoreContextLength = params.ignoreContextLength;
  int64_t longest = 0;
  for (const Prompt &p : prompts) {
    options.numBlocks += held(p.tokens.size());
    options.numCrossBlocks += blocks(p.encoderTokens.size(), crossBlockSize);
    longest = std::max<int64_t>(longest, p.tokens.size());
  }
  // Beam search: the prompt's sequence, then K beams each of which may fork
  // once while the previous K are held.
  if (params.numBeams > 1)
    options.numBlocks = (2 * params.numBeams + 1) * held(longest);
  options.numCrossBlocks = std::max<int64_t>(options.numCrossBlocks, 1);
  return options;
}

Status llmrt::checkGenerateParams(const GenerateParams &params,
                                  const ParamNamer &namer) {
  auto name = [&](const std::string &field) {
    return namer ? namer(field) : field;
  };
  SamplerParamError error;
  if (!check_sampler_params(params.sampler, &error))
    return Status::invalid(name(error.param) + ": expected " + error.expected +
                           ", found " + error.found);
  if (params.maxNewTokens < 0)
    return Status::invalid(name("max_new_tokens") +
                           ": expected a value >= 0, found " +
                           std::to_string(params.maxNewTokens));
  if (params.numBeams < 1)
    return Status::invalid(name("num_beams") +
                           ": expected a value >= 1, found " +
                           std::to_string(params.numBeams));
  if (params.numBeams > kMaxBeams)
    return Status::invalid(name("num_beams") + ": expected a value in [1, " +
                           std::to_string(kMaxBeams) + "], found " +
                           std::to_string(params.numBeams));
  if (!std::isfinite(params.lengthPenalty))
    return Status::invalid(name("length_penalty") +
                           ": expected a finite value, found " +
                           format_number(params.lengthPenalty));
  if (params.numBeams > 1 && params.sampler.temperature > 0)
    return Status::invalid(name("num_beams") +
                           ": beam search does not sample; it excludes " +
                           name("temperature") + " > 0");
  if (params.numBeams > 1 && params.sampler.repetition_penalty != 1.0)
    return Status::invalid(name("num_beams") +
                           ": beam search does not support " +
                           name("repetition_penalty"));
  return Status::ok();
}

std::string llmrt::explainNaN(const Model &model) {
  std::string weights = model.describeNonFiniteWeights();
  if (weights.empty())
    return "; every weight is finite: an activation overflowed";
  return ": the checkpoint's " + weights;
}

Status llmrt::checkContextLength(const ModelInfo &info, int64_t promptTokens,
                                 const GenerateParams &params,
                                 const ParamNamer &namer) {
  auto name = [&](const std::string &field) {
    return namer ? namer(field) : field;
  };
  int64_t context = info.contextLength;
  if (!context || params.ignoreContextLength ||
      params.maxNewTokens <= context - promptTokens)
    return Status::ok();
  if (promptTokens >= context)
    return Status::invalid(
        "the prompt has " + std::to_string(promptTokens) +
        " tokens; the model was trained for a context of " +
        std::to_string(context) +
        " positions (max_position_embeddings and its rope scaling), which "
        "leaves no room to generate (" +
        name("ignore_context_length") + " generates past it)");
  return Status::invalid(
      name("max_new_tokens") + ": the model was trained for a context of " +
      std::to_string(context) + " positions (max_position_embeddings and " +
      "its rope scaling); the prompt (" + std::to_string(promptTokens) +
      ") plus " + name("max_new_tokens") + " (" +
      std::to_string(params.maxNewTokens) + ") exceeds it (" +
      name("ignore_context_length") + " generates past it)");
}

Expected<GenerationResult> llmrt::generate(SequenceSet &sequences,
                                           const std::vector<Prompt> &prompts,
                                           const GenerateParams &params,
                                           int64_t vocab) {
  Status status = checkGenerateParams(params);
  if (!status.isOk())
    return status;
  if (prompts.empty() || vocab <= 0)
    return Status::invalid("generate: expected at least one prompt");
  int64_t batch = prompts.size();
  GenerationResult result;
  result.tokens.resize(batch);
  std::vector<std::vector<int64_t>> history(batch);
  std::vector<int64_t> seqs;
  std::vector<float> rows(batch * vocab);
  auto releaseAll = [&] {
    for (int64_t seq : seqs)
      sequences.release(seq);
  };

  // Each prompt on its own, then one extend call per step for all.
  auto start = Clock::now();
  auto begin = start;
  for (int64_t b = 0; b < batch; ++b) {
    const Prompt &p = prompts[b];
    if (p.tokens.empty()) {
      releaseAll();
      return Status::invalid("generate: prompt " + std::to_string(b) +
                             " has no tokens");
    }
    // Every position's logits only where they are kept: the last one's
    // are all that generation reads.
    bool keep = b == 0 && params.keepPromptLogits;
    std::vector<float> logits(keep ? p.tokens.size() * vocab : 0);
    Expected<int64_t> seq =
        keep ? sequences.start(p.tokens, p.encoderTokens, logits.data())
             : sequences.start(p.tokens, p.encoderTokens,
                               rows.data() + b * vocab, PrefillLogits::Last);
    if (!seq) {
      releaseAll();
      return seq.takeStatus();
    }
    seqs.push_back(*seq);
    if (keep) {
      std::copy_n(logits.data() + (p.tokens.size() - 1) * vocab, vocab,
                  rows.data() + b * vocab);
      result.promptLogits = std::move(logits);
    }
    history[b] = p.tokens;
    result.prefillTokens += p.tokens.size();
    result.encoderTokens += p.encoderTokens.size();
  }
  result.prefillSeconds = secondsSince(start);

  Sampler sampler(params.sampler);
  Rng rng(params.sampler.seed);
  StopCriteria stop{params.stopTokenIds, params.maxNewTokens};
  std::vector<bool> done(batch, false);
  result.decodeBatch = sequences.getBatch();
  start = Clock::now();
  for (int64_t step = 0; step < params.maxNewTokens; ++step) {
    if (step > 0) {
      std::vector<int64_t> active, tokens;
      for (int64_t b = 0; b < batch; ++b)
        if (!done[b]) {
          active.push_back(seqs[b]);
          tokens.push_back(history[b].back());
        }
      std::vector<float> logits(active.size() * vocab);
      status = sequences.extend(active, tokens, logits.data());
      if (!status.isOk()) {
        releaseAll();
        return status;
      }
      for (int64_t b = 0, i = 0; b < batch; ++b)
        if (!done[b])
          std::copy_n(logits.data() + i++ * vocab, vocab,
                      rows.data() + b * vocab);
      ++result.decodeSteps;
      result.decodeTokens += active.size();
    }
    bool anyLeft = false;
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b])
        continue;
      const float *row = rows.data() + b * vocab;
      if (b == 0 && params.keepStepLogits)
        result.stepLogits.insert(result.stepLogits.end(), row, row + vocab);
      int64_t next = sampler.sample(row, vocab, history[b], rng);
      if (next < 0) {
        releaseAll();
        std::string message = "sampling: " + sampler.error();
        if (std::any_of(row, row + vocab,
                        [](float v) { return std::isnan(v); }))
          message += explainNaN(sequences.getModel());
        return Status::invalid(message);
      }
      result.tokens[b].push_back(next);
      history[b].push_back(next);
      if (step == 0 && b == 0)
        result.firstTokenSeconds = secondsSince(begin);
      done[b] =
          stop.check(next, result.tokens[b].size()) == StopReason::StopToken;
      if (params.onToken && !params.onToken(static_cast<size_t>(b), next))
        done[b] = true;
      anyLeft |= !done[b];
    }
    if (!anyLeft)
      break;
  }
  result.decodeSeconds = secondsSince(start);
  releaseAll();
  return result;
}

Expected<GenerationResult> llmrt::beamSearch(SequenceSet &sequences,
                                             const Prompt &prompt,
                                             const GenerateParams &params,
                                             int64_t vocab) {
  Status status = checkGenerateParams(params);
  if (!status.isOk())
    return status;
  if (prompt.tokens.empty() || vocab <= 0)
    return Status::invalid("beam search: expected a prompt of at least one "
                           "token");
  int64_t beams = params.numBeams;
  GenerationResult result;
  auto start = Clock::now();
  std::vector<float> lastLogits(vocab);
  Expected<int64_t> first =
      sequences.start(prompt.tokens, prompt.encoderTokens, lastLogits.data(),
                      PrefillLogits::Last);
  if (!first)
    return first.takeStatus();
  result.prefillTokens = prompt.tokens.size();
  result.encoderTokens = prompt.encoderTokens.size();
  result.prefillSeconds = secondsSince(start);
  result.decodeBatch = sequences.getBatch();

  // beamSeqs[i]: the sequence of the previous call's beam i (in the first
  // call every beam is the prompt).
  std::vector<int64_t> beamSeqs(beams, *first);
  BeamLogitsFn logitsFn = [&](const std::vector<Beam> &beamList, float *logits,
                              std::string &message) {
    if (beamList[0].parent < 0) {
      for (int64_t b = 0; b < beams; ++b)
        std::copy_n(lastLogits.data(), vocab, logits + b * vocab);
      return true;
    }
    // A parent's sequence goes to its first child, forks to the others;
    // sequences without a child are released.
    std::set<int64_t> taken;
    std::vector<int64_t> seqs(beams);
    for (int64_t b = 0; b < beams; ++b) {
      int64_t parent = beamSeqs[beamList[b].parent];
      if (taken.insert(parent).second) {
        seqs[b] = parent;
        continue;
      }
      Expected<int64_t> copy = sequences.fork(parent);
      if (!copy) {
        message = copy.error();
        return false;
      }
      seqs[b] = *copy;
    }
    for (int64_t seq : std::set<int64_t>(beamSeqs.begin(), beamSeqs.end()))
      if (!taken.count(seq))
        sequences.release(seq);
    beamSeqs = seqs;
    std::vector<int64_t> tokens(beams);
    for (int64_t b = 0; b < beams; ++b)
      tokens[b] = beamList[b].tokens.back();
    Status extended = sequences.extend(seqs, tokens, logits);
    if (!extended.isOk()) {
      message = extended.message();
      return false;
    }
    ++result.decodeSteps;
    result.decodeTokens += beams;
    return true;
  };
  BeamSearchParams beamParams;
  beamParams.num_beams = beams;
  beamParams.max_new_tokens = params.maxNewTokens;
  beamParams.length_penalty = params.lengthPenalty;
  beamParams.eos_token_ids = params.stopTokenIds;
  auto searchStart = Clock::now();
  BeamSearchResult search = beam_search(beamParams, vocab, logitsFn);
  result.decodeSeconds = secondsSince(searchStart);
  for (int64_t seq : std::set<int64_t>(beamSeqs.begin(), beamSeqs.end()))
    sequences.release(seq);
  if (!search.ok)
    return Status::error(ErrorCode::InvalidArgument,
                         "beam search: " + search.error +
                             (search.nanLogits
                                  ? explainNaN(sequences.getModel())
                                  : std::string()));
  result.tokens = {search.tokens};
  result.beamScore = search.score;
  result.beamSteps = search.steps;
  return result;
}
