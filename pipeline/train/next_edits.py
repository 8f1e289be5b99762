"""
Edits made from the code itself, for the next-edit stages of training (finetune_context.py's first
format, finetune_next_edit.py's) and for bench:nextedit's held-out cases (next_edit_cases.py): a rename at a declaration (the uses follow), a
parameter added to a function (the calls), the same fix at another occurrence (`==` → `===`, `var`
→ `let`, …), a key added to an object literal (the other literals with that first key). No torch here.
"""
from __future__ import annotations

import random
import re

# The server's limits (server/workspace/chunker.ts): a chunk is at most this long.
CHUNK_LINES, CHUNK_CHARS = 60, 2400
IDENT = re.compile(r"[A-Za-z_$][\w$]*")
DECL = re.compile(
    r"^(\s*)(?:export\s+)?(?:default\s+)?(?:public\s+|private\s+|protected\s+|static\s+|async\s+|abstract\s+)*"
    r"(?:(?:class|interface|type|enum|function\*?|def)\s+([A-Za-z_$][\w$]*)|(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=|"
    r"([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*(?::\s*[^{=]+)?\{\s*$)"
)
KEYWORDS = set("if for while switch catch return function constructor else new typeof await yield super this".split())


def package_of(path: str) -> str:
    parts = path.split("/")
    # npm/<pkg>/… or npm/@scope/<pkg>/…; python/<package>/… (a top-level module: python/ itself)
    if parts[0] == "npm":
        return "/".join(parts[:3] if parts[1].startswith("@") else parts[:2])
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def relative_path(path: str) -> str:
    return path[len(package_of(path)) + 1:]


