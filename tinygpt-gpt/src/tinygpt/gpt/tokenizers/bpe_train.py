"""Learning BPE merges with incremental pair counts: megabytes of text in seconds.

The textbook loop recounts every adjacent pair of the whole corpus after each merge, which
costs O(corpus) per merge: hours for a 50k vocabulary. Here the corpus is first reduced to
its distinct pre-split words with their frequencies, and three structures are kept up to date:

- `pair_counts[(a, b)]`: how often the pair occurs, weighted by word frequency;
- `where[(a, b)]`: the indices of the words that contain (or once contained) the pair;
- a heap of (-count, pair) with lazy deletion: an entry whose count no longer matches
  `pair_counts` is stale and skipped when popped.

A merge then rewrites only the words that contain its pair and adjusts the counts of the
pairs those words gain and lose, so its cost is proportional to what actually changes.

Ties between equally frequent pairs go to the smallest pair of ids, so training is
deterministic (the heap gives exactly that order).

>>> learn_merges({"aaab": 1, "ab": 2}, 2)  # "ab" 3 times; then "aa" and "a"+"ab" tie at 1
[(97, 98), (97, 97)]
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Mapping

__all__ = ["learn_merges", "merge_pair"]

Pair = tuple[int, int]


def merge_pair(word: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each non-overlapping occurrence of `pair`, left to right, with `new_id`.

    >>> merge_pair([1, 2, 1, 2, 2], (1, 2), 9)
    [9, 9, 2]
    """
    first, second = pair
    out = []
    i = 0
    n = len(word)
    while i < n:
        if i + 1 < n and word[i] == first and word[i + 1] == second:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def learn_merges(
    word_counts: Mapping[str, int],
    num_merges: int,
    first_id: int = 256,
    progress: Callable[[int, Pair, int], None] | None = None,
) -> list[Pair]:
    """The `num_merges` most useful merges for words given as {pre-split word: count}.

    Words are UTF-8 bytes (ids 0..255); merge i makes id `first_id + i`. Stops early when no
    pair occurs any more. `progress(i, pair, count)` is called after each merge.
    """
    words = [list(word.encode("utf-8", "surrogatepass")) for word in word_counts]
    freqs = list(word_counts.values())
    pair_counts: dict[Pair, int] = defaultdict(int)
    where: dict[Pair, set[int]] = defaultdict(set)
    for index, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += freqs[index]
            where[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    while len(merges) < num_merges:
        best = _pop_best(heap, pair_counts)
        if best is None:
            break  # every word is a single token: nothing left to merge
        count = pair_counts[best]
        new_id = first_id + len(merges)
        merges.append(best)
        delta = _apply_merge(best, new_id, words, freqs, where)
        for pair, change in delta.items():
            if change == 0:
                continue
            pair_counts[pair] += change
            if pair_counts[pair] > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair))
            else:
                del pair_counts[pair]
        # the merged pair is gone from every word; its delta above brought it to zero
        assert best not in pair_counts, f"BPE bookkeeping: {best} survived its merge"
        if progress is not None:
            progress(len(merges) - 1, best, count)
    return merges


def _pop_best(heap: list[tuple[int, Pair]], pair_counts: dict[Pair, int]) -> Pair | None:
    """Pop heap entries until one is current (its count matches); that pair is the best."""
    while heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) == -negative_count:
            return pair
    return None


def _apply_merge(
    pair: Pair,
    new_id: int,
    words: list[list[int]],
    freqs: list[int],
    where: dict[Pair, set[int]],
) -> dict[Pair, int]:
    """Merge `pair` in every word that has it; return how each pair's count changes."""
    delta: dict[Pair, int] = defaultdict(int)
    for index in where.pop(pair):
        word = words[index]
        merged = merge_pair(word, pair, new_id)
        if len(merged) == len(word):
            continue  # a stale index: an earlier merge already used this pair's tokens
        freq = freqs[index]
        for old in zip(word, word[1:]):
            delta[old] -= freq
        for new in zip(merged, merged[1:]):
            delta[new] += freq
            # NOTE: indices are only ever added; a word that lost a pair stays listed and
            # is skipped above when that pair's turn comes (cheaper than removing it)
            where[new].add(index)
        words[index] = merged
    return delta
