// Checkpoint formats: loaders the model registry plugs in (format detection lives in model/detect.ts) and the
// writers `bench convert` uses.
export {
  GGUF_OUT_TYPES,
  type GgufOutType,
  type SafetensorsOutType,
  writeHfFolder,
  writeModelGguf,
  writeModelSafetensors,
} from './convert.ts';
export { GgmlType, ggmlTypeName } from './ggml-types.ts';
export { type GgufFile, type GgufMetadata, readGguf } from './gguf.ts';
export { type GgufLoadedModel, loadGguf } from './gguf-model.ts';
export { type GenerationDefaults, type HfLoadedModel, loadHfFolder, loadSafetensorsFile } from './hf.ts';
export { readSafetensors } from './safetensors.ts';
