/** A binary min-heap ordered by `at`, for lease expiry. */
export interface HeapItem {
  readonly at: number;
}

/** Binary min-heap on `at`. */
export class MinHeap<T extends HeapItem> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as T;
      if (parent.at <= item.at) break;
      a[i] = parent;
      i = p;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (a[r] as T).at < (a[l] as T).at ? r : l;
        if ((a[c] as T).at >= last.at) break;
        a[i] = a[c] as T;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  /** The first item (in heap order, not by `at`) for which `test` is true (O(n)). */
  find(test: (item: T) => boolean): T | undefined {
    return this.items.find(test);
  }

  /** Keep only the items for which `keep` is true (O(n) rebuild). */
  filter(keep: (item: T) => boolean): void {
    const old = this.items;
    this.items = [];
    for (const it of old) if (keep(it)) this.push(it);
  }
}
