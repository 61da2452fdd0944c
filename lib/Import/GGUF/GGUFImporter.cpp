//===- GGUFImporter.cpp - GGUF files as models ----------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/GGUFImporter.h"

#include "GGMLBlocks.h"
#include "GGUF.h"
#include "SafeTensors.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cstring>
#include <optional>

using namespace mlir;
using namespace mlir::llm;
using llmrt::GGUFFile;
using llmrt::GGUFTensor;
using llmrt::GGUFValue;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The bytes the archive's tensors point into: the file's mapping and the
/// converted copies.
struct Holder {
  std::unique_ptr<GGUFFile> file;
  std::vector<std::vector<uint8_t>> buffers;
};

class Metadata {
public:
  Metadata(const GGUFFile &file, std::string arch)
      : file(file), arch(std::move(arch)) {}

  /// `{arch}.key` (or `key` when it starts with "general." or
  /// "tokenizer."), an integer of any integer type.
  llvm::Expected<std::optional<int64_t>> integer(llvm::StringRef key) const {
    std::string full = qualify(key);
    const GGUFValue *v = file.find(full);
    if (!v)
      return std::nullopt;
    if (!v->isInteger() || v->integer < 0)
      return makeError(llvm::formatv("{0}: metadata '{1}': expected a "
                                     "non-negative integer, found {2}",
                                     file.path(), full, v->describe()));
    return v->integer;
  }
  llvm::Expected<int64_t> required(llvm::StringRef key) const {
    llvm::Expected<std::optional<int64_t>> v = integer(key);
    if (!v)
      return v.takeError();
    if (!*v || **v <= 0)
      return makeError(llvm::formatv(
          "{0}: metadata '{1}': expected a positive integer, found {2}",
          file.path(), qualify(key),
          *v ? std::to_string(**v) : std::string("no such key")));
    return **v;
  }
  llvm::Expected<std::optional<double>> real(llvm::StringRef key) const {
    std::string full = qualify(key);
    const GGUFValue *v = file.find(full);
    if (!v)
      return std::nullopt;
    if (v->isFloat())
      return v->real;
    if (v->isInteger())
      return static_cast<double>(v->integer);
    return makeError(llvm::formatv("{0}: metadata '{1}': expected a number, "
                                   "found {2}",
                                   file.path(), full, v->describe()));
  }
  std::string string(llvm::StringRef key) const {
    const GGUFValue *v = file.find(qualify(key));
    return v && v->type == llmrt::GGUFType::String ? v->string : "";
  }

private:
  std::string qualify(llvm::StringRef key) const {
    if (key.starts_with("general.") || key.starts_with("tokenizer."))
      return key.str();
    return arch + "." + key.str();
  }
  const GGUFFile &file;
  std::string arch;
};

/// GPT-2's config from gpt2.* metadata (llama.cpp's GPT2Model converter).
llvm::Error gpt2Config(const Metadata &meta, llvm::json::Object &config) {
  config["model_type"] = "gpt2";
  config["activation_function"] = "gelu_new";
  for (auto [key, field] : {std::pair<llvm::StringRef, llvm::StringRef>{
                                "embedding_length", "n_embd"},
                            {"feed_forward_length", "n_inner"},
                            {"block_count", "n_layer"},
                            {"attention.head_count", "n_head"},
                            {"context_length", "n_positions"}}) {
    llvm::Expected<int64_t> v = meta.required(key);
    if (!v)
      return v.takeError();
    config[field] = *v;
  }
  llvm::Expected<std::optional<double>> eps =
      meta.real("attention.layer_norm_epsilon");
  if (!eps)
    return eps.takeError();
  config["layer_norm_epsilon"] = eps->value_or(1e-5);
  return llvm::Error::success();
}

/// The Hugging Face name of GPT-2 GGUF tensor `name`, or "".
std::string gpt2Name(llvm::StringRef name) {
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "wte.weight"},
      {"position_embd.weight", "wpe.weight"},
      {"output_norm.weight", "ln_f.weight"},
      {"output_norm.bias", "ln_f.bias"},
      {"output.weight", "lm_head.weight"}};
  for (auto [from, to] : kGlobal)
    if (name == from)
      return to.str();
  static const std::pair<llvm::StringRef, llvm::StringRef> kLayer[] = {
      {"attn_norm", "ln_1"},          {"attn_qkv", "attn.c_attn"},
      {"attn_output", "attn.c_proj"}, {"ffn_norm", "ln_2"},
      {"ffn_up", "mlp.c_fc"},         {"ffn_down", "mlp.c_proj"}};
  if (!name.consume_front("blk."))
    return "";
  auto [layer, rest] = name.split('.');
  unsigned index;
  if (layer.getAsInteger(10, index))
    return "";
  auto [tensor, kind] = rest.split('.');
  if (kind != "weight" && kind != "bias")
    return "";
  for (auto [from, to] : kLayer)
    if (tensor == from)
      return ("h." + layer + "." + to + "." + kind).str();
  return "";
}

