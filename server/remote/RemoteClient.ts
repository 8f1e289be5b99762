/**
 * The HTTP client of a remote engine: completions and chat sent to an OpenAI-compatible server the user configured
 * (`moePilot.remote.endpoint`) instead of the local model — llama-server, vLLM, SGLang or Ollama,
 * the engines that serve large MoE models across GPUs and nodes with expert parallelism.
 *
 * - Completion: llama-server's `/infill` (the model's own FIM tokens, and our extra context as
 *   `input_extra`) when the server has it; otherwise `/v1/completions` with a FIM prompt built from
 *   the model family's template (fimFormats.ts), or the plain prefix when the family is unknown.
 * - Chat: `/v1/chat/completions`, streamed (server-sent events, parsed by eventsource-parser).
 *
 * Every failure becomes one sentence the user can act on (RemoteError): refused connection, a
 * rejected API key, a timeout, an HTTP error, a malformed stream. The API key comes from the
 * client's SecretStorage (`moePilot/remote/credentials`) and lives only in memory.
 */
import { createParser } from "eventsource-parser";
import { answerCut } from "../chat/answerGuard";
import type { PromptInput } from "../completion/promptInput";
import { FIM_FAMILIES, type FimFamily } from "../completion/fimFormats";
import type { ResolvedSampling } from "../chat/sampling";
import type { ChatMessage, ChatSampling, RemoteSettings } from "../protocol";
import { errorMessage } from "../errors";

export type RemoteProblem = "unreachable" | "unauthorized" | "timeout" | "http" | "malformed";

export class RemoteError extends Error {
    override readonly name = "RemoteError";
    constructor(
        readonly problem: RemoteProblem,
        message: string,
        options?: { cause?: unknown }
    ) {
        super(message, options);
    }
}

export type RemoteInfo = {
    /** What answered: llama-server (has `/infill` and `/props`), or another OpenAI-compatible server. */
    kind: "llama-server" | "openai";
    /** The model name the server reports (or the one configured). */
    model: string;
    /** Its context size, when the server says. */
    contextSize?: number;
};

export type RemoteChatResult = {
    text: string;
    stopReason: "end-of-turn" | "max-tokens" | "cancelled" | "repeating";
    promptTokens: number;
    generatedTokens: number;
};

export class RemoteClient {
    private apiKey?: string;
    info?: RemoteInfo;

    constructor(private settings: RemoteSettings) {}

    get endpoint(): string {
        return this.settings.endpoint.replace(/\/+$/, "");
    }

    setApiKey(key: string | undefined) {
        this.apiKey = key || undefined;
    }

    /** Finds out what the endpoint is (and that it answers, with this key). */
    async connect(signal?: AbortSignal): Promise<RemoteInfo> {
        const configured = this.settings.kind;
        if (configured !== "openai") {
            type Props = {
                default_generation_settings?: { n_ctx?: number };
                n_ctx?: number;
                model_path?: string;
                model_alias?: string;
            };
            // Only llama-server has /props: another server's 404 (or non-JSON) means "not llama-server".
            const props = await (this.json("GET", "/props", undefined, signal) as Promise<Props>).catch(
                (e: unknown) => {
                    if (
                        configured === "llama-server" ||
                        !(e instanceof RemoteError && (e.problem === "http" || e.problem === "malformed"))
                    )
                        throw e;
                    return undefined;
                }
            );
            if (props) {
                const model =
                    this.settings.model ||
                    props.model_alias ||
                    props.model_path?.split(/[\\/]/).pop() ||
                    "llama-server";
                return (this.info = {
                    kind: "llama-server",
                    model,
                    contextSize: props.default_generation_settings?.n_ctx ?? props.n_ctx
                });
            }
        }
        const models = (await this.json("GET", "/v1/models", undefined, signal)) as
            { data?: { id?: string }[] } | undefined;
        const model = this.settings.model || models?.data?.[0]?.id;
        if (!model)
            throw new RemoteError(
                "malformed",
                `The remote engine at ${this.endpoint} lists no model; set moePilot.remote.model.`
            );
        return (this.info = { kind: "openai", model });
    }

    /** A completion at the cursor; the text to insert (before the pipeline's filters). */
    async complete(input: PromptInput, maxTokens: number, signal: AbortSignal): Promise<string> {
        const info = this.info ?? (await this.connect(signal));
        if (info.kind === "llama-server") {
            const body = (await this.json(
                "POST",
                "/infill",
                {
                    input_prefix: input.prefix,
                    input_suffix: input.suffix,
                    input_extra: input.extra.map((e) => ({ filename: e.path, text: e.text })),
                    n_predict: maxTokens,
                    temperature: 0,
                    cache_prompt: true,
                    stream: false
                },
                signal
            )) as { content?: unknown };
            if (typeof body.content !== "string")
                throw new RemoteError("malformed", `The remote engine's /infill answer has no content.`);
            return body.content;
        }
        const family = fimFamily(info.model, this.settings.fimFormat);
        const prompt = family
            ? family.order === "spm"
                ? `${family.suffix}${input.suffix}${family.prefix}${input.prefix}`
                : `${family.prefix}${input.prefix}${family.suffix}${input.suffix}${family.middle}`
            : input.prefix;
        const body = (await this.json(
            "POST",
            "/v1/completions",
            { model: info.model, prompt, max_tokens: maxTokens, temperature: 0, stream: false },
            signal
        )) as { choices?: { text?: unknown }[] };
        const text = body.choices?.[0]?.text;
        if (typeof text !== "string")
            throw new RemoteError("malformed", "The remote engine's completion answer has no text.");
        return text;
    }