def declarations(text: str) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of each declaration, by lines (the server uses tree-sitter; this is close)."""
    lines = text.split("\n")
    found = []
    for i, line in enumerate(lines):
        m = DECL.match(line)
        if not m:
            continue
        name = m.group(2) or m.group(3) or m.group(4)
        if not name or name in KEYWORDS:
            continue
        indent = len(m.group(1).replace("\t", "    "))
        # Top-level declarations and class members, as the server's chunks are; not a function's locals.
        if indent > (0 if m.group(3) else 4):
            continue
        end = i
        chars = 0
        for j in range(i + 1, min(len(lines), i + CHUNK_LINES)):
            chars += len(lines[j]) + 1
            if chars > CHUNK_CHARS:
                break
            end = j
            stripped = lines[j].strip()
            # The first line back at the declaration's indentation ends it (a closing bracket there belongs to it).
            if stripped and len(lines[j].replace("\t", "    ")) - len(lines[j].replace("\t", "    ").lstrip()) <= indent:
                if stripped[0] not in "}])":
                    end = j - 1
                break
        found.append((name, i, end))
    return found


FIXES = {
    "javascript": [
        (re.compile(r"(?<![=!])==(?!=)"), "==="),
        (re.compile(r"!=(?!=)"), "!=="),
        (re.compile(r"\bvar "), "let "),
        (re.compile(r"\.indexOf\(([^()]*)\) !== -1"), r".includes(\1)"),
        (re.compile(r"\bfunction \(([^()]*)\)"), r"(\1) =>"),
    ],
    "python": [
        (re.compile(r"== None\b"), "is None"),
        (re.compile(r"!= None\b"), "is not None"),
        (re.compile(r"\bexcept:"), "except Exception:"),
        (re.compile(r"len\(([\w.]+)\) == 0"), r"not \1"),
        (re.compile(r"\.has_key\(([^()]*)\)"), r".__contains__(\1)"),
    ],
}
FIXES["typescript"] = FIXES["javascript"] + [(re.compile(r": any\b"), ": unknown")]
RENAMES = [lambda n: n + "Value", lambda n: "new" + n[:1].upper() + n[1:], lambda n: n + "s", lambda n: "the" + n[:1].upper() + n[1:],
           lambda n: n[:1] + n[1:].replace("e", "", 1) if len(n) > 4 else n + "2", lambda n: "_" + n, lambda n: n + "Count",
           lambda n: n.replace("_", "") if "_" in n else n + "Id"]
PARAMS = ["options", "context", "signal", "index", "force", "config"]
# Stage four's and the bench's share of renames to an unrelated name (users rename `subtotal` to `net`).
UNRELATED = 1 / 3
NAMES = ("net amount result value count items total data entry node options state key index size list target source "
         "payload record current parts buffer handler limit offset label text").split()


def synthesize(lines: list[str], language: str, rng: random.Random, text: str | None = None, draw: float | None = None,
               unrelated: float = 0.0) -> dict:
    """An edit of one of `lines` and the next edit it calls for, drawn with `rng`: `kind` (the draw), `edit_line`,
    `edited` (the lines after the edit), `follow` (the line the next edit changes; None when none was found), `target`
    (that line changed) and `change` (what the next edit does to a line: the bench accepts it at any line it changes).
    `text`: what the lines come from, where declarations are read (a training window, whose last line may be cut);
    `draw`: the kind's draw, given (the bench asks for each kind), else drawn; `unrelated`: the share of renames to a name
    unrelated to the old one (0 draws nothing more, as stage three's samples were drawn)."""
    change = None
    kind = rng.random() if draw is None else draw
    edited = list(lines)
    follow: int | None = None
    edit_line = -1
    if kind < 0.4:  # a rename at the declaration; the next use follows
        window_words = set(IDENT.findall("\n".join(lines)))
        decls = [(name, i) for name, i, _ in declarations("\n".join(lines) if text is None else text) if len(name) >= 3]
        rng.shuffle(decls)
        for name, i in decls:
            word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
            later = [j for j in range(i + 1, len(lines)) if word.search(lines[j])]
            if not later:
                continue
            # A new name made from the old one, or (`unrelated` of the time) one unrelated to it (`subtotal` → `net`).
            if unrelated and rng.random() < unrelated:
                new_name = rng.choice([w for w in NAMES if w not in window_words] or [name + "2"])
            else:
                new_name = rng.choice(RENAMES)(name)
            if new_name == name or not IDENT.fullmatch(new_name):
                continue
            edit_line = i
            edited[i] = word.sub(new_name, lines[i])
            follow = later[0]
            change = (lambda w, n: lambda line: w.sub(n, line))(word, new_name)
            target = change(lines[follow])
            break
    elif kind < 0.55:  # a parameter added; a call follows
        for i, line in enumerate(lines):
            m = re.search(r"\b(function\s+|def\s+)?([A-Za-z_]\w*)\(([^()]*)\)\s*(\{|:|=>)", line)
            if not m or not m.group(1):
                continue
            name = m.group(2)
            calls = [j for j in range(len(lines)) if j != i and re.search(rf"(?<![\w.]){re.escape(name)}\(", lines[j])]
            if not calls:
                continue
            param = rng.choice(PARAMS)
            args = m.group(3).strip()
            edit_line = i
            edited[i] = line[: m.start(3)] + (f"{args}, {param}" if args else param) + line[m.end(3):]
            follow = calls[0]

            def add_arg(call_line: str) -> str:
                found = re.search(rf"(?<![\w.]){re.escape(name)}\(", call_line)
                if not found:
                    return call_line
                start = found.end()
                depth, j = 1, start
                while j < len(call_line) and depth:
                    depth += {"(": 1, ")": -1}.get(call_line[j], 0)
                    j += 1
                if depth:
                    return call_line
                inside = call_line[start:j - 1].strip()
                return call_line[:start] + (f"{call_line[start:j - 1]}, {param}" if inside else param) + call_line[j - 1:]

            target = add_arg(lines[follow])
            if target == lines[follow]:
                follow = None
                continue
            change = add_arg
            break
    elif kind < 0.8:  # the same fix at another occurrence
        fixes = list(FIXES.get(language, []))
        rng.shuffle(fixes)
        for pattern, repl in fixes:
            hits = [i for i, line in enumerate(lines) if pattern.search(line)]
            if len(hits) < 2:
                continue
            edit_line, follow = hits[0], hits[1]
            edited[edit_line] = pattern.sub(repl, lines[edit_line])
            change = (lambda p, r: lambda line: p.sub(r, line))(pattern, repl)
            target = change(lines[follow])
            break
    elif kind < 0.9:  # a key added to an object literal; another literal with the same first key follows
        for i, line in enumerate(lines):
            m = re.search(r"\{\s*([A-Za-z_]\w*)\s*:\s*[^{}]+\}", line)
            if not m:
                continue
            key = m.group(1)
            same = [j for j in range(i + 1, len(lines)) if re.search(rf"\{{\s*{re.escape(key)}\s*:\s*[^{{}}]+\}}", lines[j])]
            if not same:
                continue
            field = rng.choice(["id", "name", "enabled", "label", "count"])
            close = line.rfind("}", m.start(), m.end())
            edit_line = i
            edited[i] = line[:close].rstrip() + f", {field}: undefined " + line[close:]
            follow = same[0]

            def add_key(other: str, key: str = key, field: str = field) -> str:
                m2 = re.search(rf"\{{\s*{re.escape(key)}\s*:\s*[^{{}}]+\}}", other)
                if not m2:
                    return other
                close2 = other.rfind("}", m2.start(), m2.end())
                return other[:close2].rstrip() + f", {field}: undefined " + other[close2:]

            change = add_key
            target = change(lines[follow])
            break
    found = follow is not None and edit_line >= 0
    return {"kind": kind, "edit_line": edit_line, "edited": edited, "follow": follow if found else None,
            "target": target if found else None, "change": change if found else None}


# ---------- the project's next-edit format (server/nextEdit/tokenChange.ts and nextEditFormats.ts write the same) ----------

# Code's tokens for a change: words, runs of spaces, runs of other characters (`==` and `===` are one token each).
CHANGE_TOKEN = re.compile(r"[A-Za-z0-9_$]+|\s+|[^A-Za-z0-9_$\s]+")


def _kind(ch: str) -> int:
    return 0 if re.match(r"[A-Za-z0-9_$]", ch) else 1 if ch.isspace() else 2


def token_change(before: str, after: str) -> tuple[str, str] | None:
    """The part of `before` that `after` changes, in whole tokens (common tokens at both ends left out), widened by
    the token before it (else after) while what it removes is only space: `total` → `grandTotal`; `==` → `===`;
    `b` → `b, options` for a parameter added after `b`. None when they are the same or the change spans lines."""
    if before == after:
        return None
    a, b = CHANGE_TOKEN.findall(before), CHANGE_TOKEN.findall(after)
    p = 0
    while p < len(a) and p < len(b) and a[p] == b[p]:
        p += 1
    s = 0
    while s < len(a) - p and s < len(b) - p and a[-1 - s] == b[-1 - s]:
        s += 1
    start, end_a, end_b = p, len(a) - s, len(b) - s
    while not "".join(a[start:end_a]).strip():
        if start > 0:
            start -= 1
        elif end_a < len(a):
            end_a += 1
            end_b += 1
        else:
            return None
    removed, added = "".join(a[start:end_a]), "".join(b[start:end_b])
    return None if "\n" in removed or "\n" in added else (removed, added)


def apply_change(line: str, removed: str, added: str) -> str | None:
    """`line` with every whole-token occurrence of `removed` made `added` (not `==` inside `===`, not `total` inside
    `subtotal`); None when there is none."""
    if not removed:
        return None
    out, i, found = [], 0, False
    while True:
        j = line.find(removed, i)
        if j < 0:
            break
        end = j + len(removed)
        if (j > 0 and _kind(line[j - 1]) == _kind(removed[0]) != 1) or (end < len(line) and _kind(line[end]) == _kind(removed[-1]) != 1):
            out.append(line[i:j + 1])
            i = j + 1
            continue
        out.append(line[i:j] + added)
        i, found = end, True
    return "".join(out) + line[i:] if found else None


def next_edit_prompt(path: str, edit_line: int, change: tuple[str, str], line_number: int, line: str) -> str:
    """What the server sends for one candidate line (after a `<file_sep>`); the answer follows: `=` when the line takes
    the edit's own change (a rename's use, the same fix), `-removed\\n+added` for a change of its own (a call that needs
    the new parameter), or nothing."""
    return f"{path}\n### Edit {edit_line + 1}\n-{change[0]}\n+{change[1]}\n### Line {line_number + 1}\n{line}\n### Next\n"


# The answer for "the edit's own change": a tiny model copies a name of several tokens badly (it wrote `subcategories`
# for `subtotal`); deciding that the line takes the same change is what it has to get right.
SAME = "="


def next_edit_answer(change: tuple[str, str], line: str, target: str) -> str | None:
    """The answer that turns `line` into `target`: `=` where the edit's own change does, else the line's own change."""
    if apply_change(line, *change) == target:
        return SAME
    own = token_change(line, target)
    return f"-{own[0]}\n+{own[1]}" if own and apply_change(line, *own) == target else None


def next_edit_example(f: dict, window: str, rng: random.Random, first_line: int = 0, nothing: bool = False) -> tuple[str, str] | None:
    """A next edit of a training or held-out window in the project's format: (the prompt after its `<file_sep>`, the
    answer), or None when the window gives none. `nothing`: an edit with nothing to follow at the line shown (the
    answer is empty): a candidate line that holds what the edit removed but is not to change (a comment added
    somewhere), or a line that does not hold it at all."""
    lines = window.split("\n")[:-1]  # the window's last line may be cut short
    if len(lines) < 8:
        return None
    path = relative_path(f["path"])
    if nothing:
        edit_line = rng.randrange(len(lines))
        stripped = lines[edit_line].rstrip()
        if not stripped:
            return None
        edited = stripped + ("  # checked" if f["language"] == "python" else " // checked")
        change = token_change(lines[edit_line], edited)
        if change is None:
            return None
        others = [j for j in range(len(lines)) if j != edit_line and lines[j].strip()]
        holding = [j for j in others if apply_change(lines[j], *change) is not None]
        pool = holding if holding and rng.random() < 0.5 else others
        if not pool:
            return None
        line = rng.choice(pool)
        return next_edit_prompt(path, first_line + edit_line, change, first_line + line, lines[line]), ""
    made = synthesize(lines, f["language"], rng, window, unrelated=UNRELATED)
    edit_line, follow = made["edit_line"], made["follow"]
    if follow is None:
        return None
    change = token_change(lines[edit_line], made["edited"][edit_line])
    answer = change and next_edit_answer(change, lines[follow], made["target"])
    if not answer:
        return None
    return next_edit_prompt(path, first_line + edit_line, change, first_line + follow, lines[follow]), answer
