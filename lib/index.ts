/** prism-whisper: a warm whisper.cpp inside Node. */

export { readAudio } from './audio/read.js';
export { WHISPER_RATE } from './audio/resample.js';
export { samplePath } from './audio/sample.js';
export { decodeWav, encodeWav } from './audio/wav.js';
export type { Engine, EngineEvent, EngineInfo, EngineStatus } from './engine/contract.js';
export type { FinalEvent, PartialEvent, StreamEvent } from './engine/stream/events.js';
export type { StreamOptions } from './engine/stream/options.js';
export { type StreamStats, streamTranscription, TranscriptionStream } from './engine/stream/stream.js';
export { AbortError, ERROR_CODES, ERROR_TABLE, isErrorCode, WhisperError, type WhisperErrorCode } from './errors.js';
export { autoAudioCtx, type LoadOptions, loadModel, type ModelInfo, type Segment, type Timings, type TranscribeOptions, type Transcript, WhisperModel } from './model.js';
export { cachedModelPath, modelCacheDir } from './models/cache.js';
export { type DownloadOptions, type DownloadProgress, type DownloadResult, download } from './models/download.js';
export { makeTestModel, type TestModelInfo, type TestModelOptions } from './models/generate/testModel.js';
export { inspectModelFile, type ModelFileInfo } from './models/inspect.js';
export { type ModelSource, modelSource, type PullOptions, pullModel, resolveModel } from './models/pull.js';
export { modelUrl, REGISTRY, type RegistryEntry, registryEntry } from './models/registry.js';
export { MODEL_SIZES, type ModelSize } from './models/shapes.js';
export { ServiceEngine, type ServiceHealth } from './service/serviceEngine.js';