    /** A greedy continuation of a raw prompt (a next-edit format's), ended before the first `stop` text. */
    async continueText(
        prompt: string,
        maxTokens: number,
        stop: string[],
        signal: AbortSignal
    ): Promise<{ text: string; ended: boolean }> {
        const info = this.info ?? (await this.connect(signal));
        const body = (await this.json(
            "POST",
            "/v1/completions",
            { model: info.model, prompt, max_tokens: maxTokens, temperature: 0, stop, stream: false },
            signal
        )) as { choices?: { text?: unknown; finish_reason?: unknown }[] };
        const text = body.choices?.[0]?.text;
        if (typeof text !== "string")
            throw new RemoteError("malformed", "The remote engine's completion answer has no text.");
        return { text, ended: body.choices?.[0]?.finish_reason === "stop" };
    }

    /** A streamed chat answer. A cancel ends it with what arrived, marked `cancelled`. */
    async chat(
        messages: { role: "system" | ChatMessage["role"]; content: string }[],
        maxTokens: number,
        signal: AbortSignal,
        onText: (text: string) => void,
        { sampling, seed }: { sampling: ResolvedSampling; seed?: number }
    ): Promise<RemoteChatResult> {
        const info = this.info ?? (await this.connect(signal));
        let text = "";
        // Set by the parser's callback, which TypeScript's narrowing does not see.
        let stopReason = "end-of-turn" as RemoteChatResult["stopReason"];
        let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
        let chunks = 0;
        let malformed: string | undefined;
        const parser = createParser({
            onEvent: (event) => {
                if (event.data.trim() === "[DONE]") return;
                let data: {
                    choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
                    usage?: typeof usage;
                    error?: { message?: string };
                };
                try {
                    data = JSON.parse(event.data) as typeof data;
                } catch {
                    malformed ??= event.data.slice(0, 80);
                    return;
                }
                if (data.error) {
                    malformed ??= data.error.message ?? "an error event";
                    return;
                }
                const choice = data.choices?.[0];
                if (!choice && !data.usage) {
                    malformed ??= event.data.slice(0, 80);
                    return;
                }
                const piece = choice?.delta?.content;
                if (typeof piece === "string" && piece && stopReason !== "repeating") {
                    text += piece;
                    chunks++;
                    onText(piece);
                    // A remote model loops too: stop reading (the result's text, cut, replaces what streamed).
                    const cut = answerCut(text, false);
                    if (cut) {
                        text = text.slice(0, cut.at);
                        stopReason = "repeating";
                    }
                }
                if (choice?.finish_reason === "length" && stopReason !== "repeating") stopReason = "max-tokens";
                if (data.usage) usage = data.usage;
            }
        });
        const idle = new IdleTimeout(this.settings.timeoutMs);
        try {
            const response = await this.request(
                "POST",
                "/v1/chat/completions",
                {
                    model: info.model,
                    messages,
                    max_tokens: maxTokens,
                    ...samplingParameters(sampling, info.kind),
                    ...(seed !== undefined ? { seed } : {}),
                    stream: true,
                    stream_options: { include_usage: true }
                },
                signal,
                idle
            );
            if (!response.body) throw new RemoteError("malformed", "The remote engine's chat answer has no body.");
            const decoder = new TextDecoder();
            for await (const bytes of response.body) {
                idle.touch(); // a piece arrived: the wait for the next one starts
                parser.feed(decoder.decode(bytes as Uint8Array, { stream: true }));
                if (stopReason === "repeating") break;
                if (malformed !== undefined)
                    throw new RemoteError(
                        "malformed",
                        `The remote engine sent a malformed stream (${JSON.stringify(malformed)}).`
                    );
            }
        } catch (e: unknown) {
            if (signal.aborted)
                return {
                    text,
                    stopReason: "cancelled",
                    promptTokens: usage?.prompt_tokens ?? 0,
                    generatedTokens: chunks
                };
            throw this.failure(e, "/v1/chat/completions", idle);
        } finally {
            idle.clear();
        }
        return {
            text,
            stopReason,
            promptTokens: usage?.prompt_tokens ?? 0,
            generatedTokens: usage?.completion_tokens ?? chunks
        };
    }

