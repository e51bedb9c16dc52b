// atc: anomaly threshold calibration for crypto-derivatives market data. The public API.
export { Engine, EngineError, decodeAlert, describeError } from './engine.js';
export type { Alert, IngestResult, EngineOptions, BatchRegion } from './engine.js';
export { EventBatch, toNanos } from './events.js';
export type { Nanos } from './events.js';
export { ConfigError, defaultConfig, resolveConfig, encodeConfig } from './config.js';
export type { Config, ConfigInput, FeatureConfig, ThresholdConfig } from './config.js';
export { Registry } from './registry.js';
export { FEATURES, DETECTORS, MODES, REGIMES, REJECT_REASONS, Kind, ABI_VERSION } from './abi.js';
export type { FeatureName, DetectorName, ModeName, RegimeName, RejectReason, KindName } from './abi.js';
export { wasmPath } from './wasm/load.js';
// Reading recorded data: format detection, and one streaming reader per format (each yields EventBatch chunks).
export { openInput, detectFileFormat, UnknownFormatError } from './adapters/index.js';
export { BinanceReader } from './adapters/binance.js';
export { DeribitReader } from './adapters/deribit.js';
export { NdjsonReader, parseCanonicalEvent, formatCanonicalEvent } from './adapters/ndjson.js';
export { CsvReader } from './adapters/csv.js';
export { InstrumentCatalog } from './instruments.js';
