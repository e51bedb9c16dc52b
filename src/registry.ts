// Instrument names <-> stable u32 ids. One registry is shared by replay, the server and snapshots.
export class Registry {
  #ids = new Map<string, number>();
  #names: string[] = [];

  /** The id of `name`, assigning the next free id on first sight. */
  id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      if (name.length === 0) throw new Error('registry: instrument name must not be empty');
      id = this.#names.length;
      this.#ids.set(name, id);
      this.#names.push(name);
    }
    return id;
  }
  has(name: string): boolean { return this.#ids.has(name); }
  name(id: number): string { return this.#names[id] ?? `#${id}`; }
  get size(): number { return this.#names.length; }
  toJSON(): string[] { return [...this.#names]; }
  static fromJSON(names: string[]): Registry {
    const r = new Registry();
    for (const n of names) r.id(n);
    return r;
  }
}
