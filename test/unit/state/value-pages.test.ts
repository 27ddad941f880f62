import { rng } from '../../../src/sim/simulator';
import { ValuePages } from '../../../src/state/value-pages';

const bytesOf = (n: number, fill: number): Buffer => Buffer.alloc(n, fill & 255);

describe('ValuePages', () => {
  it.each([1, 2, 3])(
    'holds what a map would, through writes that grow, shrink and move values, and releases (seed %i)',
    (seed) => {
      const r = rng(seed);
      const pageSize = 4096;
      const pages = new ValuePages(pageSize, 2048);
      const model = new Map<number, Buffer>();
      let maxHeldOverValue = 0;
      const slots: number[] = [];
      const pick = (): number => Math.floor(r() * slots.length);
      for (let step = 0; step < 20_000; step++) {
        const roll = r();
        if (roll < 0.25 || slots.length === 0) {
          const slot = pages.newSlot();
          expect(model.has(slot)).toBe(false);
          const v = bytesOf(Math.floor(r() * 600), step);
          pages.write(slot, v);
          model.set(slot, v);
          slots.push(slot);
        } else if (roll < 0.3) {
          // A fetch response: values adopted from one buffer, to new and existing slots (the same
          // slot twice, as a changelog not yet compacted), the buffer large enough or not.
          const fetch = Buffer.alloc(r() < 0.8 ? 6000 : 1500);
          let at = 0;
          while (at < fetch.length - 700) {
            const len = Math.floor(r() * 600);
            const from = r() < 0.3 ? 10 : 0;
            fetch.fill((step * 13 + at) & 255, at + from, at + from + len);
            const slot = r() < 0.5 || slots.length === 0 ? pages.newSlot() : (slots[pick()] as number);
            if (!model.has(slot)) slots.push(slot);
            const src = fetch.subarray(at, at + from + len);
            pages.adopt(slot, src, from);
            model.set(slot, Buffer.from(src.subarray(from)));
            at += from + len + Math.floor(r() * 40);
          }
        } else if (roll < 0.4) {
          const i = pick();
          const slot = slots[i] as number;
          slots[i] = slots[slots.length - 1] as number;
          slots.pop();
          pages.release(slot);
          model.delete(slot);
        } else {
          const slot = slots[pick()] as number;
          // Mostly near the old length (a state changes a little), sometimes far larger or
          // larger than a page, sometimes written from an offset (restore's version-4 values).
          const old = (model.get(slot) as Buffer).length;
          const len =
            r() < 0.02 ? pageSize + Math.floor(r() * 3000) : Math.max(0, old + Math.floor(r() * 200) - 90);
          const from = r() < 0.3 ? 10 : 0;
          const src = Buffer.concat([bytesOf(from, 0xee), bytesOf(len, step * 7 + 1)]);
          pages.write(slot, src, from);
          model.set(slot, src.subarray(from));
        }
        if (step % 500 === 0 || step === 19_999) {
          let total = 0;
          const wrong: number[] = [];
          for (const [slot, v] of model) {
            const ok =
              pages.length(slot) === v.length && v.equals(pages.view(slot)) && pages.copy(slot).equals(v);
            if (!ok) wrong.push(slot);
            total += v.length;
          }
          expect({ step, wrong }).toEqual({ step, wrong: [] });
          expect(pages.valueBytes).toBe(total);
          maxHeldOverValue = Math.max(maxHeldOverValue, pages.heldBytes - 2 * total);
        }
      }
      // Dead space stays bounded: pages under half live are emptied, so held ≤ 2 × live (plus
      // headroom and the pages not yet checked, a few pages here).
      expect(maxHeldOverValue).toBeLessThan(12 * pageSize);
    },
  );

  it('gives back the space of released values (a page under half live is emptied)', () => {
    const pages = new ValuePages(1000);
    const slots = Array.from({ length: 50 }, () => pages.newSlot());
    for (const s of slots) pages.write(s, bytesOf(100, s));
    expect(pages.heldBytes).toBe(5000);
    for (const s of slots.slice(0, 40)) pages.release(s);
    expect(pages.valueBytes).toBe(1000);
    expect(pages.heldBytes).toBeLessThanOrEqual(2000);
    for (const s of slots.slice(40)) expect(bytesOf(100, s).equals(pages.view(s))).toBe(true);
  });

  it('empties a page whose values were freed while it was the current page, once it is not', () => {
    const pages = new ValuePages(1000);
    const slots = Array.from({ length: 10 }, () => pages.newSlot());
    for (const s of slots) pages.write(s, bytesOf(100, s));
    for (const s of slots.slice(0, 8)) pages.release(s); // page 1 is current: not checked yet
    expect(pages.heldBytes).toBe(1000);
    const next = pages.newSlot();
    pages.write(next, bytesOf(500, 7)); // page 1 is full: a new current page, page 1 retired
    expect(pages.heldBytes).toBe(1000); // page 1 emptied: its two live values moved to page 2
    for (const s of slots.slice(8)) expect(bytesOf(100, s).equals(pages.view(s))).toBe(true);
    expect(bytesOf(500, 7).equals(pages.view(next))).toBe(true);
  });

  it('adopts values in a large buffer without copying them, and copies those in a small one', () => {
    const pages = new ValuePages(1000, 4096);
    const large = Buffer.alloc(8192, 1);
    const small = Buffer.alloc(2048, 2);
    const [a, b] = [pages.newSlot(), pages.newSlot()];
    pages.adopt(a, large.subarray(100, 8000), 10);
    expect(pages.view(a).buffer).toBe(large.buffer);
    expect(pages.view(a).byteOffset).toBe(110);
    pages.adopt(b, small.subarray(100, 300), 10);
    expect(pages.view(b).buffer).not.toBe(small.buffer);
    expect(Buffer.alloc(190, 2).equals(pages.view(b))).toBe(true);
    expect(pages.view(a).buffer).toBe(large.buffer); // 7,890 of 8,192 bytes live: kept
    expect(pages.valueBytes).toBe(7890 + 190);
  });

  it('empties an adopted buffer under half live once values go elsewhere, keeping the values', () => {
    const pages = new ValuePages(1000, 4096);
    const fetch = Buffer.alloc(8192);
    const slots = Array.from({ length: 20 }, (_, i) => {
      fetch.fill(i + 1, i * 400, i * 400 + 300);
      const s = pages.newSlot();
      pages.adopt(s, fetch.subarray(i * 400, i * 400 + 300));
      return s;
    });
    // 6,000 of 8,192 bytes live, then 14 values replaced by larger ones (which do not fit their
    // slots, so they move): under half live, the other 6 are copied out and the buffer let go.
    for (const s of slots.slice(0, 14)) pages.write(s, bytesOf(350, 99));
    for (const [i, s] of slots.entries()) {
      const want = i < 14 ? bytesOf(350, 99) : bytesOf(300, i + 1);
      expect(want.equals(pages.view(s))).toBe(true);
      expect(pages.view(s).buffer).not.toBe(fetch.buffer);
    }
  });

  it('empties an adopted buffer whose values were replaced while it was filled, once it is not', () => {
    const pages = new ValuePages(1000, 4096);
    const fetch = Buffer.alloc(8192);
    const [x, y] = [pages.newSlot(), pages.newSlot()];
    // One user's value ten times in one fetch (a changelog not yet compacted): 800 B stay live.
    for (let i = 0; i < 10; i++) {
      fetch.fill(i + 1, i * 400, i * 400 + 400);
      pages.adopt(x, fetch.subarray(i * 400, i * 400 + 400));
    }
    fetch.fill(77, 5000, 5400);
    pages.adopt(y, fetch.subarray(5000, 5400));
    expect(pages.view(x).buffer).toBe(fetch.buffer);
    const z = pages.newSlot();
    pages.write(z, bytesOf(10, 3)); // the fetch is no longer being filled: checked, and emptied
    expect(pages.view(x).buffer).not.toBe(fetch.buffer);
    expect(pages.view(y).buffer).not.toBe(fetch.buffer);
    expect(bytesOf(400, 10).equals(pages.view(x))).toBe(true);
    expect(bytesOf(400, 77).equals(pages.view(y))).toBe(true);
    expect(pages.heldBytes).toBe(1000);
  });

  it('keeps an adopted buffer that stays mostly live, and writes in place inside it', () => {
    const pages = new ValuePages(1000, 4096);
    const fetch = Buffer.alloc(8192, 5);
    const slots = Array.from({ length: 20 }, (_, i) => {
      const s = pages.newSlot();
      pages.adopt(s, fetch.subarray(i * 400, i * 400 + 400));
      return s;
    });
    pages.write(slots[0] as number, bytesOf(300, 6)); // fits: in place, in the fetch buffer
    expect(pages.view(slots[0] as number).buffer).toBe(fetch.buffer);
    expect(fetch.subarray(0, 300).equals(bytesOf(300, 6))).toBe(true);
    expect(pages.heldBytes).toBe(8192);
  });

  it('writes in place while a value fits its slot', () => {
    const pages = new ValuePages(1000);
    const a = pages.newSlot();
    pages.write(a, bytesOf(300, 1));
    const before = pages.view(a).byteOffset;
    pages.write(a, bytesOf(250, 2));
    expect(pages.view(a).byteOffset).toBe(before);
    expect(bytesOf(250, 2).equals(pages.view(a))).toBe(true);
    expect(pages.heldBytes).toBe(1000);
  });
});
