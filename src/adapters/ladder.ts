// One side of an order book: price levels sorted by an integer key, each with an integer size, in a B+tree
// whose nodes live in typed arrays. A book's side is now a BookSide (book-side.ts), which keeps its best levels in a
// dense window and the levels past it here; a Ladder alone is its reference in test/book-side.test.ts. O(log n) to set a level (insert, change or remove), O(1) to read the best,
// O(log n) for the summed size of every level up to a key, and no allocation once the pools have grown to the
// book's largest size.
//
// Why a B+tree and not a sorted array: in the real captures (../shared/data/binance) levels are inserted and
// removed all over the book, not only near the touch: a new or vanished level sits on average 514 levels from the
// best (USD-M BTCUSDT, books of up to 5,170 levels a side), so a sorted array would move ~500 entries per change.
// And a depth "within 10 bps of the mid" spans ~380 levels a side there, so summing it by walking levels after
// every diff would cost more than the diff: interior nodes keep the summed size of each child, and the sum up to
// a key is one descent.
//
// Keys and sizes are integers held in doubles (exact below 2^53): prices in ticks and sizes in lots, as the book
// parses them from their decimal strings, so that equality of prices is exact and depth sums are exact whatever
// the order of additions. Keys ascend from the best: a bid side stores negated prices.
//
// Layout: leaves hold up to B entries (keys and sizes side by side per leaf) and a link to the next leaf; interior
// nodes hold up to B children with, per child, a lower bound of its keys and the summed size under it. The lower
// bound of child 0 is the node's own lower bound (-Infinity at the root), so that moving children between
// siblings carries their bounds along.

/**
 * Entries per leaf and children per interior node. Measured on the captures' book operations (replayed into two
 * sides): 32 with a linear scan of the leaf beat 16, 64 and 128, and binary search in the leaf, by 5-15%; the
 * scan's one predictable branch per entry costs less than a binary search's mispredicted ones at this size. A book
 * side of 5,000 levels is then three levels deep.
 */
const B = 32;
/** A node below this many entries borrows from or merges with a sibling. */
const MIN_FILL = B / 4;
/** Two siblings merge when together they leave a quarter of a node free, so the merged node is not split again
 *  by the next few inserts. */
const MERGE_MAX = B - MIN_FILL;
const MAX_HEIGHT = 16;
const NONE = -1;

export class Ladder {
  // Leaves: entry j of leaf l is at l * B + j.
  #keys: Float64Array;
  #sizes: Float64Array;
  #count: Int32Array;
  #next: Int32Array;
  #leafCap: number;
  #leafTop = 0;
  #leafFree = NONE;
  // Interior nodes: child j of node x is at x * B + j.
  #bound: Float64Array;
  #child: Int32Array;
  #sum: Float64Array;
  #fanout: Int32Array;
  #nodeCap: number;
  #nodeTop = 0;
  #nodeFree = NONE;

  #root = 0;
  /** 0: the root is a leaf. */
  #height = 0;
  /** The leftmost leaf: the best level is its first entry. Merges keep the left node, so it never moves. */
  #head = 0;
  /**
   * The path of the last descent, by level (0 = the leaf, height = the root): the node, the child taken (levels >= 1)
   * and the range of keys [lo, hi) the node covers. A finger: the levels of a depth message come sorted best first,
   * so the next key often lies in the same leaf (53-62% of the captures' level updates) or the same parent (most of
   * the rest), and the next descent starts from the lowest node on this path that covers it instead of from the
   * root. Any change of the tree's shape makes it invalid.
   */
  readonly #pathNode = new Int32Array(MAX_HEIGHT + 1);
  readonly #pathIdx = new Int32Array(MAX_HEIGHT + 1);
  readonly #pathLo = new Float64Array(MAX_HEIGHT + 1);
  readonly #pathHi = new Float64Array(MAX_HEIGHT + 1);
  #fingerValid = false;

  /** Levels on this side. */
  length = 0;
  /** Summed size of all levels, in lots: a double from the start (-0), see KEEP_ALIVE. */
  total = -0;

