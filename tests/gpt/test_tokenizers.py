"""Tokenizers: hand-checked merges, the incremental trainer against a naive one, round trips
for any string, save/load identity, special tokens, and GPT-2's pre-split."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygpt.gpt import BPETokenizer, CharTokenizer, TokenizerError, load_tokenizer
from tinygpt.gpt.tokenizers.bpe_train import learn_merges, merge_pair
from tinygpt.gpt.tokenizers.pretokenize import GPT2_PATTERN, pre_split

TEXT = (
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox doesn't.\n"
    "def main():\n    return 42  # the answer\n"
    "Ünïcödé, 日本語, emoji 🙂 and numbers 1234567 ½.\n"
) * 5


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer().train(TEXT, vocab_size=300)


# ---------------------------------------------------------------------- training
def test_known_merges_on_hand_checked_text():
    # "aaabdaaabac" is one pre-token. Pair counts: aa 4, ab 3, others 1 -> merge "aa" (256).
    # Then (256, a) and (a, b) both occur twice: the tie goes to the smaller pair (97, 98).
    # Then (256, 257) occurs twice -> 258 = "aaab".
    tok = BPETokenizer(special_tokens=()).train("aaabdaaabac", vocab_size=259)
    assert tok.merges == [(97, 97), (97, 98), (256, 257)]
    assert tok.vocab[258] == b"aaab"
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]


def test_merges_never_cross_pre_split_boundaries():
    tok = BPETokenizer(special_tokens=()).train("ab ab ab ab", vocab_size=258)
    # " a"+"b" inside " ab"; never "b" + " " across the word boundary
    merged = [tok.vocab[256 + i] for i in range(len(tok.merges))]
    assert all(b" " not in m[1:] for m in merged)


def naive_merges(word_counts: dict[str, int], num_merges: int) -> list[tuple[int, int]]:
    """The textbook trainer: recount every pair after every merge (ties: smallest pair)."""
    words = {tuple(w.encode("utf-8")): n for w, n in word_counts.items()}
    merges = []
    for i in range(num_merges):
        counts: Counter[tuple[int, int]] = Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] += n
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        words = {tuple(merge_pair(list(w), best, 256 + i)): n for w, n in words.items()}
    return merges


@given(
    st.dictionaries(
        st.text(alphabet="abcá ", min_size=1, max_size=12), st.integers(1, 5), max_size=12
    ),
    st.integers(0, 30),
)
def test_incremental_training_equals_naive_recount(word_counts, num_merges):
    assert learn_merges(word_counts, num_merges) == naive_merges(word_counts, num_merges)


def test_training_stops_when_nothing_is_left_to_merge():
    tok = BPETokenizer(special_tokens=()).train("ab", vocab_size=1000)
    assert tok.merges == [(97, 98)]
    assert tok.vocab_size == 257


def test_vocab_size_too_small_is_a_clear_error():
    with pytest.raises(TokenizerError, match="smaller than the 256 byte tokens"):
        BPETokenizer().train("abc", vocab_size=100)


# ---------------------------------------------------------------------- round trips
@given(st.text())
def test_bpe_round_trip_for_any_string(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text
    assert bpe.decode(bpe.encode(text, allowed_special="all")) == text


def test_bpe_round_trip_lone_surrogate(bpe):
    text = "a\ud800b"  # not valid UTF-8, but a Python str; encode/decode keep it
    assert bpe.decode(bpe.encode(text)) == text


@given(st.text(alphabet=sorted(set(TEXT))))
def test_char_round_trip(text):
    tok = CharTokenizer().train(TEXT)
    assert tok.decode(tok.encode(text)) == text


def test_char_ids_are_sorted_characters():
    tok = CharTokenizer().train("hello world")
    assert tok.chars == " dehlorw"
    assert tok.encode("hello") == [3, 2, 4, 4, 5]


def test_char_unknown_character_is_a_clear_error():
    tok = CharTokenizer().train("abc")
    with pytest.raises(TokenizerError, match="not in this character vocabulary: 'xz'"):
        tok.encode("axz")


def test_decode_unknown_id_is_a_clear_error(bpe):
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        bpe.decode([bpe.vocab_size])


def test_decode_of_a_cut_character_gives_replacement(bpe):
    ids = bpe.encode("🙂")
    partial = bpe.decode_bytes(ids)[:2]
    assert BPETokenizer(special_tokens=()).decode(list(partial)) == "\ufffd"


# ---------------------------------------------------------------------- special tokens
def test_special_tokens(bpe):
    eot = bpe.eot_id
    assert eot == bpe.vocab_size - 1 and bpe.special_tokens == {"<|endoftext|>": eot}
    ids = bpe.encode("a<|endoftext|>b", allowed_special="all")
    assert ids == bpe.encode("a") + [eot] + bpe.encode("b")
    assert eot not in bpe.encode("a<|endoftext|>b")  # "none": just text
    assert bpe.decode(ids) == "a<|endoftext|>b"
    with pytest.raises(TokenizerError, match="unknown special tokens"):
        bpe.encode("x", allowed_special={"<|nope|>"})


def test_training_ignores_special_token_text():
    tok = BPETokenizer().train("<|endoftext|>" * 50 + "ab", vocab_size=300)
    learned = {tok.vocab[256 + i] for i in range(len(tok.merges))}
    assert not any(b"|" in piece for piece in learned)


def test_char_tokenizer_special_tokens():
    tok = CharTokenizer("ab", special_tokens=["<|endoftext|>"])
    assert tok.vocab_size == 3 and tok.eot_id == 2
    assert tok.encode("a<|endoftext|>", allowed_special="all") == [0, 2]


# ---------------------------------------------------------------------- files
@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_save_load_identity(tmp_path, kind):
    tok = BPETokenizer().train(TEXT, 300) if kind == "bpe" else CharTokenizer().train(TEXT)
    path = tmp_path / "tok.json"
    tok.save(path)
    again = load_tokenizer(path)
    assert type(again) is type(tok) and again.to_dict() == tok.to_dict()
    assert again.encode(TEXT, allowed_special="all") == tok.encode(TEXT, allowed_special="all")
    data = json.loads(path.read_text())
    assert data["format"] == "tinygpt-tokenizer" and data["version"] == 1


def test_load_refuses_newer_versions_and_foreign_files(tmp_path, bpe):
    data = bpe.to_dict()
    path = tmp_path / "tok.json"
    path.write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(TokenizerError, match="upgrade tinygpt-gpt"):
        load_tokenizer(path)
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(TokenizerError, match="not a tinygpt tokenizer"):
        load_tokenizer(path)
    path.write_text(json.dumps({**data, "type": "wordpiece"}))
    with pytest.raises(TokenizerError, match="unknown tokenizer type"):
        load_tokenizer(path)
    with pytest.raises(TokenizerError, match="not CharTokenizer"):
        bpe.save(path)
        CharTokenizer.load(path)


# ---------------------------------------------------------------------- pre-split
def test_pre_split_examples():
    assert pre_split("Hello world's 2024!!  ok\n") == [
        "Hello",
        " world",
        "'s",
        " 2024",
        "!!",
        " ",
        " ok",
        "\n",
    ]
    assert pre_split("x_y ½²") == ["x", "_", "y", " ½²"]


# NOTE: unassigned code points (Cn) are left out: `regex` may know a newer Unicode version
# than this Python's unicodedata, and the two would then disagree about new letters
@pytest.mark.oracle
@given(st.text(st.characters(exclude_categories=["Cs", "Cn"])))
def test_pre_split_matches_gpt2_regex(text):
    regex = pytest.importorskip("regex")  # the third-party module GPT-2 used (tests only)
    assert pre_split(text) == regex.findall(GPT2_PATTERN, text)
