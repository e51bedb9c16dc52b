// The Binance replay's WebAssembly module (build/binance.wasm): the byte scanner's fast path and the order book's
// window kernels, in one module so that the book reads the levels where the scanner wrote them (one memory, no
// copies). Host: src/wasm/binance.ts. Twins: BinanceScanner's TypeScript scanner, BookSide and OrderBook.#derive.
export { scan_line, scan_timed, scan_layout, scan_heap_base } from "./binance-scan";
export { side_apply, book_derive } from "./book-window";
