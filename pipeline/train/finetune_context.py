"""
Third training stage: what the server now puts in front of the model, beyond the file itself.

  python3 pipeline/train/finetune_context.py --base .cache/train-fim --corpus .cache/corpus --out .cache/train-ctx

Why, per kind of sample:

* Repository context (issue 18). The completion prompt now opens with chunks of other files, in
  the server's format (server/completion/fimFormats.ts): `<file_sep>path:line\\nchunk\\n` per
  snippet, then `<file_sep>path\\n` of the file being edited, then the SPM prompt. Stage two never
  saw it, and the model ignored a definition it was shown (asked to complete `cart.` with the class
  in the prompt, it wrote `length;`). Here the middle is cut at a use of a name that another file
  of the same package defines (CrossCodeEval's construction: the line cut right before the name,
  after the object or call), and the context holds that definition's chunk (or, a fifth of the
  time, only other chunks, so the model learns to use a chunk only when it helps).
* Next edits (issue 21), in a format of this project's design: the
  file's name, the user's recent edit as a diff hunk, a region of the file, and the region
  rewritten as the next edit would leave it (the server's first format; stage four,
  finetune_next_edit.py, teaches the one it sends now):

      <file_sep>path
      ### Edit
      @@ line 12 @@
      -    const total = sum(items);
      +    const grandTotal = sum(items);
      ### Region 14-18
      <the region's lines>
      ### Next
      <the region rewritten><|endoftext|>

  Edits are made from the code itself: a rename at a declaration (the region: around the next
  use), a parameter added to a function (a call), the same fix at another occurrence (`==` →
  `===`, `var` → `let`, …), a key added to an object literal (another literal with the same
  keys), and edits with nothing to follow (the region comes back unchanged).
* Chat (issue 22): the same tasks as stage two plus questions about what a function returns,
  answered in a sentence; conversations of two turns, so answers end where a turn ends; and
  questions with workspace chunks attached the way `@workspace` attaches them.
* Stage two's editor-shaped FIM and plain text, so completion is kept.

Files it never saw stay held out (the corpus's split). Same seed, same steps: the same model.

The loss mixes the mean over every token and the mean over samples of what each asks the model to
write (the middle, the next edit, the answers; finetune_loop.py), `target_weight` of the latter.

Measured with probe_context.py (the middle's loss with the definition in the context and without;
random tokens repeated, what only copying predicts), on the way here:
- stage two: 3.782 / 3.790 nats/token; random tokens repeated 11.0 → 10.5: no copying at all;
- a first run (480 steps, loss on every token, no copying samples): no gap either;
- lr 5e-4, target weight 0.5, 20% copying, 35% repository FIM, 10% editor FIM: copying appeared
  (random tokens 9.98 → 4.35) and a small gap (2.905 / 2.941), but held-out bits/byte rose from
  1.300 to 1.346 and line ES fell from 30.8% to 18.0% (empty suggestions). Not committed.
- this configuration (lr 3e-4, target weight 0.2, 8% copying, 20% repository FIM, 14% next edits,
  15% chat, 30% editor FIM, 13% text; 600 steps, 35 minutes): the embedded model. Held-out loss
  2.763 → 2.724 nats/token, bits/byte 1.300 → 1.290, line EM 6.7% → 10.0% (ES 30.8% → 29.6%),
  chat answers that end by themselves 67% → 97% (median 342 → 131 characters); but next edits
  are not learnt: on next-edit samples of held-out files it rewrites 0 of 12 regions right
  (it does not copy the region), so the server proposes nothing (docs/bench-nextedit.md).
  probe_next_edit.py on it: 0 of 20 regions right, answer tokens right 56.9% teacher-forced.
- an experiment on the way to a model that makes next edits (not committed): the answer reduced to
  the one candidate line (the prompt adds `### Line N` with the line just above `### Next`, so
  only that line is copied), 120 more steps from this model at half next edits
  (`--base` its checkpoint, `--set next_edit=0.5 --set steps=120`, 12 minutes): 0 of 30 lines
  right, answer tokens right 51% → 60%; it copies the line, often unchanged, and misses the change
  (`loader.load(` for `loader.loadId(`). 200 steps more (lr 5e-4, 60% next edits, a fifth of them
  with nothing to follow instead of about half, 19.5 minutes): 1 of 30 (tokens 65%), held-out loss
  2.72 → 2.83. Learnt, but slowly: a stage of its own after this one, with copying samples that
  substitute, probed every 100 steps, is next.
"""
from __future__ import annotations

