module attributes {llm.model = #llm.model<type = "t5", kind = encoder_decoder, vocab_size = 100, hidden_size = 16, eos_token_ids = [1, 7], decoder_start_token_id = 3, sliding_window = 4>} {
  func.func @kinds(%enc: tensor<1x5xi64> {llm.arg_kind = #llm.arg_kind<encoder_tokens>},
                   %dec: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<tokens>},
                   %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, block_size = 4, dtype = f32> {llm.arg_kind = #llm.arg_kind<cross_cache>},
                   %slots: tensor<1x2xi32> {llm.arg_kind = #llm.arg_kind<cross_slots>}) {
    return
  }
}
