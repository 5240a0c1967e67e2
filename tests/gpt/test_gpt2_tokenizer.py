"""GPT-2's tokenizer files and GPT-4's pre-split pattern.

The tests write a tiny `vocab.json` + `merges.txt` in GPT-2's layout (merges learned from a
short text, bytes numbered in GPT-2's printable-first order), then check
`BPETokenizer.from_gpt2` against:

- a reference encoder written here the way GPT-2's own `encoder.py` works (strings of
  byte characters, the lowest-ranked pair merged everywhere, repeated);
- tiktoken built from the same merges (marked `oracle`; `nox -s oracle` installs tiktoken).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygpt.gpt import BPETokenizer, TokenizerError, load_tokenizer
from tinygpt.gpt.tokenizers.pretokenize import GPT2_PATTERN, GPT4_PATTERN, pre_split

TEXT = (
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox doesn't.\n"
    "def main():\n    return 42  # the answer\n\n"
    "Ünïcödé, 日本語, emoji 🙂 and numbers 1234567 ½. THEY'LL SAY I'M \t tabs\r\n"
) * 5

# NOTE: unassigned code points (Cn) are left out: tiktoken's and `regex`'s Unicode tables
# may be newer than this Python's unicodedata; lone surrogates (Cs) are not UTF-8 at all
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cn"]))


def gpt2_byte_chars() -> list[str]:
    """Byte -> character in GPT-2's files, written out independently of tinygpt's."""
    keep = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    shifted = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(shifted)) for b in range(256)]


def gpt2_byte_order() -> list[int]:
    """The bytes in the order GPT-2 numbers them: the ones that stand for themselves first."""
    chars = gpt2_byte_chars()
    return sorted(range(256), key=lambda b: (ord(chars[b]) >= 256, ord(chars[b])))


def as_chars(data: bytes) -> str:
    chars = gpt2_byte_chars()
    return "".join(chars[b] for b in data)


def write_gpt2_files(folder: Path, trained: BPETokenizer) -> dict[str, int]:
    """`trained`'s merges as GPT-2's vocab.json and merges.txt in `folder`; returns the vocab."""
    vocab = {as_chars(bytes([b])): i for i, b in enumerate(gpt2_byte_order())}
    lines = ["#version: 0.2"]
    for rank, (a, b) in enumerate(trained.merges):
        left, right = as_chars(trained.vocab[a]), as_chars(trained.vocab[b])
        lines.append(f"{left} {right}")
        vocab[left + right] = 256 + rank
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return vocab


def reference_encode(text: str, vocab: dict[str, int], merges: list[tuple[str, str]]) -> list[int]:
    """GPT-2's algorithm: per pre-token, merge the lowest-ranked adjacent pair everywhere."""
    ranks = {pair: rank for rank, pair in enumerate(merges)}
    ids = []
    for piece in pre_split(text):
        word = list(as_chars(piece.encode("utf-8")))
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: ranks.get(p, len(ranks)))
            if best not in ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        ids.extend(vocab[token] for token in word)
    return ids


@pytest.fixture(scope="module")
def trained() -> BPETokenizer:
    return BPETokenizer().train(TEXT, vocab_size=420)


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory, trained) -> Path:
    folder = tmp_path_factory.mktemp("gpt2")
    write_gpt2_files(folder, trained)
    return folder


@pytest.fixture(scope="module")
def gpt2(gpt2_folder) -> BPETokenizer:
    return BPETokenizer.from_gpt2(gpt2_folder)


