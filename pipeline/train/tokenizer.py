"""
A byte-level BPE tokenizer for code, trained by us, that llama.cpp loads as a `gpt2`-model
tokenizer with the `command-r` pre-tokenizer: the same split as `starcoder` (digits one by one,
then the GPT-2 expression) without the space clean-up on detokenize.

Why our own (8,192 tokens) rather than StarCoder's (49,152): the output layer of a tiny model is
most of its compute, so a vocabulary 6x smaller buys several times more training tokens in the
same two CPU hours, and bits per byte stay comparable across tokenizers.

Special tokens come first and are never produced from text. Encoding applies merges by rank, as
llama.cpp does; tokenization agreement with llama.cpp is checked by pipeline/checkTokenizer.ts.
"""
from __future__ import annotations

import collections
import heapq
import json
import regex

SPECIAL_TOKENS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<file_sep>"]
EOS, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD, FILE_SEP = range(len(SPECIAL_TOKENS))

# llama.cpp LLAMA_VOCAB_PRE_TYPE_STARCODER / COMMAND_R: "\p{N}" first, then the GPT-2 expression, whose
# custom implementation in unicode.cpp ends with a plain "\s+" for trailing whitespace.
DIGITS = regex.compile(r"(\p{N})")
GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (what vocab strings are made of)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def pretokenize(text: str) -> list[str]:
    pieces: list[str] = []
    for chunk in DIGITS.split(text):
        if not chunk:
            continue
        last = 0
        for m in GPT2.finditer(chunk):
            if m.start() > last:  # llama.cpp keeps unmatched text as pieces of its own
                pieces.append(chunk[last:m.start()])
            pieces.append(m.group())
            last = m.end()
        if last < len(chunk):
            pieces.append(chunk[last:])
    return pieces


def to_symbols(piece: str) -> str:
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


def train_bpe(texts, vocab_size: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Learns merges until the vocabulary (specials + 256 bytes + merges) has `vocab_size` tokens."""
    words = collections.Counter()
    for text in texts:
        for piece in pretokenize(text):
            words[to_symbols(piece)] += 1
    seqs = [list(w) for w in words]
    counts = list(words.values())
    pair_counts: collections.Counter = collections.Counter()
    where: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for i, seq in enumerate(seqs):
        for a, b in zip(seq, seq[1:]):
            pair_counts[(a, b)] += counts[i]
            where[(a, b)].add(i)

    base = [BYTE_TO_CHAR[b] for b in range(256)]
    merges: list[tuple[str, str]] = []
    n_merges = vocab_size - len(SPECIAL_TOKENS) - len(base)
    # Lazy max-heap of (-count, pair); stale entries are skipped when popped.
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or -neg < 2:
            if pair_counts.get(pair, 0) >= 2 and pair_counts[pair] != -neg:
                heapq.heappush(heap, (-pair_counts[pair], pair))
            continue
        merges.append(pair)
        a, b = pair
        merged = a + b
        changed: collections.Counter = collections.Counter()
        for i in list(where[pair]):
            seq, c = seqs[i], counts[i]
            j = 0
            new: list[str] = []
            while j < len(seq):
                if j < len(seq) - 1 and seq[j] == a and seq[j + 1] == b:
                    new.append(merged)
                    j += 2
                else:
                    new.append(seq[j])
                    j += 1
            for x, y in zip(seq, seq[1:]):
                changed[(x, y)] -= c
                where[(x, y)].discard(i)
            for x, y in zip(new, new[1:]):
                changed[(x, y)] += c
                where[(x, y)].add(i)
            seqs[i] = new
        for p, d in changed.items():
            if d == 0:
                continue
            pair_counts[p] += d
            if pair_counts[p] <= 0:
                del pair_counts[p]
            elif d > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
        pair_counts.pop(pair, None)
    vocab = SPECIAL_TOKENS + base + [a + b for a, b in merges]
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab: list[str], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.ranks = {p: r for r, p in enumerate(merges)}
        self.cache: dict[str, list[int]] = {}

    @staticmethod
    def load(path: str) -> "Tokenizer":
        with open(path) as f:
            d = json.load(f)
        return Tokenizer(d["vocab"], [tuple(m.split(" ", 1)) for m in d["merges"]])

    def save(self, path: str) -> None:
        merges = sorted(self.ranks, key=self.ranks.get)
        with open(path, "w") as f:
            json.dump({"vocab": self.vocab, "merges": [f"{a} {b}" for a, b in merges]}, f)

    def _bpe(self, symbols: str) -> list[int]:
        parts = list(symbols)
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        return [self.ids[p] for p in parts]

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for piece in pretokenize(text):
            ids = self.cache.get(piece)
            if ids is None:
                ids = self._bpe(to_symbols(piece))
                if len(self.cache) < 1_000_000:
                    self.cache[piece] = ids
            out.extend(ids)
        return out

    def decode(self, ids: list[int]) -> str:
        data = bytearray()
        for i in ids:
            if i >= len(SPECIAL_TOKENS):
                data.extend(CHAR_TO_BYTE[c] for c in self.vocab[i])
        return data.decode("utf-8", errors="replace")
