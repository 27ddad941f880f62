/**
 * Byte strings by slot number, packed into large pages outside the V8 heap.
 *
 * Why: a million users' states as a million heap strings (or Uint8Arrays) cost the garbage
 * collector a copy of every byte when restore promotes them and a mark of every object at each
 * major collection, repeated as the heap grows: 17 % of a 1,000,000-user restore. In pages, the
 * values are a few hundred Buffers and the collector never touches their bytes.
 *
 * Contract:
 * - A slot holds one value (length ≥ 0) until released; slot numbers are reused after release.
 * - `view` is valid only until the next `write`, `release` or `newSlot` call (a write may move any
 *   value while it compacts a page); `copy` gives bytes the caller owns.
 * - A value is written in place when it fits the slot's capacity. A first write gets exactly its
 *   length (restore writes each value once); a value that outgrows its slot gets 1/8 headroom.
 * - A page whose live bytes fall under half is emptied into the current page (checked when a value
 *   leaves it, and when it stops being the current page), so dead bytes stay under about half of
 *   the pages' total.
 * - `adopt` (restore's path) keeps a value where it already is when its ArrayBuffer is large (a
 *   kafkajs fetch response): that ArrayBuffer becomes a page, and the caller must not change or
 *   reuse its bytes afterwards. It saves a copy of every restored byte and the page faults of
 *   fresh pages for them (write was 13–15 % of a 1,000,000-user restore's CPU). The page being
 *   adopted into is checked, like the current page, once another takes its place or a value is
 *   written or released, so a fetch mostly of values that later records replace is emptied too.
 */

/** Bytes per page (a larger value gets a page of its own). */
export const PAGE_BYTES = 1024 * 1024;

/**
 * Smallest ArrayBuffer `adopt` keeps as a page; a value in a smaller one is copied. Node hands out
 * small Buffers from a shared 8 KiB pool, whose other bytes belong to unrelated code.
 */
export const ADOPT_MIN_BYTES = 256 * 1024;

const NO_PAGE = -1;
const EMPTY = new Uint8Array(0);

export class ValuePages {
  /**
   * @param pageSize bytes per page (tests use small pages to exercise compaction)
   * @param adoptMinBytes see ADOPT_MIN_BYTES (tests adopt smaller buffers)
   */
  constructor(
    private readonly pageSize: number = PAGE_BYTES,
    private readonly adoptMinBytes: number = ADOPT_MIN_BYTES,
  ) {}

  private pages: (Buffer | null)[] = [];
  /** Live capacity in each page (bytes reserved by slots). */
  private pageLive: number[] = [];
  private readonly freePages: number[] = [];
  private current = NO_PAGE;
  /** Next free byte of the current page. */
  private top = 0;
  /** The page over each adopted ArrayBuffer still held. */
  private readonly adoptedPage = new WeakMap<ArrayBuffer, number>();
  /** The adopted page values are being adopted into (NO_PAGE: none); not checked until retired. */
  private filling = NO_PAGE;

  private pageOf = new Int32Array(1024).fill(NO_PAGE);
  private offsetOf = new Int32Array(1024);
  private lengthOf = new Int32Array(1024);
  private capacityOf = new Int32Array(1024);
  private slotsUsed = 0;
  private readonly freeSlots: number[] = [];
  private totalLength = 0;

  /** Sum of the values' lengths (bytes). */
  get valueBytes(): number {
    return this.totalLength;
  }

