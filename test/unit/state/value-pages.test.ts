import { rng } from '../../../src/sim/simulator';
import { ValuePages } from '../../../src/state/value-pages';

const bytesOf = (n: number, fill: number): Buffer => Buffer.alloc(n, fill & 255);

describe('ValuePages', () => {
  it.each([1, 2, 3])(
    'holds what a map would, through writes that grow, shrink and move values, and releases (seed %i)',
    (seed) => {
      const r = rng(seed);
      const pageSize = 4096;
      const pages = new ValuePages(pageSize);
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
        } else if (roll < 0.35) {
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