import os
import random
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from finetune_fim import FENCE_LANG, SYSTEM_PROMPT, chat_sample, documented_functions, editor_sample  # noqa: E402
from finetune_loop import stage_setup, train_stage  # noqa: E402
from next_edits import IDENT, declarations, package_of, relative_path, synthesize  # noqa: E402
from tokenizer import EOS, FILE_SEP, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, Tokenizer  # noqa: E402
from train import load  # noqa: E402

STAGE3 = {
    "seed": 8642,
    "sequence": 512,
    "batch": 8,
    "steps": 600,
    "lr": 3e-4,
    "min_lr_ratio": 0.05,
    "warmup_steps": 10,
    "weight_decay": 0.1,
    "balance_coef": 0.01,
    # The loss: this much the mean of what each sample asks for, the rest the mean over all tokens (finetune_loop.py).
    "target_weight": 0.2,
    # Shares of the samples; the rest is plain text. Stage two's editor FIM keeps most of its share, so completion is kept.
    "copy": 0.08,
    "repo_fim": 0.2,
    "next_edit": 0.14,
    "chat": 0.15,
    "editor_fim": 0.3,
    "eval_every_steps": 40,
    "eval_tokens": 16384,
}

# Context tokens the server gives snippets by default (moePilot.workspace.contextTokens).
CONTEXT_TOKENS = 256


def snippet_tokens(tok: Tokenizer, path: str, start: int, text: str) -> list[int]:
    return [FILE_SEP] + tok.encode(f"{path}:{start + 1}\n{text}\n")


class Packages:
    """Per package: its files and the declarations in them, for cross-file samples."""

    def __init__(self, files: list[dict]):
        self.files: dict[str, list[dict]] = {}
        self.defs: dict[str, dict[str, list[tuple[int, int, int]]]] = {}
        for index, f in enumerate(files):
            pkg = package_of(f["path"])
            self.files.setdefault(pkg, []).append(f)
            table = self.defs.setdefault(pkg, {})
            for name, a, b in declarations(f["text"]):
                table.setdefault(name, []).append((index, a, b))
        self.all = files
        # Declared names of every package, for renamed samples (one that another package declares: the model cannot know it
        # from the file or its package).
        self.names = sorted({name for table in self.defs.values() for name in table if len(name) >= 4})

    def chunk(self, index: int, a: int, b: int) -> str:
        return "\n".join(self.all[index]["text"].split("\n")[a:b + 1])


# Import statements, multi-line ones included: ES (`import … from "m"`, `export … from "m"`, `require` lines) and Python.
ES_IMPORT = re.compile(r"^[ \t]*(?:import\b[^;'\"]*?(['\"])[^'\"\n]*\1|export\s*(?:\*|\{[^}]*\})\s*from\s*(['\"])[^'\"\n]*\2|"
                       r"(?:const|let|var)\s[^\n]*\brequire\([^\n]*)", re.M)
PY_IMPORT = re.compile(r"^[ \t]*(?:from\s+[\w.]+\s+(import\s*(?:\([^)]*\)|[^\n]*))|(import\s+[^\n]*))", re.M)
STRING = re.compile(r"(['\"`])[^'\"`\n]*\1")
IMPORT_WORDS = {"import", "from", "type", "require", "as", "export", "const", "let", "var", "typeof"}
JS_KEYWORDS = set("break case catch class const continue debugger default delete do else export extends finally for function if "
                  "import in instanceof let new return super switch this throw try typeof var void while with yield async await of".split())
