"""
Second training stage: a short, low learning-rate run on the shapes an editor asks for.

  python3 pipeline/train/finetune_fim.py --base .cache/train --corpus .cache/corpus --out .cache/train-fim

Why: stage one (train.py) cuts FIM samples at random characters or at line starts, so the middle
always ends with a newline and the cursor almost never sits where it does in an editor: after
the indentation of a line whose rest is missing, or inside a pair of brackets. Evaluated through
the server's pipeline, that model completed 0 of 30 held-out lines exactly, often with nothing.
This stage trains on those shapes (prefix ends after a line's indentation or at a point inside
a line; the middle runs to the end of the line, or of a few lines, or to the matching closing
bracket; the suffix starts right after it), in the SPM order the server prompts with, mixed with
plain text and stage one's cuts so nothing is forgotten. It also doubles the sequence to 512
tokens so the model learns positions its 256-token stage one never saw.

It also teaches the chat format the server renders for a model without a chat template
(node-llama-cpp's GeneralChatWrapper: "### Human" / "### Assistant", the server's system prompt,
attachments as the server renders them), on tasks made from the code itself: a documentation
comment is the answer to "explain" for the function under it; the function with its comment is
the answer to "add a documentation comment"; the code that follows is the answer to "complete";
the code itself, fenced, is the answer to "rewrite". Without this the demo model answered every
chat message with unfenced code, so nothing in its answers could be copied or applied.

Same seed, same steps: the same model.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from finetune_loop import finetune  # noqa: E402
from model import Config, MoEModel  # noqa: E402
from tokenizer import EOS, FILE_SEP, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, Tokenizer  # noqa: E402
from train import export, fim_sample, load  # noqa: E402

FINETUNE = {
    "seed": 4321,
    "sequence": 512,
    "batch": 8,
    "steps": 400,
    "lr": 6e-4,
    "min_lr_ratio": 0.05,
    "warmup_steps": 10,
    "weight_decay": 0.1,
    "balance_coef": 0.01,
    # Shares of the samples: editor-shaped FIM, stage one's FIM, plain left-to-right text.
    "editor_fim": 0.45,
    "random_fim": 0.1,
    "chat": 0.3,
    "spm_share": 0.8,
    "eval_every_steps": 40,
    "eval_tokens": 16384,
}

BRACKETS = {"(": ")", "[": "]", "{": "}"}

# The server's chat rendering (server/chat/ChatFeature.ts CHAT_DEFAULTS.systemPrompt, contextWindow.ts
# renderAttachment, src/actions.ts prompts); test/unit/chatFormat.test.ts checks they stay the same.
SYSTEM_PROMPT = "You are MoE Pilot, a coding assistant running on the user's own machine. Answer briefly and precisely. Put code in fenced code blocks with the language name."
EDIT_RULE = "Reply with only the complete replacement for the selected code, in one fenced code block, keeping its indentation."
EXPLAIN = ["Explain what the selected code does.", "What does this code do?", "Explain this code."]
DOCUMENT = "Add a documentation comment in this language's usual style (JSDoc, docstring…) to the selected code; change nothing else."
COMPLETE = ["Complete this code.", "Continue this code.", "Write the rest of this code."]
REWRITE = ["Rewrite this code.", "Rewrite this code. " + EDIT_RULE, "Clean up this code.\n" + EDIT_RULE]
FENCE_LANG = {"typescript": "ts", "javascript": "js", "python": "python"}

DECLARATION = re.compile(r"^(export )?(async )?(function\b|(const|let|var) \w+ = )")


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def doc_text(comment: str) -> str:
    """The prose of a JSDoc or docstring: its first paragraph, without markers and tags."""
    lines = [ln.strip().lstrip("*").strip() for ln in comment.strip().strip('"').splitlines()]
    prose = []
    for ln in lines:
        if ln.startswith("@") or (not ln and prose):
            break
        if ln:
            prose.append(ln)
    return " ".join(prose)


def documented_functions(text: str, language: str) -> list[tuple[str, str, str]]:
    """(function without its comment, its comment's prose, function with its comment), by lines."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        indent = indent_of(line)
        if language == "python":
            if not line.lstrip().startswith("def ") or i + 1 >= len(lines) or not lines[i + 1].strip().startswith('"""'):
                continue
            end = next((j for j in range(i + 1, min(len(lines), i + 40)) if lines[j].strip().endswith('"""') and (j > i + 1 or lines[j].strip().count('"""') == 2)), None)
            if end is None:
                continue
            body_end = next((j for j in range(end + 1, min(len(lines), end + 40)) if lines[j].strip() and len(indent_of(lines[j])) <= len(indent)), None)
            if body_end is None:
                continue
            body = lines[end + 1:body_end]
            while body and not body[-1].strip():
                body.pop()
            if body:
                out.append(("\n".join([line] + body), doc_text("\n".join(lines[i + 1:end + 1])), "\n".join(lines[i:i + 1] + lines[i + 1:end + 1] + body)))
        elif line.strip().startswith("/**"):
            end = next((j for j in range(i, min(len(lines), i + 40)) if "*/" in lines[j]), None)
            if end is None or end + 1 >= len(lines) or not DECLARATION.match(lines[end + 1].lstrip()) or indent_of(lines[end + 1]) != indent:
                continue
            one_line = lines[end + 1].rstrip().endswith(";")
            close = end + 1 if one_line else next((j for j in range(end + 1, min(len(lines), end + 40)) if lines[j].rstrip() in (indent + "}", indent + "};", indent + "});")), None)
            if close is None:
                continue
            out.append(("\n".join(lines[end + 1:close + 1]), doc_text("\n".join(lines[i:end + 1]).replace("/**", "").replace("*/", "")), "\n".join(lines[i:close + 1])))
    return [(f, d, w) for f, d, w in out if len(d) > 10 and len(f) < 1200]


def chat_text(question: str, label: str, code: str, answer: str) -> str:
    return (f"{SYSTEM_PROMPT}\n\n### Human\nSelected code from {label}:\n```\n{code}\n```\n\n{question}\n\n"
            f"### Assistant\n{answer}")


def chat_sample(tok: Tokenizer, f: dict, window: str, rng: random.Random, length: int) -> list[int] | None:
    """A chat turn made from the code: explain / document / complete / rewrite."""
    lang = FENCE_LANG.get(f["language"], "")
    label = f"{os.path.basename(f['path'])}:{rng.randint(1, 200)}-{rng.randint(201, 400)}"
    task = rng.random()
    documented = documented_functions(window, f["language"]) if task < 0.4 else []
    if documented:
        code, prose, with_doc = rng.choice(documented)
        if task < 0.25:
            text = chat_text(rng.choice(EXPLAIN), label, code, prose)
        else:
            text = chat_text(f"{DOCUMENT}\n{EDIT_RULE}", label, code, f"```{lang}\n{with_doc}\n```")
    else:
        lines = window.splitlines()
        if len(lines) < 6:
            return None
        start = rng.randrange(0, max(1, len(lines) - 12))
        n = rng.randint(4, 14)
        if task < 0.6:
            shown, rest = lines[start:start + n], lines[start + n:start + n + rng.randint(2, 10)]
            if not rest:
                return None
            text = chat_text(rng.choice(COMPLETE), label, "\n".join(shown), f"```{lang}\n" + "\n".join(rest) + "\n```")
        else:
            code = "\n".join(lines[start:start + n])
            text = chat_text(rng.choice(REWRITE), label, code, f"```{lang}\n{code}\n```")
    seq = [EOS] + tok.encode(text) + [EOS]
    return seq if len(seq) <= length + 1 else None


def editor_cut(text: str, rng: random.Random) -> tuple[int, int] | None:
    """(a, b): the cursor and the end of what the completion should write, shaped like an editor request."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    lines = [(s, text.find("\n", s) if text.find("\n", s) >= 0 else len(text)) for s in starts]
    lines = [(s, e) for s, e in lines if text[s:e].strip()]
    if not lines:
        return None
    s, e = rng.choice(lines)
    indent = len(text[s:e]) - len(text[s:e].lstrip())
    shape = rng.random()
    if shape < 0.45:  # the rest of the line, from after its indentation
        return s + indent, e
    if shape < 0.65:  # the rest of this line and a few more (a block body)
        later = [le for ls, le in lines if ls > s][: rng.randint(1, 6)]
        return s + indent, later[-1] if later else e
    if shape < 0.85:  # inside a bracket pair on the line
        opens = [i for i in range(s, e) if text[i] in BRACKETS]
        rng.shuffle(opens)
        for o in opens:
            depth, close = 0, None
            for j in range(o, e):
                if text[j] == text[o]:
                    depth += 1
                elif text[j] == BRACKETS[text[o]]:
                    depth -= 1
                    if depth == 0:
                        close = j
                        break
            if close is not None and close > o + 1:
                return o + 1, close
        return s + indent, e
    # from a random point inside the line to its end
    return rng.randint(s + indent, e), e


def editor_sample(tok: Tokenizer, text: str, rng: random.Random, length: int) -> list[int] | None:
    cut = editor_cut(text, rng)
    if cut is None:
        return None
    a, b = cut
    prefix, middle, suffix = tok.encode(text[:a]), tok.encode(text[a:b]), tok.encode(text[b:])
    middle = middle[: length // 3]
    budget = length + 1 - 4 - len(middle)
    keep_suffix = min(len(suffix), budget // 4)
    suffix = suffix[:keep_suffix]
    prefix = prefix[max(0, len(prefix) - (budget - keep_suffix)):]
    if rng.random() < FINETUNE["spm_share"]:
        return [FIM_PREFIX, FIM_SUFFIX] + suffix + [FIM_MIDDLE] + prefix + middle + [EOS]
    return [FIM_PREFIX] + prefix + [FIM_SUFFIX] + suffix + [FIM_MIDDLE] + middle + [EOS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=".cache/train")
    ap.add_argument("--corpus", default=".cache/corpus")
    ap.add_argument("--out", default=".cache/train-fim")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    random.seed(FINETUNE["seed"])
    np.random.seed(FINETUNE["seed"])
    torch.manual_seed(FINETUNE["seed"])
    rng = random.Random(FINETUNE["seed"])
    started = time.time()

    with open(os.path.join(args.base, "manifest.json")) as f:
        base = json.load(f)
    tok = Tokenizer.load(os.path.join(args.base, "tokenizer.json"))
    tok.save(os.path.join(args.out, "tokenizer.json"))
    c = Config(**base["config"])
    model = MoEModel(c)
    model.load_state_dict(torch.load(os.path.join(args.base, "model.pt")))

    train_files = load(os.path.join(args.corpus, "train.jsonl"))
    held_files = load(os.path.join(args.corpus, "heldout.jsonl"))
    by_lang: dict[str, list[dict]] = {}
    for f in train_files:
        by_lang.setdefault(f["language"], []).append(f)
    weights = {lang: np.array([len(f["text"]) for f in files], dtype=np.float64) for lang, files in by_lang.items()}
    weights = {lang: w / w.sum() for lang, w in weights.items()}
    L = FINETUNE["sequence"]

    def sample() -> list[int]:
        lang = rng.choice(sorted(by_lang))
        f = by_lang[lang][int(np.random.choice(len(by_lang[lang]), p=weights[lang]))]
        text = f["text"]
        span = int(L * 3.5)
        start = rng.randrange(max(1, len(text) - span + 1))
        window = text[start:start + span]
        r = rng.random()
        seq = None
        if r < FINETUNE["editor_fim"]:
            seq = editor_sample(tok, window, rng, L)
        elif r < FINETUNE["editor_fim"] + FINETUNE["random_fim"]:
            seq = fim_sample(tok, window, rng, L)
        elif r < FINETUNE["editor_fim"] + FINETUNE["random_fim"] + FINETUNE["chat"]:
            seq = chat_sample(tok, f, window, rng, L)
        if seq is None:
            seq = tok.encode(window) + [EOS]
        return (seq + [EOS] * (L + 1))[: L + 1]

    held_tokens = []
    for f in held_files:
        held_tokens += [FILE_SEP] + tok.encode(f["text"])
    held = torch.tensor(held_tokens[: FINETUNE["eval_tokens"] // L * L + 1])

    step, tokens_seen, log = finetune(model, c, FINETUNE, sample, held, started)

    info = {k: v for k, v in base.items() if k not in ("config", "tensors")}
    info["finetune"] = {"settings": FINETUNE, "steps": step, "tokens": tokens_seen, "log": log, "minutes": round((time.time() - started) / 60, 1)}
    export(model, c, tok, args.out, info)
    print(f"done in {(time.time() - started) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
