/**
 * Every `moePilot.*` setting, declared once: its check (type, bounds, allowed values), default,
 * whether a change loads the model again, whether an untrusted workspace may set it, its scope
 * and its description. Defaults, parsing, reload decisions, the restricted list and
 * `package.json`'s `contributes.configuration` all come from this table (rust-analyzer's
 * `config_data!`); `test/unit/settings.test.ts` fails when the manifest differs from it, and
 * `npm run settings:manifest` writes the manifest again.
 *
 * This file is a leaf (it imports only protocol types), so the client can read the restricted
 * list from it.
 */
import type { Settings } from "../protocol";

/** How a value is checked, described and declared in the manifest. */
export type Check<T> = {
    /** The value, normalised, or undefined when it is not acceptable. */
    parse(value: unknown): T | undefined;
    /** What an acceptable value is, for the message about one that is not. */
    expected: string;
    /** The JSON schema fragment for `package.json`. */
    schema: Record<string, unknown>;
};

export type SettingDescriptor<T> = {
    check: Check<T>;
    default: T;
    /** A change loads the model (or its contexts) again. */
    reload?: true;
    /** It names a file, a folder or a server: an untrusted workspace's value is ignored. */
    restricted?: true;
    scope?: "machine" | "machine-overridable" | "window";
    /** Markdown, shown in the settings editor. */
    description: string;
};

const integer = (minimum: number, maximum: number): Check<number> => ({
    parse: (v) => (typeof v === "number" && Number.isInteger(v) && v >= minimum && v <= maximum ? v : undefined),
    expected: `a whole number from ${minimum} to ${maximum}`,
    schema: { type: "integer", minimum, maximum }
});

const boolean: Check<boolean> = {
    parse: (v) => (typeof v === "boolean" ? v : undefined),
    expected: "true or false",
    schema: { type: "boolean" }
};

const text = (what: string): Check<string> => ({
    parse: (v) => (typeof v === "string" ? v.trim() : undefined),
    expected: what,
    schema: { type: "string" }
});

const url: Check<string> = {
    parse: (v) => {
        if (typeof v !== "string") return undefined;
        const value = v.trim();
        return value === "" || /^https?:\/\/[^\s/]+/i.test(value) ? value : undefined;
    },
    expected: "an http(s) URL",
    schema: { type: "string" }
};

const quoted = (words: readonly string[]) =>
    words
        .map((w) => `"${w}"`)
        .join(", ")
        .replace(/, ([^,]*)$/, " or $1");

function oneOf<const W extends string>(words: readonly W[]): Check<W> {
    return {
        parse: (v) => (words.includes(v as W) ? (v as W) : undefined),
        expected: quoted(words),
        schema: { type: "string", enum: [...words] }
    };
}

/** A word (`auto`, `off`) or a whole number in range. */
function wordOrInteger<const W extends string>(
    words: readonly W[],
    minimum: number,
    maximum: number
): Check<W | number> {
    const number = integer(minimum, maximum);
    return {
        parse: (v) => (words.includes(v as W) ? (v as W) : number.parse(v)),
        expected: `${quoted(words)} or a whole number from ${minimum} to ${maximum}`,
        schema: {
            anyOf: [
                { type: "string", enum: [...words] },
                { type: "integer", minimum, maximum }
            ]
        }
    };
}

/** `model` (the model's own value) or a number in range. */
function modelOrNumber(minimum: number, maximum: number, integerOnly = false): Check<"model" | number> {
    return {
        parse: (v) =>
            v === "model"
                ? "model"
                : typeof v === "number" &&
                    Number.isFinite(v) &&
                    v >= minimum &&
                    v <= maximum &&
                    (!integerOnly || Number.isInteger(v))
                  ? v
                  : undefined,
        expected: `"model" or a ${integerOnly ? "whole " : ""}number from ${minimum} to ${maximum}`,
        schema: {
            anyOf: [
                { type: "string", enum: ["model"] },
                { type: integerOnly ? "integer" : "number", minimum, maximum }
            ]
        }
    };
}

/** The dotted paths of `Settings`' leaves (`completion.maxTokens`), and the type at one. */
type Leaves<T, P extends string = ""> = {
    [K in keyof T & string]: T[K] extends Record<string, unknown> ? Leaves<T[K], `${P}${K}.`> : `${P}${K}`;
}[keyof T & string];
export type SettingPath = Leaves<Settings>;
type At<T, P extends string> = P extends `${infer H}.${infer R}`
    ? H extends keyof T
        ? At<T[H], R>
        : never
    : P extends keyof T
      ? T[P]
      : never;