COMMENT_START = re.compile(r"^\s*(//|#|\*|/\*|\"\"\"|\'\'\')")


def imports(text: str, language: str) -> tuple[list[tuple[int, int]], set[str]]:
    """The file's import statements (their spans) and the names they bring in (not the module paths)."""
    spans, names = [], set()
    for m in (PY_IMPORT if language == "python" else ES_IMPORT).finditer(text):
        spans.append(m.span())
        brought = (m.group(1) or m.group(2) or "") if language == "python" else STRING.sub("", m.group(0))
        names |= set(IDENT.findall(brought)) - IMPORT_WORDS
    return spans, names


def references(text: str, use: re.Match, imported: tuple[list[tuple[int, int]], set[str]]) -> bool:
    """Whether a use of a name is a reference to another file's definition, as CrossCodeEval's cases are: in code (not a
    comment or a string, not an import statement), and a member (`x.name`, not `this.name`, not `...spread`), or, not a
    keyword, imported by the file or constructed (`new Name`); not an English word that some other file happens to define
    (stage three's samples took any: `render` in a doc comment). bench/context.ts picks its cases by this rule
    (isReference)."""
    spans, names = imported
    if any(a <= use.start() < b for a, b in spans):
        return False
    line_start = text.rfind("\n", 0, use.start()) + 1
    before = text[line_start:use.start()]
    if COMMENT_START.match(before) or "//" in before or "#" in before or len(re.findall(r"['\"`]", before)) % 2:
        return False
    if before.endswith("..."):
        return False
    if before.endswith("."):
        return not re.search(r"\b(this|self)\.$", before)  # the enclosing class's own member
    return use.group(0) not in JS_KEYWORDS and (use.group(0) in names or bool(re.search(r"\bnew $", before)))


