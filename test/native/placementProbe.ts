/**
 * Child process for the experts-on-CPU test: sets the placement for `setting` through the native
 * runtime, loads the model with llama.cpp's debug log on and prints JSON: whether the overrides
 * were accepted, the tensors llama.cpp reports as overridden (its own log line, so this is what
 * reached the loader), and the error an unknown buffer name gets.
 *   node --import tsx test/native/placementProbe.ts <model.gguf> <off|all|N>
 */
import { LlamaLogLevel, getLlama, readGgufFileInfo } from "node-llama-cpp";
import { expertPlacementOverrides } from "../../server/experts/expertPlacement";
import { NativeMoeContext, llamaBinaries } from "../../server/engine/nativeMoe";

const [modelPath, setting] = process.argv.slice(2) as [string, string];
const overridden: string[] = [];
const llama = await getLlama({
    ...llamaBinaries(),
    progressLogs: false,
    logLevel: LlamaLogLevel.debug,
    logger: (_level, message) => {
        const m = /tensor (\S+) \(.*\) buffer type overridden to (\S+)/.exec(message);
        if (m) overridden.push(`${m[1]}=${m[2]}`);
    }
});
const layerCount = Number((await readGgufFileInfo(modelPath)).architectureMetadata.block_count);
const overrides = expertPlacementOverrides(
    setting === "off" || setting === "all" ? setting : Number(setting),
    layerCount
);
const accepted = NativeMoeContext.setTensorOverrides(llama, overrides);
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
await model.dispose();

let unknownBuffer: string | undefined;
try {
    NativeMoeContext.setTensorOverrides(llama, [{ pattern: "x", buffer: "NO-SUCH-BUFFER" }]);
} catch (e) {
    unknownBuffer = e instanceof Error ? e.message : String(e);
}
NativeMoeContext.setTensorOverrides(llama, []);
process.stdout.write(JSON.stringify({ accepted, overridden, unknownBuffer }));
await llama.dispose();