export const SECTION = "moePilot";

const FIM_FORMATS = ["auto", "none", "qwen-coder", "starcoder", "deepseek-coder", "codellama", "codestral"] as const;

/** The server's settings, in the order the settings editor shows them. */
export const SETTINGS: { [P in SettingPath]: SettingDescriptor<At<Settings, P>> } = {
    modelPath: {
        check: text("a path to a .gguf file"),
        default: "",
        reload: true,
        restricted: true,
        scope: "machine-overridable",
        description:
            "Path to a GGUF model file. Empty: the embedded demo model (a tiny MoE code model trained by the project, for trying the extension; see docs/MODEL_CARD.md)."
    },
    "chat.modelPath": {
        check: text("a path to a .gguf file"),
        default: "",
        reload: true,
        restricted: true,
        scope: "machine-overridable",
        description:
            "A GGUF model for chat and palette actions only (say DeepSeek-Coder-V2-Lite-Instruct beside the Base model for completion). Empty: chat uses `#moePilot.modelPath#`. Both models are checked to fit in memory together before loading."
    },
    "models.directory": {
        check: text("a folder path"),
        default: "",
        restricted: true,
        scope: "machine",
        description: "Where **MoE Pilot: Choose Model…** saves downloaded models. Empty: `~/.cache/moe-pilot/models`."
    },
    "models.huggingFaceEndpoint": {
        check: url,
        default: "",
        restricted: true,
        scope: "machine",
        description:
            "A Hugging Face mirror for model downloads (like the `HF_ENDPOINT` environment variable), e.g. a company proxy. Empty: huggingface.co. MoE Pilot goes online only when you ask for a download."
    },
    threads: {
        check: integer(0, 256),
        default: 0,
        reload: true,
        description: "CPU threads for generation. `0`: physical cores minus one, leaving the editor a core."
    },
    contextSize: {
        check: integer(256, 131072),
        default: 4096,
        reload: true,
        description:
            "Context size, in tokens, of the completion and chat contexts (capped at what the model was trained for)."
    },
    speculativeDecoding: {
        check: oneOf(["auto", "on", "off"]),
        default: "auto",
        reload: true,
        description:
            "Speculative decoding for completion and chat on a local model: the tokens that followed the text's last few tokens where they occurred before (in the file, the context, the conversation) are checked in one step with the next token, and those the model agrees with are kept. Greedy output (inline completion) is the same as without it; sampled chat answers come from the same distribution. On a Mixture-of-Experts model a draft is shortened when its tokens would read many other experts. `auto`: on for a model whose token reads at least 64 MiB of weights (every registry model), off for one small enough to sit in the CPU's caches (the embedded demo model), where checking drafts costs more than it saves."
    },
    "completion.enabled": {
        check: boolean,
        default: true,
        description: "Show inline completions as you type."
    },
    "completion.experts": {
        check: wordOrInteger(["auto"], 1, 256),
        default: "auto",
        description:
            "Experts per token for inline completion on a Mixture-of-Experts model: `auto` or a number. Fewer experts are faster. `auto` on the embedded model with the native runtime is adaptive routing, up to the trained count: each token keeps only the experts that carry most of its gate weight (measured within 1% of the trained count's quality); otherwise the model's recommended or trained count. With the native runtime the change applies at the next completion, without reloading the model."
    },
    "chat.experts": {
        check: wordOrInteger(["auto"], 1, 256),
        default: "auto",
        description:
            "Experts per token for chat answers and palette actions on a Mixture-of-Experts model, when the chat panel's expert selector says `auto`. `auto` is the count the model was trained with; more experts may answer better, fewer answer faster."
    },
    "chat.sampling.temperature": {
        check: modelOrNumber(0, 2),
        default: "model",
        description:
            "Temperature of chat answers. `model`: what the model's authors recommend (the registry, from their generation settings), else the GGUF's `general.sampling` metadata, else 0.7. 0 is greedy. The model card shows what is in use and where it came from. Inline completion is always greedy."
    },
    "chat.sampling.topP": {
        check: modelOrNumber(0, 1),
        default: "model",
        description: "Top-p (nucleus) sampling of chat answers; `model`: the model's recommendation (else 0.9)."
    },
    "chat.sampling.topK": {
        check: modelOrNumber(0, 1000, true),
        default: "model",
        description: "Top-k sampling of chat answers (0: off); `model`: the model's recommendation (else 40)."
    },
    "chat.sampling.minP": {
        check: modelOrNumber(0, 1),
        default: "model",
        description: "Min-p sampling of chat answers; `model`: the model's recommendation (else 0.05)."
    },
    "chat.sampling.repeatPenalty": {
        check: modelOrNumber(1, 2),
        default: "model",
        description:
            "Repetition penalty of chat answers over their last 64 tokens (1: off); `model`: the model's recommendation (else 1.1)."
    },
    "chat.sampling.presencePenalty": {
        check: modelOrNumber(0, 2),
        default: "model",
        description: "Presence penalty of chat answers; `model`: the model's recommendation (else 0)."
    },
    "chat.seed": {
        check: wordOrInteger(["random"], 0, 2 ** 31 - 1),
        default: "random",
        description:
            "`random`, or a seed: with a seed, the same question on the same model gets the same sampled answer (reproducible runs and tests)."
    },
    "memory.budget": {
        check: wordOrInteger(["auto"], 1, 16 * 2 ** 20),
        default: "auto",
        reload: true,
        description:
            "Memory, in MiB, that the model's weights may keep resident. A Mixture-of-Experts model larger than it runs with the expert cache: the non-expert weights and each layer's most useful experts stay pinned in RAM, the other experts are read from disk as tokens choose them. `auto` is three quarters of the memory available when the model loads. A model that fits is not affected. Needs the native MoE runtime (Linux)."
    },
    "memory.prefetchNextLayer": {
        check: boolean,
        default: false,
        reload: true,
        description:
            "With the expert cache: also start reading the experts the next layer will probably choose (this layer's router input through the next layer's router, those it gives at least 8% probability), a layer early, on the I/O thread. Off by default: on the project's benchmark its guesses are nearly all right but it decodes slower than without it (see docs/bench-cache.md)."
    },
    "gpu.expertsOnCpu": {
        check: wordOrInteger(["off", "all"], 0, 1024),
        default: "off",
        reload: true,
        description:
            "When a Mixture-of-Experts model is offloaded to a GPU: keep the expert weights in RAM (`all`), or those of the first N layers (a number), so a model larger than the GPU's memory fits — llama-server's `--cpu-moe` / `--n-cpu-moe N`. Needs the native MoE runtime. Has no effect without a GPU."
    },
    "completion.debounceMs": {
        check: integer(0, 5000),
        default: 120,
        description: "Milliseconds to wait after the last keystroke before computing a completion."
    },
    "completion.maxTokens": {
        check: integer(1, 1024),
        default: 64,
        description: "Most tokens one completion may generate."
    },
    "completion.timeBudgetMs": {
        check: integer(50, 60000),
        default: 1500,
        description: "Most milliseconds one completion may take; what is generated by then is shown."
    },
    "completion.prefixLines": {
        check: integer(1, 2000),
        default: 64,
        description: "Lines before the cursor in the prompt."
    },
    "completion.suffixLines": {
        check: integer(0, 2000),
        default: 16,
        description: "Lines after the cursor in the prompt."
    },
    "completion.extraContext": {
        check: boolean,
        default: true,
        description: "Add the head of other open files of the same language to the prompt when it has room."
    },
    "completion.repetitionPrior": {
        check: oneOf(["auto", "on", "off"]),
        default: "auto",
        reload: true,
        description:
            "Code repeats itself close by: where the last few tokens written occurred before in the prompt (the file, its suffix, the repository context) or in the suggestion so far, the tokens that followed there become likelier, as a cache language model for code does. A prior, not a copy: a model sure of something else still writes it. `auto`: on for the embedded demo model (more exact and closer suggestions on held-out code and in other projects: the model card, `npm run bench:context`), off for other models, which copy from their context by themselves. While on, speculative decoding is off for completion. Local engine only."
    },
    "nextEdit.enabled": {
        check: boolean,
        default: true,
        description:
            "After an edit and a pause, propose the next edit (a rename's other uses, a call of a function that gained a parameter, the same fix elsewhere): shown where it applies, Tab goes there, Tab again applies it, Escape dismisses. The embedded demo model was trained for it in MoE Pilot's own format (see docs/bench-nextedit.md); a next-edit model (Zed's Zeta, Sweep's) is asked in its own; a model trained for neither (a general code model) only when `moePilot.nextEdit.format` names a format."
    },
    "nextEdit.format": {
        check: oneOf(["auto", "moe-pilot", "zeta", "sweep"]),
        default: "auto",
        description:
            "The next-edit prompt format. `auto`: the model's own when its name says it was trained for next edits (Zed's Zeta, Sweep's next-edit model, MoE Pilot's embedded model); a model trained for none of them (a general code model) is not asked for next edits. Or one by name, to ask any model in it."
    },
    "nextEdit.timeBudgetMs": {
        check: integer(50, 10000),
        default: 800,
        description: "Most milliseconds one next-edit proposal may take; past it, nothing is proposed."
    },
    "workspace.index": {
        check: boolean,
        default: true,
        description:
            "Index the workspace folders for repository context: their files (honouring `.gitignore` and `files.exclude`) cut into chunks by syntax, searched lexically, kept in a store on this machine so a restart does not read everything again. Nothing leaves the machine."
    },
    "workspace.maxFiles": {
        check: integer(0, 1000000),
        default: 20000,
        description: "The index reads at most this many files of the workspace folders."
    },
    "workspace.maxFileKiB": {
        check: integer(1, 65536),
        default: 512,
        description: "Files larger than this (in KiB) are left out of the index (generated code, data)."
    },
    "workspace.completionContext": {
        check: boolean,
        default: true,
        description:
            "Add repository context to completion prompts: the definitions of the names used near the cursor that live in other files, and similar code from recently edited files."
    },
    "workspace.contextTokens": {
        check: integer(0, 8192),
        default: 256,
        description:
            "Tokens of a completion prompt that repository context may take (the file around the cursor keeps the rest)."
    },
    "workspace.members": {
        check: boolean,
        default: true,
        description:
            "After `object.`, a completion starts with a member of the object's type (the type it is declared with above the cursor, `cart: ShoppingCart` or `new ShoppingCart(`), where the workspace index has that type's declaration: the model picks among the members that exist rather than invent one, and those the five lines above the cursor use are likelier. Needs `workspace.completionContext`; local engine only."
    },
    "workspace.rerank": {
        check: oneOf(["routing", "off"]),
        default: "off",
        description:
            "`routing`: the workspace chunks a chat gets are BM25's candidates reordered by the model's own routing (the experts each chunk's tokens choose, pooled: MoEE), computed on the loaded model in the background and kept in the store; needs a MoE model on the native runtime. `off`: BM25 alone. See docs/bench-context.md for which retrieves better."
    },
    "remote.endpoint": {
        check: url,
        default: "",
        reload: true,
        restricted: true,
        scope: "machine",
        description:
            "Send completions and chat to an OpenAI-compatible server instead of the local model: llama-server (uses `/infill` for completion), vLLM, SGLang or Ollama, e.g. `http://gpu-box:8080`. Empty: the local engine. The API key, when the server needs one, is set with **MoE Pilot: Set Remote API Key…** and kept in the editor's secret storage. The MoE controls (expert counts, routing, expert cache) are not available with a remote engine."
    },
    "remote.kind": {
        check: oneOf(["auto", "llama-server", "openai"]),
        default: "auto",
        reload: true,
        description:
            "`auto` asks the server what it is (llama-server answers `/props`); `openai` uses only the `/v1` API."
    },
    "remote.model": {
        check: text("a model name"),
        default: "",
        reload: true,
        description: "The model name to request from the remote engine. Empty: the server's (first) model."
    },
    "remote.fimFormat": {
        check: oneOf(FIM_FORMATS),
        default: "auto",
        reload: true,
        description:
            "Fill-in-the-middle template for `/v1/completions` on servers without `/infill`: `auto` guesses from the model name; `none` sends the text before the cursor only."
    },
    "remote.timeoutMs": {
        check: integer(100, 600000),
        default: 30000,
        reload: true,
        description:
            "How long the remote engine may stay silent (no answer, or no next piece of a streamed answer), in milliseconds."
    }
};

/** Settings only the client reads (vscode-languageclient traces the LSP traffic by this key). */
export const CLIENT_SETTINGS = {
    "trace.server": {
        check: oneOf(["off", "messages", "verbose"]),
        default: "off",
        scope: "window",
        description: "Trace the LSP traffic to the MoE Pilot log."
    }
} satisfies Record<string, SettingDescriptor<string>>;

/** `moePilot.<path>`: the key the user sees and every message names. */
export const settingKey = (path: string) => `${SECTION}.${path}`;

/** The settings an untrusted workspace may not set (`package.json` `capabilities.untrustedWorkspaces`). */
export const RESTRICTED_SETTINGS: readonly string[] = Object.entries(
    SETTINGS as Record<string, SettingDescriptor<unknown>>
)
    .filter(([, d]) => d.restricted)
    .map(([path]) => settingKey(path));
