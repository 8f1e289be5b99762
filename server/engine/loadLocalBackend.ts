/**
 * Loading a model into a LocalBackend, step by step, each decision made by the module whose
 * concern it is: inspect the file (models/inspectModel.ts; the embedded model's checksum), the
 * chat model's fit (models/chatModelFit.ts), the completion k (experts/expertCount.ts), GPU
 * placement of the experts (experts/expertPlacement.ts), the expert cache
 * (cache/startExpertCache.ts), the routing trace (routing/RoutingTrace.ts), and the FIM format
 * (completion/modelFim.ts), so the status and the prompts agree.
 */
import type { LlamaContext, LlamaModel } from "node-llama-cpp";
import { type ExpertCacheStart, startExpertCache } from "../cache/startExpertCache";
import { modelFim } from "../completion/modelFim";
import { chooseK, routingText } from "../experts/expertCount";
import { placeExperts } from "../experts/expertPlacement";
import { nextLayerPredictionLimit } from "../experts/routingSupport";
import type { Logger } from "../log";
import { chatModelFit } from "../models/chatModelFit";
import { embeddedModelPath, isEmbeddedModel, verifyEmbeddedModel } from "../models/embeddedModel";
import { repetitionPriorChoice } from "../completion/repetitionPrior";
import { inspectModel } from "../models/inspectModel";
import type { Settings } from "../protocol";
import { RoutingTrace } from "../routing/RoutingTrace";
import type { ComputeLane } from "./ComputeLane";
import { type LlamaRuntime, loadModelFile } from "./llama";
import { contextSize, expertModel, LocalBackend } from "./LocalBackend";
import { sequenceOf, speculationChoice } from "../speculation/LookupPredictor";
import { NativeMoeContext } from "./nativeMoe";
import { createTokenDecoder, vocabularyTexts } from "./tokenText";
import { vocabularyIndex } from "../completion/tokenHealing";

export type LoadProgress = (message: string, percentage: number) => void;

/** A load that a newer load replaced: not an error to show. */
export class SupersededLoadError extends Error {
    override readonly name = "SupersededLoadError";
    constructor() {
        super("a newer model load replaced this one");
    }
}

export type LocalLoad = {
    settings: Settings;
    extensionRoot: string;
    runtime: LlamaRuntime;
    lane: ComputeLane;
    log: Logger;
    generation: number;
    /** True once a newer load started: this one stops at its next step. */
    superseded(): boolean;
    progress: LoadProgress;
};