def repo_sample(tok: Tokenizer, packages: Packages, f: dict, file_index: int, rng: random.Random, length: int,
                with_target: bool | None = None, references_only: bool = False, rename: bool = False) -> tuple[list[int], int] | None:
    """A completion cut at a use of a name another file of the package defines, with that definition in the context
    (always with `with_target=True`, never with False, else four times in five); returns the tokens and where the middle
    starts. `references_only`: only uses that refer to the definition (`references`). `rename`: the name is one that
    another package declares, everywhere in the sample, so that only copying it from the context predicts it (what
    probe_context.py measures)."""
    pkg = package_of(f["path"])
    table = packages.defs.get(pkg, {})
    text = f["text"]
    own = {name for name, _, _ in declarations(text)}
    uses = [m for m in IDENT.finditer(text) if m.group(0) in table and m.group(0) not in own and len(m.group(0)) >= 4
            and any(i != file_index for i, _, _ in table[m.group(0)])]
    if references_only or rename:
        imported = imports(text, f["language"])
        uses = [m for m in uses if references(text, m, imported)]
    if not uses:
        return None
    use = rng.choice(uses)
    name = use.group(0)
    # Drawn here, so that a case's pair (with the definition and without) gets the same name.
    new_name = rng.choice(packages.names) if rename else name
    # The middle: from the name to the end of its line (the line cut after the object or the call's opening).
    a = use.start()
    line_end = text.find("\n", a)
    b = len(text) if line_end < 0 else line_end
    if b - a < 3:
        return None
    where = [d for d in table[name] if d[0] != file_index]
    target = rng.choice(where)
    # Half the time the enclosing declaration (the class around a method), as the server retrieves by the object's type.
    around = [(target[0], a2, b2) for _, a2, b2 in declarations(packages.all[target[0]]["text"]) if a2 < target[1] and b2 >= target[2]]
    if around and rng.random() < 0.5:
        target = around[0]
    chunks = []
    include = rng.random() < 0.8
    if include if with_target is None else with_target:
        chunks.append(target)
    # Other chunks of the package, as retrieval would also bring (names near the cursor, similar code).
    others = [d for n in rng.sample(sorted(table), min(len(table), 6)) for d in table[n][:1] if d[0] != file_index and d != target]
    chunks += others[: rng.randint(0 if chunks else 1, 2)]
    rng.shuffle(chunks)
    swap = lambda piece: piece  # noqa: E731
    if rename:
        chunk_texts = "\n".join(packages.chunk(i, s, e) for i, s, e in chunks)
        if new_name[:1].isupper() != name[:1].isupper() or new_name in table or new_name in text or new_name in chunk_texts:
            return None
        word = re.compile(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])")
        swap = lambda piece: word.sub(new_name, piece)  # noqa: E731
        # The cut moves by the length change of each occurrence before it.
        a += (len(new_name) - len(name)) * len(word.findall(text, 0, a))
        text = swap(text)
        b = text.find("\n", a)
        b = len(text) if b < 0 else b
        name = new_name
    context: list[int] = []
    for i, s, e in chunks:
        piece = snippet_tokens(tok, swap(relative_path(packages.all[i]["path"])), s, swap(packages.chunk(i, s, e)))
        if len(context) + len(piece) <= CONTEXT_TOKENS:
            context += piece
    if not context:
        return None
    context += [FILE_SEP] + tok.encode(relative_path(f["path"]) + "\n")
    prefix, middle, suffix = tok.encode(text[:a]), tok.encode(text[a:b]), tok.encode(text[b:])
    middle = middle[:48]
    budget = length + 1 - len(context) - 4 - len(middle)
    if budget < 32:
        return None
    keep_suffix = min(len(suffix), budget // 4)
    suffix = suffix[:keep_suffix]
    prefix = prefix[max(0, len(prefix) - (budget - keep_suffix)):]
    head = context + [FIM_PREFIX, FIM_SUFFIX] + suffix + [FIM_MIDDLE] + prefix
    return head + middle + [EOS], len(head)


def copy_sample(rng: random.Random, length: int) -> tuple[list[int], int]:
    """Random tokens, then the same tokens again: only copying predicts the second time (what induction
    heads do; the pretrained model has none: repeating random tokens took its loss from 11.0 to only 10.5)."""
    seq: list[int] = []
    while len(seq) < length:
        piece = [rng.randrange(256, 8192) for _ in range(rng.randint(8, 48))]
        seq += piece + piece
    return seq[:length] + [EOS], 0


# ---------- next edits ----------

def answer_from(tok: Tokenizer, text: str, marker: str, head: list[int]) -> tuple[list[int], int]:
    """`head` + text + EOS, encoded in two parts split after the first `marker` (the prompt the server sends, then what
    the model writes), and where the second part starts."""
    cut = text.index(marker) + len(marker)
    prompt = head + tok.encode(text[:cut])
    return prompt + tok.encode(text[cut:]) + [EOS], len(prompt)


def next_edit_text(path: str, edit_line: int, old: str, new: str, region_start: int, region: list[str], rewritten: list[str]) -> str:
    """Stage three's next-edit format (the server's first; it now sends stage four's), then the answer."""
    return (f"{path}\n### Edit\n@@ line {edit_line + 1} @@\n-{old}\n+{new}\n"
            f"### Region {region_start + 1}-{region_start + len(region)}\n" + "\n".join(region) + "\n### Next\n" + "\n".join(rewritten))


def region_around(lines: list[str], line: int, rng: random.Random) -> tuple[int, int]:
    before, after = rng.randint(1, 3), rng.randint(1, 3)
    return max(0, line - before), min(len(lines), line + after + 1)


def next_edit_sample(tok: Tokenizer, f: dict, window: str, rng: random.Random, length: int, first_line: int = 0,
                     follows_only: bool = False) -> tuple[list[int], int] | None:
    """`first_line`: the window's first line in the file (the prompt's line numbers are the file's, as the server's are).
    `follows_only`: never an edit with nothing to follow (probe_next_edit.py's cases)."""
    lines = window.split("\n")[:-1]  # the window's last line may be cut short
    if len(lines) < 8:
        return None
    made = synthesize(lines, f["language"], rng, window)
    edit_line, edited, follow, target = made["edit_line"], made["edited"], made["follow"], made["target"]
    if follow is None or edit_line < 0:
        if follows_only:
            return None
        # Nothing follows: an edit of one line, and a region elsewhere that stays as it is.
        edit_line = rng.randrange(len(lines))
        stripped = lines[edit_line].rstrip()
        if not stripped:
            return None
        comment = "  # checked" if f["language"] == "python" else " // checked"
        edited[edit_line] = stripped + (comment if rng.random() < 0.5 else "")
        if edited[edit_line] == lines[edit_line]:
            return None
        follow = rng.randrange(len(lines))
        if abs(follow - edit_line) < 2:
            return None
        target = lines[follow]
    a, b = region_around(edited, follow, rng)
    region = edited[a:b]
    rewritten = list(region)
    rewritten[follow - a] = target
    text = next_edit_text(relative_path(f["path"]), first_line + edit_line, lines[edit_line], edited[edit_line], first_line + a, region, rewritten)
    made = answer_from(tok, text, "\n### Next\n", [FILE_SEP])
    return made if len(made[0]) <= length + 1 else None



# ---------- chat ----------

def render_turn(question: str, attachments: list[tuple[str, str, str]]) -> str:
    """The user's turn as the server renders it (server/chat/fitConversation.ts renderAttachment)."""
    parts = [f"{heading} {label}:\n```\n{code}\n```" for heading, label, code in attachments]
    return "\n\n".join(parts + [question]) if parts else question


def conversation(turns: list[tuple[str, str]]) -> str:
    """node-llama-cpp's GeneralChatWrapper rendering, as the server uses it for a template-less model."""
    text = SYSTEM_PROMPT
    for user, answer in turns:
        text += f"\n\n### Human\n{user}\n\n### Assistant\n{answer}"
    return text


RETURNS = re.compile(r"@returns?\s+(?:\{[^}]*\}\s*)?(.+)|Returns?\s+(.+?)(?:\.|$)", re.IGNORECASE)


def chat3_sample(tok: Tokenizer, f: dict, window: str, rng: random.Random, length: int, packages: Packages) -> list[int] | None:
    """A conversation's tokens (EOS first, as a context starts), or None."""
    lang = FENCE_LANG.get(f["language"], "")
    path = relative_path(f["path"])
    r = rng.random()
    if r < 0.35:
        # "What does X return?": a sentence from its documentation.
        for code, prose, _ in documented_functions(window, f["language"]):
            name_match = re.search(r"(?:function|def)\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*\(", code)
            if not name_match:
                continue
            name = name_match.group(1) or name_match.group(2)
            m = RETURNS.search(prose)
            answer = (f"`{name}` returns {m.group(1) or m.group(2)}".rstrip(".") + ".") if m else prose.split("\n")[0]
            question = rng.choice([f"What does {name} return?", f"What does `{name}` do?", f"Explain {name}."])
            label = f"{path}:{rng.randint(1, 200)}"
            if rng.random() < 0.5:
                user = render_turn(question, [("Selected code from", label, code)])
            else:
                user = render_turn("@workspace " + question, [("Workspace code from", label, code)])
            seq = [EOS] + tok.encode(conversation([(user, answer)])) + [EOS]
            if len(seq) <= length + 1:
                return seq
        return None
    if r < 0.6:
        # Two turns: an earlier exchange, then the question; the answer ends with the turn.
        first = chat_sample(tok, f, window, rng, length // 2)
        second = chat_sample(tok, f, window, rng, length // 2)
        if first is None or second is None:
            return None
        head = "### Assistant\n"
        a, b = tok.decode(first[1:-1]), tok.decode(second[1:-1])
        if head not in a or head not in b:
            return None
        one = (a.split("### Human\n", 1)[1].split("\n\n" + head, 1))
        two = (b.split("### Human\n", 1)[1].split("\n\n" + head, 1))
        if len(one) != 2 or len(two) != 2:
            return None
        seq = [EOS] + tok.encode(conversation([(one[0], one[1]), (two[0], two[1])])) + [EOS]
        return seq if len(seq) <= length + 1 else None
    return chat_sample(tok, f, window, rng, length)


def make_sampler(tok: Tokenizer, train_files: list[dict], rng: random.Random, shares: dict):
    """`sample(kind=None)`: one training sample of `kind` (drawn by `shares` when None) from a window of a training
    file (languages equally, files by size), or None when the window had none to give. Stage four draws its own
    kinds and asks this one for the others."""
    packages = Packages(train_files)
    by_lang: dict[str, list[int]] = {}
    for i, f in enumerate(train_files):
        by_lang.setdefault(f["language"], []).append(i)
    weights = {lang: np.array([len(train_files[i]["text"]) for i in idx], dtype=np.float64) for lang, idx in by_lang.items()}
    weights = {lang: w / w.sum() for lang, w in weights.items()}
    L = shares["sequence"]

    def window() -> tuple[int, dict, str, int]:
        """A training file's index, the file, a window of it that starts on a line, and that line's number."""
        lang = rng.choice(sorted(by_lang))
        index = by_lang[lang][int(np.random.choice(len(by_lang[lang]), p=weights[lang]))]
        f = train_files[index]
        text = f["text"]
        span = int(L * 3.5)
        start = rng.randrange(max(1, len(text) - span + 1))
        # Windows start on a line, so line numbers and regions are whole lines.
        start = text.rfind("\n", 0, start) + 1
        return index, f, text[start:start + span], text.count("\n", 0, start)

    def sample(kind: str | None = None) -> tuple[list[int], int] | None:
        index, f, window_text, first_line = window()
        r = rng.random()
        if kind is None:
            at = 0.0
            kind = "text"
            for name, share in [("copy", "copy"), ("repo", "repo_fim"), ("edit", "next_edit"), ("chat", "chat"), ("fim", "editor_fim")]:
                at += shares[share]
                if r < at:
                    kind = name
                    break
        if kind == "copy":
            return copy_sample(rng, L)
        # Each kind with where its targets start: the middle, the next edit, the first answer (the prompt is given).
        if kind == "repo":
            return repo_sample(tok, packages, f, index, rng, L)
        if kind == "edit":
            return next_edit_sample(tok, f, window_text, rng, L, first_line)
        if kind == "chat":
            seq = chat3_sample(tok, f, window_text, rng, L, packages)
            if seq is None:
                return None
            made = answer_from(tok, tok.decode(seq[1:-1]), "### Assistant\n", [EOS])
            return made if len(made[0]) <= L + 1 else None
        if kind == "fim":
            seq = editor_sample(tok, window_text, rng, L)
            return None if seq is None else (seq, seq.index(FIM_MIDDLE) + 1)
        return tok.encode(window_text)[:L] + [EOS], 0

    sample.window = window
    return sample


def main():
    args, rng, started = stage_setup(STAGE3, ".cache/train-fim", ".cache/train-ctx", "print this many samples of each kind and stop")

    tok = Tokenizer.load(os.path.join(args.base, "tokenizer.json"))
    train_files = load(os.path.join(args.corpus, "train.jsonl"))
    held_files = load(os.path.join(args.corpus, "heldout.jsonl"))
    L = STAGE3["sequence"]
    sample = make_sampler(tok, train_files, rng, STAGE3)

    if args.show:
        for kind in ["repo", "edit", "chat"]:
            shown = 0
            while shown < args.show:
                seq = sample(kind)
                if seq is None:
                    continue
                shown += 1
                tokens, start = seq
                print(f"===== {kind} ({len(tokens)} tokens, targets from {start})\n{tok.decode(tokens[:start])}"
                      f"\n----- targets\n{tok.decode(tokens[start:])}\n")
        return

    def padded() -> tuple[list[int], int, int]:
        made = None
        while made is None:
            made = sample()
        seq, start = made
        return (seq + [EOS] * (L + 1))[: L + 1], start, min(len(seq), L + 1)

    train_stage("stage3", STAGE3, args, tok, held_files, padded, started)


if __name__ == "__main__":
    main()