def read_back(folder: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
    return vocab, [tuple(line.split(" ")) for line in lines]


# ---------------------------------------------------------------------- GPT-2's files
def test_gpt2_byte_ids_are_gpt2s(gpt2):
    # GPT-2's real ids for these bytes: "!" 0, "a" 64, "\n" 198, " " 220
    assert gpt2.encode("!") == [0]
    assert gpt2.encode("\n") == [198]
    assert gpt2.encode(" ") == [220]
    assert gpt2.encode("~") == [93]
    assert gpt2.vocab[64] == b"a"
    assert gpt2.eot_id == gpt2.vocab_size - 1 == 256 + len(gpt2.merges)


def test_gpt2_ids_are_the_trained_ids_with_bytes_renumbered(gpt2, trained):
    renumber = {b: i for i, b in enumerate(gpt2_byte_order())}
    for text in (TEXT, "unseen words: zyzzyva 9876 🙃\n"):
        expected = [renumber.get(i, i) if i < 256 else i for i in trained.encode(text)]
        assert gpt2.encode(text) == expected


@given(ANY_TEXT)
def test_gpt2_matches_the_reference_encoder(gpt2_folder, gpt2, text):
    vocab, merges = read_back(gpt2_folder)
    assert gpt2.encode(text) == reference_encode(text, vocab, merges)
    assert gpt2.decode(gpt2.encode(text)) == text


def test_gpt2_reference_encoder_on_the_training_text(gpt2_folder, gpt2):
    vocab, merges = read_back(gpt2_folder)
    ids = gpt2.encode(TEXT)
    assert ids == reference_encode(TEXT, vocab, merges)
    assert len(ids) < len(TEXT.encode("utf-8")) // 2  # the merges really apply


def test_gpt2_special_token_and_decode(gpt2):
    ids = gpt2.encode("hi<|endoftext|>there", allowed_special="all")
    assert gpt2.eot_id in ids
    assert gpt2.decode(ids) == "hi<|endoftext|>there"
    assert gpt2.eot_id not in gpt2.encode("hi<|endoftext|>there")


def test_gpt2_tokenizer_saves_and_loads(tmp_path, gpt2):
    path = tmp_path / "tok.json"
    gpt2.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    # a byte order other than 0..255 needs format 2: version 1 readers would misread it
    assert data["version"] == 2 and len(data["byte_ids"]) == 256
    again = load_tokenizer(path)
    assert again.encode(TEXT, allowed_special="all") == gpt2.encode(TEXT, allowed_special="all")
    assert again.to_dict() == gpt2.to_dict()


def test_plain_tokenizer_files_stay_version_1(tmp_path, trained):
    trained.save(tmp_path / "tok.json")
    data = json.loads((tmp_path / "tok.json").read_text(encoding="utf-8"))
    assert data["version"] == 1 and "byte_ids" not in data


# ---------------------------------------------------------------------- errors
def test_missing_folder_or_files_are_clear_errors(tmp_path, gpt2_folder):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        BPETokenizer.from_gpt2(tmp_path / "nowhere")
    (tmp_path / "vocab.json").write_text((gpt2_folder / "vocab.json").read_text("utf-8"), "utf-8")
    with pytest.raises(FileNotFoundError, match="has no merges.txt"):
        BPETokenizer.from_gpt2(tmp_path)


def broken_copy(tmp_path: Path, gpt2_folder: Path, vocab_edit=None, merges_edit=None) -> Path:
    vocab, merges = read_back(gpt2_folder)
    lines = [f"{a} {b}" for a, b in merges]
    if vocab_edit is not None:
        vocab_edit(vocab)
    if merges_edit is not None:
        merges_edit(lines)
    folder = tmp_path / "broken"
    folder.mkdir(exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
    (folder / "merges.txt").write_text("\n".join(["#version: 0.2", *lines]), "utf-8")
    return folder


def test_merges_out_of_vocab_order_is_a_clear_error(tmp_path, gpt2_folder):
    def swap(lines):
        lines[3], lines[4] = lines[4], lines[3]

    folder = broken_copy(tmp_path, gpt2_folder, merges_edit=swap)
    with pytest.raises(TokenizerError, match="merge 3 .* numbers 260; GPT-2's layout numbers it"):
        BPETokenizer.from_gpt2(folder)


def test_merge_with_unknown_token_is_a_clear_error(tmp_path, gpt2_folder):
    folder = broken_copy(tmp_path, gpt2_folder, merges_edit=lambda ls: ls.append("zq xw"))
    with pytest.raises(TokenizerError, match="lacks: .*do not belong together"):
        BPETokenizer.from_gpt2(folder)


def test_bad_merges_line_and_bad_vocab_are_clear_errors(tmp_path, gpt2_folder):
    folder = broken_copy(tmp_path, gpt2_folder, merges_edit=lambda ls: ls.insert(2, "a b c"))
    with pytest.raises(TokenizerError, match="line 4: 'a b c' is not two tokens"):
        BPETokenizer.from_gpt2(folder)

    def drop_byte(vocab):
        del vocab["!"]

    folder = broken_copy(tmp_path, gpt2_folder, vocab_edit=drop_byte)
    with pytest.raises(TokenizerError, match="ids are not 0"):
        BPETokenizer.from_gpt2(folder)


def test_bad_byte_ids_are_a_clear_error():
    with pytest.raises(TokenizerError, match="byte_ids must give the 256 bytes"):
        BPETokenizer(byte_ids=[0] * 256)
    with pytest.raises(TokenizerError, match="unknown pattern 'gpt5'"):
        BPETokenizer(pattern="gpt5")


# ---------------------------------------------------------------------- GPT-4's pattern
def test_gpt4_pre_split_examples():
    assert pre_split("I'LL pay 1234567 now!\n\n  x", pattern="gpt4") == [
        "I",
        "'LL",
        " pay",
        " ",
        "123",
        "456",
        "7",
        " now",
        "!\n\n",
        " ",
        " x",
    ]
    assert pre_split("(hello) x", pattern="gpt4") == ["(hello", ")", " x"]
    assert pre_split("a 12345", pattern="gpt4") == ["a", " ", "123", "45"]
    assert pre_split("a 12345") == ["a", " 12345"]  # GPT-2 keeps a number whole


def test_gpt4_tokenizer_trains_saves_and_loads(tmp_path):
    tok = BPETokenizer(pattern="gpt4").train(TEXT, vocab_size=320)
    assert tok.decode(tok.encode(TEXT)) == TEXT
    tok.save(tmp_path / "tok.json")
    data = json.loads((tmp_path / "tok.json").read_text(encoding="utf-8"))
    assert data["version"] == 2 and data["pattern"] == GPT4_PATTERN
    again = load_tokenizer(tmp_path / "tok.json")
    assert again.pattern == "gpt4" and again.encode(TEXT) == tok.encode(TEXT)


@pytest.mark.oracle
@given(ANY_TEXT)
def test_gpt4_pre_split_matches_regex(text):
    regex = pytest.importorskip("regex")
    assert pre_split(text, pattern="gpt4") == regex.findall(GPT4_PATTERN, text)


# ---------------------------------------------------------------------- tiktoken
def tiktoken_encoding(tok: BPETokenizer, pat_str: str):
    tiktoken = pytest.importorskip("tiktoken")
    ranks = {data: i for i, data in enumerate(tok.vocab)}
    return tiktoken.Encoding(
        name="tinygpt-test",
        pat_str=pat_str,
        mergeable_ranks=ranks,
        special_tokens=tok.special_tokens,
    )


@pytest.mark.oracle
@given(ANY_TEXT)
def test_gpt2_files_encode_as_tiktoken(gpt2, text):
    enc = tiktoken_encoding(gpt2, GPT2_PATTERN)
    assert gpt2.encode(text) == enc.encode_ordinary(text)
    both = text + "<|endoftext|>" + text
    assert gpt2.encode(both, allowed_special="all") == enc.encode(both, allowed_special="all")
    assert gpt2.decode(enc.encode_ordinary(text)) == enc.decode(enc.encode_ordinary(text))


@pytest.mark.oracle
@pytest.mark.parametrize("pattern, source", [("gpt2", GPT2_PATTERN), ("gpt4", GPT4_PATTERN)])
def test_trained_tokenizer_encodes_as_tiktoken(pattern, source):
    tok = BPETokenizer(pattern=pattern).train(TEXT, vocab_size=360)
    enc = tiktoken_encoding(tok, source)
    for text in (TEXT, "  leading spaces, trailing\n\n  ", "x 1234567890 ½ 'S 'll ſ"):
        assert tok.encode(text) == enc.encode_ordinary(text)


@pytest.fixture(scope="module")
def gpt4_trained() -> BPETokenizer:
    return BPETokenizer(pattern="gpt4").train(TEXT, vocab_size=360)


@pytest.mark.oracle
@given(ANY_TEXT)
def test_gpt4_tokenizer_encodes_as_tiktoken(gpt4_trained, text):
    enc = tiktoken_encoding(gpt4_trained, GPT4_PATTERN)
    assert gpt4_trained.encode(text) == enc.encode_ordinary(text)


# ---------------------------------------------------------------------- transformers
@pytest.fixture(scope="module")
def hf_tokenizer(gpt2_folder):
    pytest.importorskip("transformers")
    from transformers import GPT2Tokenizer

    return GPT2Tokenizer(str(gpt2_folder / "vocab.json"), str(gpt2_folder / "merges.txt"))


@pytest.mark.oracle
@given(ANY_TEXT)
def test_gpt2_files_encode_as_transformers(hf_tokenizer, gpt2, text):
    assert gpt2.encode(text) == hf_tokenizer.encode(text)
    assert gpt2.decode(gpt2.encode(text)) == hf_tokenizer.decode(hf_tokenizer.encode(text))