export async function loadLocalBackend(load: LocalLoad): Promise<{ backend: LocalBackend; warnings: string[] }> {
    const { settings, log, progress } = load;
    const warnings: string[] = [];
    const warn = (warning: string | undefined) => warning && warnings.push(warning);

    const modelPath = settings.modelPath || embeddedModelPath(load.extensionRoot);
    progress("Inspecting model file", 5);
    const inspection = await inspectModel(modelPath);
    const embedded = isEmbeddedModel(modelPath, load.extensionRoot);
    if (embedded) await verifyEmbeddedModel(modelPath);
    const fit = await chatModelFit(inspection, settings);
    warn(fit.warning);
    const chatModel = fit.chat;

    progress("Starting llama.cpp", 15);
    const llama = await load.runtime.get();
    const nativeBuild = NativeMoeContext.isAvailable(llama);
    log.info(
        `llama.cpp: ${llama.buildType === "localBuild" ? "local build" : "prebuilt binaries"}, native MoE runtime ${nativeBuild ? "on" : "off"}`
    );
    const threads = settings.threads || Math.max(1, llama.cpuMathCores - 1);
    const native = inspection.expertCount > 0 && nativeBuild;
    const choice = chooseK(
        expertModel(inspection),
        "completion",
        settings.completion.experts,
        native,
        "moePilot.completion.experts"
    );
    warn(choice.warning);

    const placement = placeExperts(llama, inspection, settings.gpu.expertsOnCpu);
    warn(placement.warning);
    if (placement.log) log.info(placement.log);

    progress(`Loading ${inspection.name}`, 30);
    const instanceK = native ? inspection.trainedK : choice.k;
    const model = await loadModelFile(llama, inspection, instanceK);
    const instances = new Map<string, LlamaModel>([[`${inspection.path}#${instanceK}`, model]]);
    // What this load holds so far, released if a later step fails or a newer load supersedes it.
    let cache: ExpertCacheStart | undefined;
    let context: LlamaContext | undefined;
    const release = async () => {
        cache?.cache?.dispose();
        await context?.dispose();
        for (const m of instances.values()) await m.dispose();
    };
    try {
        if (load.superseded()) throw new SupersededLoadError();
        cache = startExpertCache(llama, inspection, settings.memory, native);
        warn(cache.warning);
        const predictionLimit = nextLayerPredictionLimit(inspection.fileInfo);
        const predictNextLayer = settings.memory.prefetchNextLayer && !predictionLimit;
        if (cache.cache && settings.memory.prefetchNextLayer && predictionLimit)
            warn(
                `Next-layer prediction (moePilot.memory.prefetchNextLayer) is off for ${inspection.name}: ${predictionLimit}.`
            );
        if (cache.log) log.info(cache.log);
        progress("Creating completion context", 80);
        context = await model.createContext({ contextSize: contextSize(settings, inspection), threads, sequences: 1 });
        if (load.superseded()) throw new SupersededLoadError();

        const moe = native ? NativeMoeContext.of(context, inspection.expertCount) : undefined;
        moe?.route(choice);
        const trace = moe
            ? new RoutingTrace(
                  { completion: inspection, chat: chatModel ?? inspection },
                  cache.cache
                      ? {
                            instance: cache.cache,
                            path: inspection.path,
                            predictNextLayer
                        }
                      : undefined,
                  log
              )
            : undefined;
        if (moe) trace?.attach(moe, inspection.path, inspection.expertCount);
        const { fim, tokenizer } = modelFim(model);
        const decode = createTokenDecoder(model, inspection.fileInfo);
        const vocabulary = vocabularyTexts(inspection.fileInfo, decode);
        vocabularyIndex(vocabulary); // token healing's look-ups, made now rather than at the first completion
        log.info(`completion prompt format: ${fim.source} (${fim.family}, ${fim.order.toUpperCase()})`);
        log.info(
            `loaded ${inspection.path} (${inspection.architecture}, ${inspection.expertCount} experts, completion ${routingText(choice)}, ${choice.mode}), context ${context.contextSize} tokens, ${threads} threads`
        );

        const speculation = speculationChoice({
            enabled: settings.speculativeDecoding,
            llama,
            fileInfo: inspection.fileInfo,
            expertsUsed: choice.k || inspection.trainedK
        });
        const repetition = repetitionPriorChoice(settings.completion.repetitionPrior, embedded);
        log.info(`completion repetition prior: ${repetition.on ? "on" : "off"} (${repetition.reason})`);
        const backend = new LocalBackend({
            llama,
            lane: load.lane,
            log,
            settings,
            threads,
            native,
            generation: load.generation,
            completionModel: inspection,
            chatModel,
            instances,
            completion: {
                model,
                context,
                sequence: sequenceOf(context, speculation, moe),
                speculation: {
                    on: speculation.on,
                    reason:
                        speculation.on && repetition.on
                            ? `${speculation.reason}; completion drafts off: the repetition prior is on`
                            : speculation.reason
                },
                repetitionPrior: repetition.on,
                decode,
                fim,
                tokenizer,
                vocabulary,
                moe
            },
            completionK: choice.k,
            trace,
            cache: { instance: cache.cache, status: cache.status },
            status: {
                completionK: choice.k,
                completionAdaptive: choice.adaptive,
                expertMode: choice.mode,
                model: {
                    name: inspection.name,
                    path: inspection.path,
                    architecture: inspection.architecture,
                    sizeBytes: inspection.sizeBytes,
                    isMoe: inspection.expertCount > 0,
                    expertCount: inspection.expertCount,
                    trainedK: inspection.trainedK,
                    fimSource: fim.source,
                    isEmbedded: embedded,
                    chat: chatModel
                        ? {
                              name: chatModel.name,
                              path: chatModel.path,
                              isMoe: chatModel.expertCount > 0,
                              expertCount: chatModel.expertCount,
                              trainedK: chatModel.trainedK
                          }
                        : undefined
                }
            }
        });
        return { backend, warnings };
    } catch (e: unknown) {
        await release();
        throw e;
    }
}