    private async json(method: string, route: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
        const idle = new IdleTimeout(this.settings.timeoutMs);
        try {
            const response = await this.request(method, route, body, signal, idle);
            const text = await response.text();
            try {
                return JSON.parse(text);
            } catch {
                throw new RemoteError(
                    "malformed",
                    `The remote engine's ${route} answer is not JSON (${JSON.stringify(text.slice(0, 80))}).`
                );
            }
        } catch (e: unknown) {
            if (signal?.aborted) throw e;
            throw this.failure(e, route, idle);
        } finally {
            idle.clear();
        }
    }

    /** One HTTP request with the API key; `idle` aborts it when the server goes quiet for `remote.timeoutMs`. */
    private async request(
        method: string,
        route: string,
        body: unknown,
        signal: AbortSignal | undefined,
        idle: IdleTimeout
    ): Promise<Response> {
        const response = await fetch(`${this.endpoint}${route}`, {
            method,
            headers: {
                "content-type": "application/json",
                ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {})
            },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: signal ? AbortSignal.any([signal, idle.signal]) : idle.signal
        });
        if (response.status === 401 || response.status === 403)
            throw new RemoteError(
                "unauthorized",
                `The remote engine at ${this.endpoint} refused the request (${response.status}): ${this.apiKey ? "the API key is wrong" : "it needs an API key"}. Set it with "MoE Pilot: Set Remote API Key".`
            );
        if (!response.ok) {
            const detail = (await response.text().catch(() => "")).replace(/\s+/g, " ").slice(0, 200);
            throw new RemoteError(
                "http",
                `The remote engine at ${this.endpoint} answered ${response.status} to ${route}${detail ? `: ${detail}` : ""}.`
            );
        }
        return response;
    }

    /** Any failure of a request, as the sentence the user sees. */
    private failure(e: unknown, route: string, idle: IdleTimeout): RemoteError {
        if (e instanceof RemoteError) return e;
        if (idle.fired)
            return new RemoteError(
                "timeout",
                `The remote engine at ${this.endpoint} did not answer within ${(this.settings.timeoutMs / 1000).toFixed(1)} s (${route}). Is it overloaded? The limit is moePilot.remote.timeoutMs.`
            );
        return new RemoteError(
            "unreachable",
            `Cannot reach the remote engine at ${this.endpoint}: ${networkReason(e)}. Is it running, and is moePilot.remote.endpoint right?`,
            { cause: e }
        );
    }
}

/** Aborts when nothing happened for `ms`; `touch()` starts the wait again. */
class IdleTimeout {
    private readonly controller = new AbortController();
    private timer: NodeJS.Timeout;
    fired = false;
    constructor(private readonly ms: number) {
        this.timer = this.arm();
    }
    get signal(): AbortSignal {
        return this.controller.signal;
    }
    touch() {
        clearTimeout(this.timer);
        this.timer = this.arm();
    }
    clear() {
        clearTimeout(this.timer);
    }
    private arm() {
        return setTimeout(() => {
            this.fired = true;
            this.controller.abort();
        }, this.ms);
    }
}

function networkReason(e: unknown): string {
    for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
        const code = (c as { code?: string }).code;
        if (code === "ECONNREFUSED") return "the connection was refused";
        if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
        if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "the connection was reset";
        if (code) return code;
    }
    return errorMessage(e);
}

/** The FIM template for a model served by name: the configured family, or one guessed from the name. */
function fimFamily(model: string, setting: string): FimFamily | undefined {
    if (setting === "none") return undefined;
    if (setting !== "auto") return FIM_FAMILIES.find((f) => f.name === setting);
    const name = model.toLowerCase();
    const guess = /qwen.*coder|coder.*qwen/.test(name)
        ? "qwen-coder"
        : /deepseek.*coder/.test(name)
          ? "deepseek-coder"
          : /starcoder/.test(name)
            ? "starcoder"
            : /codellama|code-llama/.test(name)
              ? "codellama"
              : /codestral/.test(name)
                ? "codestral"
                : undefined;
    return FIM_FAMILIES.find((f) => f.name === guess);
}

/**
 * The sampling parameters of a chat request. Where nothing is known of the remote model (the
 * general default), only what the user's settings set is sent, so the server applies its own
 * model's defaults (llama-server reads them from the GGUF). top_k, min_p and repeat_penalty go to
 * llama-server only: the OpenAI API refuses parameters it does not define.
 */
export function samplingParameters(
    resolved: ResolvedSampling,
    kind: "llama-server" | "openai"
): Record<string, number> {
    const names: Record<keyof ChatSampling, string> = {
        temperature: "temperature",
        topP: "top_p",
        presencePenalty: "presence_penalty",
        topK: "top_k",
        minP: "min_p",
        repeatPenalty: "repeat_penalty"
    };
    const openai = new Set<keyof ChatSampling>(["temperature", "topP", "presencePenalty"]);
    const sent: Record<string, number> = {};
    for (const key of Object.keys(names) as (keyof ChatSampling)[]) {
        if (kind === "openai" && !openai.has(key)) continue;
        if (resolved.source === "default" && !resolved.overridden.includes(key)) continue;
        sent[names[key]] = resolved.sampling[key];
    }
    return sent;
}
