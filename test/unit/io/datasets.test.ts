import { join } from 'node:path';
import { readDataset, readItemCategories } from '../../../src/io/datasets';

const F = join(__dirname, '..', '..', 'fixtures', 'datasets');

describe('dataset readers (synthetic samples in each public format)', () => {
  it('reads Taobao UserBehavior rows in event-time order and skips bad ones', async () => {
    const ds = await readDataset(join(F, 'taobao-sample.csv'));
    expect(ds.format).toBe('taobao');
    expect(ds.rows.map((r) => [r.userId, r.kind, r.eventTimeMs])).toEqual([
      ['2', 'favorite', 1511544000000],
      ['1', 'view', 1511544070000],
      ['1', 'purchase', 1511561733000],
    ]);
    expect(ds.skipped).toBe(1);
  });

  it('reads REES46 with prices in minor units', async () => {
    const ds = await readDataset(join(F, 'rees46-sample.csv'));
    expect(ds.format).toBe('rees46');
    expect(ds.rows).toEqual([
      {
        userId: '541312140',
        itemId: '44600062',
        categoryId: '2103807459595387724',
        kind: 'view',
        eventTimeMs: Date.UTC(2019, 9, 1),
        sessionId: '72d76fde',
        priceMinorUnits: 3579,
      },
    ]);
    expect(ds.skipped).toBe(1); // remove_from_cart is not an interest signal we model
  });

  it('reads RetailRocket, taking each item category from item_properties (latest wins)', async () => {
    const cats = await readItemCategories([join(F, 'retailrocket-item-properties.csv')]);
    expect(cats.get('355908')).toBe('1174');
    const ds = await readDataset(join(F, 'retailrocket-events.csv'), undefined, { itemCategories: cats });
    expect(ds.format).toBe('retailrocket');
    expect(ds.rows.map((r) => [r.userId, r.kind, r.categoryId])).toEqual([
      ['257597', 'view', '1174'],
      ['483674', 'purchase', '1277'],
      ['111016', 'cart', '1174'],
      ['992329', 'view', '1277'],
    ]);
    expect(ds.skipped).toBe(2); // an item without category, and a malformed line
  });
});
