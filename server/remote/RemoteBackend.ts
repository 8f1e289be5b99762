/**
 * The backend of a remote engine (`moePilot.remote.endpoint`): completion and chat through
 * RemoteClient.ts. The server cannot see the model's experts there, so the MoE controls say why
 * they are unavailable, and the chat counts tokens by an estimate that errs toward fitting.
 */
import type {
    Backend,
    BackendStatus,
    Capabilities,
    ChatSession,
    CompletionOutput,
    CompletionRequest,
    RewriteOutput,
    RewriteRequest
} from "../backend/Backend";
import type { ChatTurn } from "../chat/fitConversation";
import type { RemoteSettings, RoutingStatsResult } from "../protocol";
import { RemoteClient, type RemoteInfo } from "./RemoteClient";

/** Characters per token when only the remote server can count tokens: low, so the estimate errs toward fitting. */
const CHARS_PER_TOKEN = 3;
/** Template tokens a turn adds (role markers), in characters of the estimate. */
const TURN_OVERHEAD_CHARS = 8;

export class RemoteBackend implements Backend {
    readonly identity: string;
    readonly capabilities: Capabilities;
    readonly status: BackendStatus;
    readonly models = {};
    /** A remote engine's routing is not visible: no routing embeddings. */
    readonly embeddingModel = undefined;

    private constructor(
        private readonly client: RemoteClient,
        private readonly info: RemoteInfo,
        settings: RemoteSettings,
        /** Context size when the server does not say (the local setting). */
        private readonly fallbackContextSize: number
    ) {
        this.identity = `remote:${client.endpoint}`;
        this.capabilities = {
            moe: {
                available: false,
                reason: `The model runs on a remote engine (${client.endpoint}): its expert routing is not visible from here.`
            }
        };
        this.status = {
            completionK: 0,
            expertMode: "remote",
            model: {
                name: info.model,
                path: client.endpoint,
                architecture: `remote ${info.kind}`,
                sizeBytes: 0,
                isMoe: false,
                expertCount: 0,
                trainedK: 0,
                fimSource:
                    info.kind === "llama-server"
                        ? "gguf-tokens"
                        : settings.fimFormat === "none"
                          ? "none"
                          : "family-template",
                isEmbedded: false
            }
        };
    }

    /** Asks the endpoint what it is (and that it answers, with this key). */
    static async connect(
        settings: RemoteSettings,
        apiKey: string,
        fallbackContextSize: number
    ): Promise<RemoteBackend> {
        const client = new RemoteClient(settings);
        client.setApiKey(apiKey);
        const info = await client.connect();
        return new RemoteBackend(client, info, settings, fallbackContextSize);
    }

    get endpoint(): string {
        return this.client.endpoint;
    }

    setApiKey(key: string) {
        this.client.setApiKey(key);
    }

    async complete(request: CompletionRequest): Promise<CompletionOutput> {
        try {
            const text = await this.client.complete(request.input, request.maxTokens, request.signal);
            return { text, cancelled: false, generatedTokens: 0, summary: `remote: ${text.length} characters` };
        } catch (e: unknown) {
            if (request.signal.aborted)
                return { text: "", cancelled: true, generatedTokens: 0, summary: "remote: cancelled" };
            throw e;
        }
    }

    async rewrite(request: RewriteRequest): Promise<RewriteOutput> {
        // The server tokenizes the prompt as one text (its special tokens parsed): the parts are joined.
        const prompt = request.prompt.map((p) => (typeof p === "string" ? p : p.special)).join("");
        try {
            const { text, ended } = await this.client.continueText(
                prompt,
                request.maxTokens,
                request.stop,
                request.signal
            );
            return { text, ended, cancelled: false, generatedTokens: 0, summary: `remote: ${text.length} characters` };
        } catch (e: unknown) {
            if (request.signal.aborted)
                return { text: "", cancelled: true, ended: false, generatedTokens: 0, summary: "remote: cancelled" };
            throw e;
        }
    }

    openChat(): Promise<{ session: ChatSession; warnings: string[] }> {
        const client = this.client;
        const session: ChatSession = {
            k: 0,
            contextSize: this.info.contextSize ?? this.fallbackContextSize,
            template: { name: `the remote engine's (${this.info.model})`, fromModel: true },
            countTokens: (turns: ChatTurn[]) =>
                Math.ceil(turns.reduce((n, t) => n + t.text.length + TURN_OVERHEAD_CHARS, 0) / CHARS_PER_TOKEN),
            async answer(turns, { maxTokens, signal, sampling, seed, onChunk }) {
                const started = performance.now();
                const messages = turns.map((t) => ({ role: t.role, content: t.text }));
                const answer = await client.chat(messages, maxTokens, signal, (text) => onChunk({ text }), {
                    sampling,
                    seed
                });
                const seconds = (performance.now() - started) / 1000;
                return {
                    ...answer,
                    // network and prompt included: not the model's decode speed
                    tokensPerSecond: seconds > 0 ? Math.round(answer.generatedTokens / seconds) : 0,
                    decodeMeasured: false
                };
            }
        };
        return Promise.resolve({ session, warnings: [] });
    }

    setCompletionK(): Promise<{ applied: boolean; warnings: string[] }> {
        return Promise.resolve({ applied: true, warnings: [] });
    }

    embed(): Promise<Float32Array | undefined> {
        return Promise.resolve(undefined);
    }

    routingStats(): RoutingStatsResult {
        const reason = this.capabilities.moe.available ? undefined : this.capabilities.moe.reason;
        return { available: false, reason, expertCount: 0, trainedK: 0 };
    }

    dispose(): Promise<void> {
        return Promise.resolve();
    }
}