/// The Hugging Face name of GGUF tensor `name`, or "" for an unknown one.
std::string hfName(llvm::StringRef name, llvm::StringRef arch) {
  if (arch == "gpt2")
    return gpt2Name(name);
  static const std::pair<llvm::StringRef, llvm::StringRef> kGlobal[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"}};
  for (auto [from, to] : kGlobal)
    if (name == from)
      return to.str();
  static const std::pair<llvm::StringRef, llvm::StringRef> kLayer[] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.bias", "self_attn.o_proj.bias"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"}};
  if (!name.consume_front("blk."))
    return "";
  auto [layer, rest] = name.split('.');
  unsigned index;
  if (layer.getAsInteger(10, index))
    return "";
  for (auto [from, to] : kLayer)
    if (rest == from)
      return ("model.layers." + layer + "." + to).str();
  return "";
}

} // namespace

bool mlir::llm::isGGUFPath(llvm::StringRef path) {
  return path.ends_with_insensitive(".gguf");
}

llvm::Expected<GGUFModel> mlir::llm::openGGUF(llvm::StringRef path) {
  llmrt::Expected<std::unique_ptr<GGUFFile>> opened =
      GGUFFile::open(path.str());
  if (!opened)
    return makeError(opened.error());
  auto holder = std::make_shared<Holder>();
  holder->file = std::move(*opened);
  const GGUFFile &file = *holder->file;

  const GGUFValue *archValue = file.find("general.architecture");
  std::string arch = archValue && archValue->type == llmrt::GGUFType::String
                         ? archValue->string
                         : "";
  if (arch != "llama" && arch != "qwen2" && arch != "gpt2")
    return makeError(llvm::formatv(
        "{0}: metadata 'general.architecture': expected llama, qwen2 or gpt2 "
        "(the GGUF architectures LLMC imports), found {1}",
        path, archValue ? archValue->describe() : "no such key"));
  Metadata meta(file, arch);

  // The config the Hugging Face importer reads.
  llvm::json::Object config;
  int64_t hidden = 0, heads = 0, kvHeads = 0, headDim = 0;
  if (arch == "gpt2") {
    llvm::Error err = gpt2Config(meta, config);
    if (err)
      return std::move(err);
  } else {
    config["model_type"] = arch;
    for (auto [key, field] : {std::pair<llvm::StringRef, llvm::StringRef>{
                                  "embedding_length", "hidden_size"},
                              {"feed_forward_length", "intermediate_size"},
                              {"block_count", "num_hidden_layers"},
                              {"attention.head_count", "num_attention_heads"},
                              {"context_length", "max_position_embeddings"}}) {
      llvm::Expected<int64_t> v = meta.required(key);
      if (!v)
        return v.takeError();
      config[field] = *v;
      if (key == "embedding_length")
        hidden = *v;
      if (key == "attention.head_count")
        heads = *v;
    }
    llvm::Expected<std::optional<int64_t>> kv =
        meta.integer("attention.head_count_kv");
    if (!kv)
      return kv.takeError();
    kvHeads = kv->value_or(heads);
    config["num_key_value_heads"] = kvHeads;
    headDim = heads ? hidden / heads : 0;
    llvm::Expected<std::optional<int64_t>> keyLength =
        meta.integer("attention.key_length");
    if (!keyLength)
      return keyLength.takeError();
    if (*keyLength)
      headDim = **keyLength;
    config["head_dim"] = headDim;
    llvm::Expected<std::optional<double>> eps =
        meta.real("attention.layer_norm_rms_epsilon");
    if (!eps)
      return eps.takeError();
    config["rms_norm_eps"] = eps->value_or(1e-5);
    llvm::Expected<std::optional<double>> theta = meta.real("rope.freq_base");
    if (!theta)
      return theta.takeError();
    config["rope_theta"] = theta->value_or(10000.0);
    std::string scaling = meta.string("rope.scaling.type");
    if (!scaling.empty() && scaling != "none") {
      if (scaling != "linear")
        return makeError(llvm::formatv(
            "{0}: metadata '{1}.rope.scaling.type': expected none or linear "
            "(the RoPE scalings LLMC reads from GGUF), found '{2}'",
            path, arch, scaling));
      llvm::Expected<std::optional<double>> factor =
          meta.real("rope.scaling.factor");
      if (!factor)
        return factor.takeError();
      config["rope_scaling"] = llvm::json::Object{
          {"rope_type", "linear"}, {"factor", factor->value_or(1.0)}};
    }
    if (file.lookup("rope_freqs.weight"))
      return makeError(llvm::formatv(
          "{0}: tensor 'rope_freqs.weight': expected no per-frequency RoPE "
          "divisors (llama3-style scaling, which LLMC does not read from GGUF "
          "yet), found them",
          path));
    // Sliding-window attention (Mistral-style files are llama ones with the
    // window).
    llvm::Expected<std::optional<int64_t>> window =
        meta.integer("attention.sliding_window");
    if (!window)
      return window.takeError();
    if (*window && **window > 0) {
      if (arch != "llama")
        return makeError(llvm::formatv(
            "{0}: metadata '{1}.attention.sliding_window': expected none for "
            "{1} (LLMC reads a window from llama files), found {2}",
            path, arch, **window));
      config["model_type"] = "mistral";
      config["sliding_window"] = **window;
    }
  }
  for (auto [key, field] : {std::pair<llvm::StringRef, llvm::StringRef>{
                                "tokenizer.ggml.bos_token_id", "bos_token_id"},
                            {"tokenizer.ggml.eos_token_id", "eos_token_id"}}) {
    llvm::Expected<std::optional<int64_t>> id = meta.integer(key);
    if (!id)
      return id.takeError();
    if (*id)
      config[field] = **id;
  }
  const GGUFTensor *embed = file.lookup("token_embd.weight");
  if (!embed || embed->dims.size() != 2)
    return makeError(llvm::formatv(
        "{0}: tensor 'token_embd.weight': expected a [vocab, hidden] "
        "embedding, found {1}",
        path,
        embed ? "a tensor of " + std::to_string(embed->dims.size()) + " dims"
              : std::string("none")));
  config["vocab_size"] = embed->dims[1];
  // Tied embeddings in a block format the kernels read: the LM head reads
  // the blocks as they are (a decoded token then streams the quantized
  // table, not an f32 copy) and the lookup a table dequantized at load.
  const llmk::GGMLKernelFormat *embedFormat =
      llmk::getGGMLKernelFormat(embed->type);
  const bool tied = file.lookup("output.weight") == nullptr;
  const bool quantizedHead =
      tied && embedFormat && embed->dims[0] % embedFormat->blockElements == 0;
  config["tie_word_embeddings"] = tied && !quantizedHead;

  // The tensors, renamed; query and key rows of llama back in the
  // Hugging Face order.
  GGUFModel result;
  std::vector<llmrt::TensorInfo> tensors;
  std::map<std::string, int64_t> dequantized;
  // Projections in the block formats the kernels read as they are.
  std::map<std::string, std::string> formats;
  for (const GGUFTensor &t : file.tensors()) {
    std::string name = hfName(t.name, arch);
    if (name.empty())
      return makeError(llvm::formatv(
          "{0}: tensor '{1}': expected a tensor of a {2} model ({3}), found "
          "'{1}'",
          path, t.name, arch,
          arch == "gpt2"
              ? "token_embd, position_embd, output_norm, output, "
                "blk.N.attn_norm/attn_qkv/attn_output/ffn_norm/ffn_up/"
                "ffn_down"
              : "token_embd, output_norm, output, blk.N.attn_norm/attn_q/"
                "attn_k/attn_v/attn_output/ffn_norm/ffn_gate/ffn_up/"
                "ffn_down"));
    llmrt::TensorInfo info;
    info.name = name;
    info.file = path.str();
    for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it)
      info.shape.push_back(*it);
    const uint8_t *data = t.data;
    size_t elementSize;
    const llmrt::GGMLType ggmlType = static_cast<llmrt::GGMLType>(t.type);
    // Projections the kernels may read quantized (not GPT-2's fused QKV,
    // which the model reads in row blocks).
    const bool projection =
        llvm::StringRef(name).ends_with("_proj.weight") ||
        name == "lm_head.weight" ||
        (arch == "gpt2" && llvm::StringRef(name).ends_with("mlp.c_fc.weight"));
    const llmk::GGMLKernelFormat *kernelFormat =
        llmk::getGGMLKernelFormat(t.type);
    const char *format = kernelFormat ? kernelFormat->checkpoint : nullptr;
    if (projection && format && t.dims.size() == 2 &&
        t.dims[0] % kernelFormat->blockElements == 0) {
      // Kept quantized: the raw blocks, a row of them per output feature.
      info.dtype = llmrt::DType::U8;
      info.shape = {t.dims[1], static_cast<int64_t>(t.numBytes) / t.dims[1]};
      info.numBytes = t.numBytes;
      formats[name] = format;
      elementSize = 0;
    } else
      switch (ggmlType) {
      case llmrt::GGMLType::F32:
        info.dtype = llmrt::DType::F32;
        elementSize = 4;
        break;
      case llmrt::GGMLType::F16:
        info.dtype = llmrt::DType::F16;
        elementSize = 2;
        break;
      case llmrt::GGMLType::BF16:
        info.dtype = llmrt::DType::BF16;
        elementSize = 2;
        break;
      default: {
        int64_t elements, bytes;
        if (!llmk::getGGMLBlock(t.type, elements, bytes))
          return makeError(llvm::formatv(
              "{0}: tensor '{1}': type {2}, which LLMC does not read (expected "
              "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K-Q6_K or "
              "IQ4_NL)",
              path, t.name,
              llmrt::getGGMLTypeInfo(t.type)
                  ? llmrt::getGGMLTypeInfo(t.type)->name
                  : std::to_string(t.type)));
        std::vector<uint8_t> &buffer = holder->buffers.emplace_back(
            static_cast<size_t>(t.getNumElements()) * 4);
        llmk::dequantizeGGML(t.type, t.data, t.getNumElements() / elements,
                             reinterpret_cast<float *>(buffer.data()));
        data = buffer.data();
        info.dtype = llmrt::DType::F32;
        elementSize = 4;
        ++dequantized[llmrt::getGGMLTypeInfo(t.type)->name];
        break;
      }
      }
    if (elementSize)
      info.numBytes = static_cast<uint64_t>(t.getNumElements()) * elementSize;
    // llama's converter interleaves the two rotary halves of each head's
    // query and key rows: GGUF row 2i holds row i, row 2i + 1 row i + hd/2.
    bool query = llvm::StringRef(t.name).ends_with(".attn_q.weight") ||
                 llvm::StringRef(t.name).ends_with(".attn_q.bias");
    bool key = llvm::StringRef(t.name).ends_with(".attn_k.weight") ||
               llvm::StringRef(t.name).ends_with(".attn_k.bias");
    if (arch == "llama" && (query || key)) {
      int64_t n = query ? heads : kvHeads;
      int64_t rows = info.shape[0];
      int64_t rowBytes = static_cast<int64_t>(info.numBytes) / rows;
      if (n <= 0 || rows != n * headDim || headDim % 2 != 0)
        return makeError(llvm::formatv(
            "{0}: tensor '{1}': expected {2} rows ({3} heads of {4}), found "
            "{5}",
            path, t.name, n * headDim, n, headDim, rows));
      std::vector<uint8_t> &buffer =
          holder->buffers.emplace_back(info.numBytes);
      for (int64_t h = 0; h < n; ++h)
        for (int64_t i = 0; i < headDim; ++i) {
          int64_t from = i < headDim / 2 ? 2 * i : 2 * (i - headDim / 2) + 1;
          std::memcpy(buffer.data() + (h * headDim + i) * rowBytes,
                      data + (h * headDim + from) * rowBytes, rowBytes);
        }
      data = buffer.data();
    }
    info.data = data;
    tensors.push_back(std::move(info));
    if (quantizedHead && &t == embed) {
      llmrt::TensorInfo head;
      head.name = "lm_head.weight";
      head.file = path.str();
      head.dtype = llmrt::DType::U8;
      head.shape = {t.dims[1], static_cast<int64_t>(t.numBytes) / t.dims[1]};
      head.numBytes = t.numBytes;
      head.data = t.data;
      formats[head.name] = embedFormat->checkpoint;
      tensors.push_back(std::move(head));
    }
  }
  for (auto &[type, count] : dequantized)
    result.notes.push_back(llvm::formatv("{0}: {1} tensor(s) of {2} "
                                         "dequantized to f32 at load",
                                         path, count, type));

  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::json::Value(std::move(config));
  os.flush();
  llvm::Expected<std::unique_ptr<HFModel>> model =
      HFModel::fromConfig(json, (path + " (metadata)").str(), path);
  if (!model)
    return model.takeError();
  result.model = std::move(*model);
  result.model->setGGMLFormats(std::move(formats));
  result.model->setConv1DOutIn(arch == "gpt2");
  result.weights = llmrt::SafeTensorsArchive::fromTensors(
      path.str(), std::move(tensors), holder);
  return std::move(result);
}
