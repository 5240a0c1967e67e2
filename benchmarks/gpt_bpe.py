"""BPE tokenizer speed: training on 1 MB of text to a 1,024-token vocabulary, and encoding.

    python benchmarks/gpt_bpe.py                   # 1 MB of the standard library's sources
    python benchmarks/gpt_bpe.py --data FILE --mb 1 --vocab-size 1024

Reports the training time, the encode throughput of a fresh tokenizer (cold: every
pre-token is new to its cache) and of the same tokenizer again (warm), in MB of UTF-8 per
second, and checks that decoding gives the text back. Median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from tinygpt.gpt import BPETokenizer
from tinygpt.gpt.corpus import load_corpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="python-stdlib", help="file, folder or corpus name")
    parser.add_argument("--mb", type=float, default=1.0, help="megabytes of text (1)")
    parser.add_argument("--vocab-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    text = load_corpus(args.data).text
    text = text.encode("utf-8")[: int(args.mb * 1_000_000)].decode("utf-8", "ignore")
    megabytes = len(text.encode("utf-8")) / 1e6
    train_s, cold_s, warm_s = [], [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        tokenizer = BPETokenizer().train(text, args.vocab_size)
        train_s.append(time.perf_counter() - started)
        fresh = BPETokenizer(tokenizer.merges)  # an empty encode cache
        started = time.perf_counter()
        ids = fresh.encode(text)
        cold_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        fresh.encode(text)
        warm_s.append(time.perf_counter() - started)
        if fresh.decode(ids) != text:
            print("error: decode(encode(text)) != text", file=sys.stderr)
            return 1
    print(f"BPE on {megabytes:.2f} MB of {args.data} -> vocab {tokenizer.vocab_size}")
    print("| train s | encode MB/s (cold) | encode MB/s (warm) | chars/token |")
    print("|---|---|---|---|")
    print(
        f"| {statistics.median(train_s):.2f} | {megabytes / statistics.median(cold_s):.2f} | "
        f"{megabytes / statistics.median(warm_s):.2f} | {len(text) / len(ids):.2f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