  /** Bytes held in pages, dead space included. */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.pages) n += p?.length ?? 0;
    return n;
  }

  /** A new slot holding the empty value. */
  newSlot(): number {
    const slot = this.freeSlots.pop() ?? this.slotsUsed++;
    if (slot >= this.pageOf.length) this.grow();
    this.pageOf[slot] = NO_PAGE;
    this.offsetOf[slot] = 0;
    this.lengthOf[slot] = 0;
    this.capacityOf[slot] = 0;
    return slot;
  }

  /** Sets the slot's value to `src` from byte `from` on. */
  write(slot: number, src: Uint8Array, from = 0): void {
    if (this.filling !== NO_PAGE) this.retireFilling();
    const len = src.length - from;
    const cap = this.capacityOf[slot] as number;
    if (len > cap) {
      this.free(slot);
      const fresh = cap === 0;
      this.place(slot, fresh ? len : len + (len >> 3));
    }
    const page = this.pages[this.pageOf[slot] as number];
    if (len > 0 && page) page.set(from === 0 ? src : src.subarray(from), this.offsetOf[slot]);
    this.totalLength += len - (this.lengthOf[slot] as number);
    this.lengthOf[slot] = len;
  }

  /**
   * Sets the slot's value to `src` from byte `from` on, keeping `src`'s memory when its ArrayBuffer
   * has at least `adoptMinBytes` (copying it otherwise). The caller gives up those bytes: nothing
   * may write them afterwards.
   */
  adopt(slot: number, src: Uint8Array, from = 0): void {
    const ab = src.buffer;
    if (!(ab instanceof ArrayBuffer) || ab.byteLength < this.adoptMinBytes) {
      this.write(slot, src, from);
      return;
    }
    let p = this.adoptedPage.get(ab);
    if (p === undefined) {
      p = this.pages.length;
      this.pages.push(Buffer.from(ab));
      this.pageLive.push(0);
      this.adoptedPage.set(ab, p);
    }
    if (p !== this.filling) {
      if (this.filling !== NO_PAGE) this.retireFilling();
      this.filling = p;
    }
    const len = src.length - from;
    this.free(slot);
    this.assign(slot, p, src.byteOffset + from, len);
    this.totalLength += len - (this.lengthOf[slot] as number);
    this.lengthOf[slot] = len;
  }

  length(slot: number): number {
    return this.lengthOf[slot] as number;
  }

  /** The value in place (see the module contract for how long it stays valid). */
  view(slot: number): Uint8Array {
    const p = this.pageOf[slot] as number;
    const page = p === NO_PAGE ? null : this.pages[p];
    if (!page) return EMPTY;
    // A plain Uint8Array: Buffer#subarray runs Buffer's constructor, measurable once per decode.
    return new Uint8Array(
      page.buffer,
      page.byteOffset + (this.offsetOf[slot] as number),
      this.lengthOf[slot],
    );
  }

  copy(slot: number): Buffer {
    return Buffer.from(this.view(slot));
  }

  release(slot: number): void {
    if (this.filling !== NO_PAGE) this.retireFilling();
    this.totalLength -= this.lengthOf[slot] as number;
    this.free(slot);
    this.lengthOf[slot] = 0;
    this.freeSlots.push(slot);
  }

  /** Gives up the slot's space (its page may then be compacted). */
  private free(slot: number): void {
    const p = this.pageOf[slot] as number;
    if (p === NO_PAGE) return;
    this.pageLive[p] = (this.pageLive[p] as number) - (this.capacityOf[slot] as number);
    this.pageOf[slot] = NO_PAGE;
    this.capacityOf[slot] = 0;
    if (p !== this.current && p !== this.filling) this.maybeCompact(p);
  }

  /** The adopted page stops being filled; emptied now if under half of it is live. */
  private retireFilling(): void {
    const p = this.filling;
    this.filling = NO_PAGE;
    this.maybeCompact(p);
  }

  private place(slot: number, cap: number): void {
    if (cap > this.pageSize) {
      const p = this.newPage(cap);
      this.assign(slot, p, 0, cap);
      return;
    }
    let retired = NO_PAGE;
    if (this.current === NO_PAGE || this.top + cap > this.pageSize) {
      retired = this.current;
      this.current = this.newPage(this.pageSize);
      this.top = 0;
    }
    this.assign(slot, this.current, this.top, cap);
    this.top += cap;
    // Values freed while their page was current were not checked then.
    if (retired !== NO_PAGE) this.maybeCompact(retired);
  }

  private assign(slot: number, p: number, at: number, cap: number): void {
    this.pageOf[slot] = p;
    this.offsetOf[slot] = at;
    this.capacityOf[slot] = cap;
    this.pageLive[p] = (this.pageLive[p] as number) + cap;
  }

  private newPage(size: number): number {
    const page = Buffer.allocUnsafeSlow(size);
    const reuse = size === this.pageSize ? this.freePages.pop() : undefined;
    const p = reuse ?? this.pages.length;
    this.pages[p] = page;
    this.pageLive[p] = 0;
    return p;
  }

  /** Moves the live values of page `p` to the current page once under half of it is live. */
  private maybeCompact(p: number): void {
    const page = this.pages[p];
    if (!page) return;
    const live = this.pageLive[p] as number;
    if (live * 2 >= page.length) return;
    if (live > 0) {
      for (let s = 0; s < this.slotsUsed; s++) {
        if (this.pageOf[s] !== p) continue;
        const at = this.offsetOf[s] as number;
        const len = this.lengthOf[s] as number;
        const cap = this.capacityOf[s] as number;
        this.place(s, cap);
        const to = this.pages[this.pageOf[s] as number] as Buffer;
        page.copy(to, this.offsetOf[s], at, at + len);
      }
    }
    this.pages[p] = null;
    this.pageLive[p] = 0;
    if (page.buffer instanceof ArrayBuffer) this.adoptedPage.delete(page.buffer);
    if (page.length === this.pageSize) this.freePages.push(p);
  }

  private grow(): void {
    const n = this.pageOf.length * 2;
    const widen = (a: Int32Array<ArrayBuffer>, fill = 0): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n).fill(fill);
      b.set(a);
      return b;
    };
    this.pageOf = widen(this.pageOf, NO_PAGE);
    this.offsetOf = widen(this.offsetOf);
    this.lengthOf = widen(this.lengthOf);
    this.capacityOf = widen(this.capacityOf);
  }
}
