// The sidecar's WebSocket protocol, version 1 (docs/protocol.md, "The sidecar WebSocket protocol").
export * from './columns.js';
export * from './messages.js';
export { FrameDecoder, decodeSubscribe, decodeServerMessage, type FrameDecoderOptions, type IsRegistered } from './decode.js';
export * from './encode.js';