  constructor(levelsHint = 4096) {
    this.#leafCap = Math.max(4, Math.ceil((2 * levelsHint) / B));
    this.#keys = new Float64Array(this.#leafCap * B);
    this.#sizes = new Float64Array(this.#leafCap * B);
    this.#count = new Int32Array(this.#leafCap);
    this.#next = new Int32Array(this.#leafCap);
    this.#nodeCap = Math.max(4, Math.ceil(this.#leafCap / 8));
    this.#bound = new Float64Array(this.#nodeCap * B);
    this.#child = new Int32Array(this.#nodeCap * B);
    this.#sum = new Float64Array(this.#nodeCap * B);
    this.#fanout = new Int32Array(this.#nodeCap);
    this.clear();
  }

  /** Remove every level; the pools are kept. */
  clear(): void {
    this.#fingerValid = false;
    this.#leafTop = 1;
    this.#leafFree = NONE;
    this.#nodeTop = 0;
    this.#nodeFree = NONE;
    this.#root = 0;
    this.#head = 0;
    this.#height = 0;
    this.#count[0] = 0;
    this.#next[0] = NONE;
    this.length = 0;
    this.total = -0;
  }

  /** Key of the best level (the smallest key); NaN when empty. */
  get bestKey(): number { return this.length > 0 ? this.#keys[this.#head * B] : NaN; }
  /** Size of the best level, lots; NaN when empty. */
  get bestSize(): number { return this.length > 0 ? this.#sizes[this.#head * B] : NaN; }

  /** Size at `key`, 0 when there is no such level. */
  get(key: number): number {
    const leaf = this.#descend(key);
    const i = this.#lowerBound(leaf, key);
    return i < this.#count[leaf] && this.#keys[leaf * B + i] === key ? this.#sizes[leaf * B + i] : 0;
  }

  /** Set the level at `key` to `size` lots; a size of 0 removes it (and is a no-op for an absent level). */
  set(key: number, size: number): void {
    const leaf = this.#descend(key);
    const base = leaf * B;
    const n = this.#count[leaf];
    const i = this.#lowerBound(leaf, key);
    const keys = this.#keys, sizes = this.#sizes;
    if (i < n && keys[base + i] === key) {
      const old = sizes[base + i];
      if (size > 0) {
        sizes[base + i] = size;
        this.#addUp(size - old);
        return;
      }
      for (let j = base + i; j < base + n - 1; j++) { keys[j] = keys[j + 1]; sizes[j] = sizes[j + 1]; }
      this.#count[leaf] = n - 1;
      this.length--;
      this.#addUp(-old);
      if (n - 1 < MIN_FILL && this.#height > 0) this.#rebalance(1);
      return;
    }
    if (size <= 0) return;
    if (n === B) { this.#insertSplitting(key, size); return; }
    for (let j = base + n; j > base + i; j--) { keys[j] = keys[j - 1]; sizes[j] = sizes[j - 1]; }
    keys[base + i] = key;
    sizes[base + i] = size;
    this.#count[leaf] = n + 1;
    this.length++;
    this.#addUp(size);
  }

  /**
   * set(keys[i], sizes[i]) for i in [0, n), in order: what a depth message does to a side. The common cases (a size
   * changed, a level removed from a leaf that stays full enough, one inserted into a leaf with room) run here in one
   * loop with the arrays in locals; the rest (a split, a rebalance) go through set().
   */
  setMany(keys: Float64Array, sizes: Float64Array, n: number): void {
    for (let m = 0; m < n; m++) {
      const key = keys[m], size = sizes[m];
      const leaf = this.#descend(key);
      const base = leaf * B;
      const cnt = this.#count[leaf];
      const lk = this.#keys, ls = this.#sizes;
      let i = base;
      const end = base + cnt;
      while (i < end && lk[i] < key) i++;
      if (i < end && lk[i] === key) {
        const old = ls[i];
        if (size > 0) {
          ls[i] = size;
          this.#addUp(size - old);
          continue;
        }
        if (cnt - 1 < MIN_FILL && this.#height > 0) { this.set(key, size); continue; }
        for (let j = i; j < end - 1; j++) { lk[j] = lk[j + 1]; ls[j] = ls[j + 1]; }
        this.#count[leaf] = cnt - 1;
        this.length--;
        this.#addUp(-old);
        continue;
      }
      if (size <= 0) continue;
      if (cnt === B) { this.#insertSplitting(key, size); continue; }
      for (let j = end; j > i; j--) { lk[j] = lk[j - 1]; ls[j] = ls[j - 1]; }
      lk[i] = key;
      ls[i] = size;
      this.#count[leaf] = cnt + 1;
      this.length++;
      this.#addUp(size);
    }
  }

  /** Summed size of the `n` best levels (all of them when fewer), lots. */
  sumBest(n: number): number {
    let acc = 0;
    let left = n;
    const sizes = this.#sizes, count = this.#count, next = this.#next;
    for (let leaf = this.#head; leaf !== NONE && left > 0; leaf = next[leaf]) {
      const m = Math.min(count[leaf], left);
      const base = leaf * B;
      for (let j = 0; j < m; j++) acc += sizes[base + j];
      left -= m;
    }
    return acc;
  }

  /** Summed size of every level whose key is <= `bound`, lots: one descent, adding the sums of the subtrees left of it. */
  sumUpTo(bound: number): number {
    let acc = 0;
    let node = this.#root;
    const sums = this.#sum, child = this.#child;
    for (let h = this.#height; h > 0; h--) {
      const base = node * B;
      const j = this.#route(node, bound);
      for (let c = base; c < base + j; c++) acc += sums[c];
      node = child[base + j];
    }
    const base = node * B, n = this.#count[node], keys = this.#keys, sizes = this.#sizes;
    for (let j = base; j < base + n && keys[j] <= bound; j++) acc += sizes[j];
    return acc;
  }

  /** Number of levels whose key is <= `bound` (a walk from the best: for tests and statistics, not the hot path). */
  countUpTo(bound: number): number {
    let c = 0;
    for (let leaf = this.#head; leaf !== NONE; leaf = this.#next[leaf]) {
      const base = leaf * B, n = this.#count[leaf];
      for (let j = 0; j < n; j++) { if (this.#keys[base + j] > bound) return c; c++; }
    }
    return c;
  }

  /** Multiply every key (a finer price tick) or every size (a finer lot) by `factor`, an integer. O(n). */
  rescale(keyFactor: number, sizeFactor: number): void {
    this.#fingerValid = false;
    for (let l = 0; l < this.#leafTop; l++) {
      const base = l * B, n = this.#count[l];
      for (let j = base; j < base + n; j++) { this.#keys[j] *= keyFactor; this.#sizes[j] *= sizeFactor; }
    }
    for (let x = 0; x < this.#nodeTop; x++) {
      const base = x * B, n = this.#fanout[x];
      for (let j = base; j < base + n; j++) { this.#bound[j] *= keyFactor; this.#sum[j] *= sizeFactor; }
    }
    this.total *= sizeFactor;
  }

  /** The largest |key| (0 when empty): O(n), for the rare rescale's overflow check. */
  maxAbsKey(): number {
    let m = 0;
    for (let leaf = this.#head; leaf !== NONE; leaf = this.#next[leaf]) {
      const base = leaf * B, n = this.#count[leaf];
      for (let j = base; j < base + n; j++) m = Math.max(m, Math.abs(this.#keys[j]));
    }
    return m;
  }

  /** Calls fn(key, size) for every level, best first. */
  forEach(fn: (key: number, size: number) => void): void {
    for (let leaf = this.#head; leaf !== NONE; leaf = this.#next[leaf]) {
      const base = leaf * B, n = this.#count[leaf];
      for (let j = base; j < base + n; j++) fn(this.#keys[j], this.#sizes[j]);
    }
  }

  /**
   * Checks every invariant (order, bounds, per-child sums, fill, the leaf chain) and returns the first violation,
   * or '' when there is none. For tests: O(n).
   */
  check(): string {
    let leaves = 0, levels = 0, total = 0;
    const visit = (node: number, h: number, lo: number, hi: number, isRoot: boolean): [number, string] => {
      if (h === 0) {
        leaves++;
        const base = node * B, n = this.#count[node];
        if (!isRoot && n < MIN_FILL) return [0, `leaf ${node} holds ${n} < ${MIN_FILL} entries`];
        let s = 0;
        for (let j = 0; j < n; j++) {
          const k = this.#keys[base + j];
          if (!(k >= lo && k < hi)) return [0, `leaf ${node} key ${k} outside [${lo}, ${hi})`];
          if (j > 0 && !(k > this.#keys[base + j - 1])) return [0, `leaf ${node} keys not increasing at ${j}`];
          if (!(this.#sizes[base + j] > 0)) return [0, `leaf ${node} holds a size of ${this.#sizes[base + j]}`];
          s += this.#sizes[base + j];
        }
        levels += n;
        return [s, ''];
      }
      const base = node * B, n = this.#fanout[node];
      if (n < (isRoot ? 2 : MIN_FILL)) return [0, `node ${node} has ${n} children`];
      if (this.#bound[base] !== lo) return [0, `node ${node} lower bound ${this.#bound[base]} != ${lo}`];
      let s = 0;
      for (let j = 0; j < n; j++) {
        const clo = this.#bound[base + j];
        const chi = j + 1 < n ? this.#bound[base + j + 1] : hi;
        if (j > 0 && !(clo > this.#bound[base + j - 1])) return [0, `node ${node} bounds not increasing at ${j}`];
        const [cs, err] = visit(this.#child[base + j], h - 1, clo, chi, false);
        if (err) return [0, err];
        if (cs !== this.#sum[base + j]) return [0, `node ${node} child ${j} sum ${this.#sum[base + j]} != ${cs}`];
        s += cs;
      }
      return [s, ''];
    };
    const [s, err] = visit(this.#root, this.#height, -Infinity, Infinity, true);
    if (err) return err;
    total = s;
    if (levels !== this.length) return `length ${this.length} != ${levels} levels`;
    if (total !== this.total) return `total ${this.total} != ${total}`;
    let chained = 0, prev = -Infinity;
    for (let leaf = this.#head; leaf !== NONE; leaf = this.#next[leaf]) {
      chained++;
      const base = leaf * B;
      for (let j = 0; j < this.#count[leaf]; j++) {
        if (!(this.#keys[base + j] > prev)) return `leaf chain out of order at leaf ${leaf}`;
        prev = this.#keys[base + j];
      }
    }
    if (chained !== leaves) return `leaf chain holds ${chained} leaves, the tree ${leaves}`;
    return '';
  }

  /** Tree height (0: one leaf): for tests of the rebalancing. */
  get height(): number { return this.#height; }

  // ---- internals ---------------------------------------------------------------------------------------------

  /** Index of the child of `node` whose range holds `key`: the last child whose lower bound is <= key (0 if none). */
  #route(node: number, key: number): number {
    const base = node * B;
    let lo = 1, hi = this.#fanout[node];
    const bounds = this.#bound;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[base + mid] <= key) lo = mid + 1; else hi = mid;
    }
    return lo - 1;
  }

  /** First index in `leaf` whose key is >= key (a linear scan: see B). */
  #lowerBound(leaf: number, key: number): number {
    const base = leaf * B;
    const end = base + this.#count[leaf];
    const keys = this.#keys;
    let i = base;
    while (i < end && keys[i] < key) i++;
    return i - base;
  }

  /** The leaf whose range holds `key`, recording the path to it (from the finger when it covers the key). */
  #descend(key: number): number {
    const height = this.#height;
    const nodes = this.#pathNode, idx = this.#pathIdx, lo = this.#pathLo, hi = this.#pathHi;
    let h = height;
    if (this.#fingerValid) {
      h = 0;
      while (h < height && !(lo[h] <= key && key < hi[h])) h++;
    } else {
      nodes[height] = this.#root;
      lo[height] = -Infinity;
      hi[height] = Infinity;
      this.#fingerValid = true;
    }
    const bounds = this.#bound, child = this.#child, fanout = this.#fanout;
    for (; h > 0; h--) {
      const node = nodes[h];
      const j = this.#route(node, key);
      const base = node * B;
      idx[h] = j;
      nodes[h - 1] = child[base + j];
      lo[h - 1] = bounds[base + j];
      hi[h - 1] = j + 1 < fanout[node] ? bounds[base + j + 1] : hi[h];
    }
    return nodes[0];
  }

  /** Add `delta` lots to the per-child sums along the last descent's path, and to the total. */
  #addUp(delta: number): void {
    for (let h = 1; h <= this.#height; h++) this.#sum[this.#pathNode[h] * B + this.#pathIdx[h]] += delta;
    this.total += delta;
  }

  /**
   * Insert into a full leaf: split the lowest full node on the path whose parent has room (growing a new root
   * when every node up to the root is full), then descend again. Each pass splits one node, so at most height + 1
   * passes; splits happen once per B/2 inserts into a leaf, so this path is rare.
   */
  #insertSplitting(key: number, size: number): void {
    for (;;) {
      const leaf = this.#descend(key);
      if (this.#count[leaf] < B) { this.set(key, size); return; }
      let h = 1;
      while (h <= this.#height && this.#fanout[this.#pathNode[h]] === B) h++;
      if (h > this.#height) { this.#growRoot(); continue; }
      this.#splitChild(this.#pathNode[h], this.#pathIdx[h], h - 1);
    }
  }

  #growRoot(): void {
    this.#fingerValid = false;
    const r = this.#allocNode();
    const base = r * B;
    this.#bound[base] = -Infinity;
    this.#child[base] = this.#root;
    this.#sum[base] = this.total;
    this.#fanout[r] = 1;
    this.#root = r;
    this.#height++;
  }

  /** Split child j of interior node `parent` (a node at level `level`, 0 = leaf) in two halves; parent has room. */
  #splitChild(parent: number, j: number, level: number): void {
    this.#fingerValid = false;
    const half = B / 2;
    const left = this.#child[parent * B + j];
    let right: number, lowerBound: number, rightSum = 0;
    if (level === 0) {
      right = this.#allocLeaf();
      const keys = this.#keys, sizes = this.#sizes;
      const lb = left * B, rb = right * B, n = this.#count[left];
      for (let k = half; k < n; k++) {
        keys[rb + k - half] = keys[lb + k];
        sizes[rb + k - half] = sizes[lb + k];
        rightSum += sizes[lb + k];
      }
      this.#count[right] = n - half;
      this.#count[left] = half;
      this.#next[right] = this.#next[left];
      this.#next[left] = right;
      lowerBound = keys[rb];
    } else {
      right = this.#allocNode();
      const bounds = this.#bound, child = this.#child, sums = this.#sum;
      const lb = left * B, rb = right * B, n = this.#fanout[left];
      for (let k = half; k < n; k++) {
        bounds[rb + k - half] = bounds[lb + k];
        child[rb + k - half] = child[lb + k];
        sums[rb + k - half] = sums[lb + k];
        rightSum += sums[lb + k];
      }
      this.#fanout[right] = n - half;
      this.#fanout[left] = half;
      lowerBound = bounds[rb];
    }
    // Make room for the new child at j + 1 in the parent.
    const pb = parent * B, pn = this.#fanout[parent];
    const bounds = this.#bound, child = this.#child, sums = this.#sum;
    for (let k = pb + pn; k > pb + j + 1; k--) { bounds[k] = bounds[k - 1]; child[k] = child[k - 1]; sums[k] = sums[k - 1]; }
    bounds[pb + j + 1] = lowerBound;
    child[pb + j + 1] = right;
    sums[pb + j + 1] = rightSum;
    sums[pb + j] -= rightSum;
    this.#fanout[parent] = pn + 1;
  }

  /**
   * The node at level h - 1 on the last path (child pathIdx[h] of pathNode[h]) fell below MIN_FILL: merge it with
   * a sibling when the two fit in MERGE_MAX, else move entries over until both hold about the same; then go up if
   * the parent fell below MIN_FILL in turn, and drop a root left with a single child.
   */
  #rebalance(h: number): void {
    this.#fingerValid = false;
    for (; h <= this.#height; h++) {
      const parent = this.#pathNode[h];
      const pb = parent * B, pn = this.#fanout[parent];
      const j = this.#pathIdx[h];
      const li = j < pn - 1 ? j : j - 1; // the pair (li, li + 1): the right sibling when there is one
      const left = this.#child[pb + li], right = this.#child[pb + li + 1];
      const level = h - 1;
      const a = level === 0 ? this.#count[left] : this.#fanout[left];
      const b = level === 0 ? this.#count[right] : this.#fanout[right];
      if (a + b <= MERGE_MAX) {
        if (level === 0) this.#mergeLeaves(left, right); else this.#mergeNodes(left, right);
        const sums = this.#sum, bounds = this.#bound, child = this.#child;
        sums[pb + li] += sums[pb + li + 1];
        for (let k = pb + li + 1; k < pb + pn - 1; k++) { bounds[k] = bounds[k + 1]; child[k] = child[k + 1]; sums[k] = sums[k + 1]; }
        this.#fanout[parent] = pn - 1;
        if (parent === this.#root) {
          if (pn - 1 === 1) {
            // A root with one child is a level too many.
            this.#root = left;
            this.#height--;
            if (this.#height > 0) this.#bound[left * B] = -Infinity;
            this.#freeNode(parent);
          }
          return;
        }
        if (pn - 1 >= MIN_FILL) return;
      } else {
        this.#redistribute(parent, li, level, a, b);
        return;
      }
    }
  }

  #mergeLeaves(left: number, right: number): void {
    const keys = this.#keys, sizes = this.#sizes;
    const lb = left * B, rb = right * B, a = this.#count[left], b = this.#count[right];
    for (let k = 0; k < b; k++) { keys[lb + a + k] = keys[rb + k]; sizes[lb + a + k] = sizes[rb + k]; }
    this.#count[left] = a + b;
    this.#next[left] = this.#next[right];
    this.#freeLeaf(right);
  }

  #mergeNodes(left: number, right: number): void {
    const bounds = this.#bound, child = this.#child, sums = this.#sum;
    const lb = left * B, rb = right * B, a = this.#fanout[left], b = this.#fanout[right];
    // The right node's own lower bound (its child 0's) equals the parent's bound for it: carried over as is.
    for (let k = 0; k < b; k++) { bounds[lb + a + k] = bounds[rb + k]; child[lb + a + k] = child[rb + k]; sums[lb + a + k] = sums[rb + k]; }
    this.#fanout[left] = a + b;
    this.#freeNode(right);
  }

  /** Even out children li and li + 1 of `parent` (a and b entries), fixing the bound between them and their sums. */
  #redistribute(parent: number, li: number, level: number, a: number, b: number): void {
    const pb = parent * B;
    const left = this.#child[pb + li], right = this.#child[pb + li + 1];
    const lb = left * B, rb = right * B;
    let moved = 0;
    if (level === 0) {
      const keys = this.#keys, sizes = this.#sizes;
      if (a < b) {
        const k = (b - a) >> 1;
        for (let t = 0; t < k; t++) { keys[lb + a + t] = keys[rb + t]; sizes[lb + a + t] = sizes[rb + t]; moved += sizes[rb + t]; }
        for (let t = 0; t < b - k; t++) { keys[rb + t] = keys[rb + t + k]; sizes[rb + t] = sizes[rb + t + k]; }
        this.#count[left] = a + k; this.#count[right] = b - k;
        this.#sum[pb + li] += moved; this.#sum[pb + li + 1] -= moved;
      } else {
        const k = (a - b) >> 1;
        for (let t = b - 1; t >= 0; t--) { keys[rb + t + k] = keys[rb + t]; sizes[rb + t + k] = sizes[rb + t]; }
        for (let t = 0; t < k; t++) { keys[rb + t] = keys[lb + a - k + t]; sizes[rb + t] = sizes[lb + a - k + t]; moved += sizes[rb + t]; }
        this.#count[left] = a - k; this.#count[right] = b + k;
        this.#sum[pb + li] -= moved; this.#sum[pb + li + 1] += moved;
      }
      this.#bound[pb + li + 1] = keys[rb];
    } else {
      const bounds = this.#bound, child = this.#child, sums = this.#sum;
      if (a < b) {
        const k = (b - a) >> 1;
        for (let t = 0; t < k; t++) { bounds[lb + a + t] = bounds[rb + t]; child[lb + a + t] = child[rb + t]; sums[lb + a + t] = sums[rb + t]; moved += sums[rb + t]; }
        for (let t = 0; t < b - k; t++) { bounds[rb + t] = bounds[rb + t + k]; child[rb + t] = child[rb + t + k]; sums[rb + t] = sums[rb + t + k]; }
        this.#fanout[left] = a + k; this.#fanout[right] = b - k;
        sums[pb + li] += moved; sums[pb + li + 1] -= moved;
      } else {
        const k = (a - b) >> 1;
        for (let t = b - 1; t >= 0; t--) { bounds[rb + t + k] = bounds[rb + t]; child[rb + t + k] = child[rb + t]; sums[rb + t + k] = sums[rb + t]; }
        for (let t = 0; t < k; t++) { bounds[rb + t] = bounds[lb + a - k + t]; child[rb + t] = child[lb + a - k + t]; sums[rb + t] = sums[lb + a - k + t]; moved += sums[rb + t]; }
        this.#fanout[left] = a - k; this.#fanout[right] = b + k;
        sums[pb + li] -= moved; sums[pb + li + 1] += moved;
      }
      // The right node's lower bound is its new first child's.
      bounds[pb + li + 1] = bounds[rb];
    }
  }

  #allocLeaf(): number {
    if (this.#leafFree !== NONE) {
      const l = this.#leafFree;
      this.#leafFree = this.#next[l];
      return l;
    }
    if (this.#leafTop === this.#leafCap) {
      // The only allocation: the book reached a size it never had. Doubling keeps it amortised O(1).
      const cap = this.#leafCap * 2;
      this.#keys = grow(this.#keys, cap * B);
      this.#sizes = grow(this.#sizes, cap * B);
      this.#count = growI(this.#count, cap);
      this.#next = growI(this.#next, cap);
      this.#leafCap = cap;
    }
    return this.#leafTop++;
  }

  #freeLeaf(l: number): void {
    this.#count[l] = 0;
    this.#next[l] = this.#leafFree;
    this.#leafFree = l;
  }

  #allocNode(): number {
    if (this.#nodeFree !== NONE) {
      const x = this.#nodeFree;
      this.#nodeFree = this.#child[x * B];
      return x;
    }
    if (this.#nodeTop === this.#nodeCap) {
      const cap = this.#nodeCap * 2;
      this.#bound = grow(this.#bound, cap * B);
      this.#child = growI(this.#child, cap * B);
      this.#sum = grow(this.#sum, cap * B);
      this.#fanout = growI(this.#fanout, cap);
      this.#nodeCap = cap;
    }
    return this.#nodeTop++;
  }

  #freeNode(x: number): void {
    this.#fanout[x] = 0;
    this.#child[x * B] = this.#nodeFree;
    this.#nodeFree = x;
  }
}

function grow(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function growI(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

// ---- Keeping V8's hidden classes alive -------------------------------------------------------------------------
// V8 drops the hidden class (map) of a class when no instance has it any more, and throws away the optimised code
// that was built for it; the next instance gets a new map, and the methods are optimised again into slower code.
// A replay of many files, or a benchmark that collects garbage between runs, then ran 20-80% slower (measured on
// the captures' book operations and on whole replays). One instance that lives as long as the module keeps the map,
// and fields that start as the kind of number they will hold (a double where values pass 2^31) keep it from being
// replaced by a new one when a field's representation changes.
export const KEEP_ALIVE: readonly Ladder[] = [new Ladder(1)];
