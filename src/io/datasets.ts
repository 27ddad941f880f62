/**
 * Readers of public behaviour datasets into one row shape, sorted in event-time order.
 *
 *   taobao   user_id,item_id,category_id,behavior_type,timestamp   (pv|cart|fav|buy, Unix seconds)
 *   rees46   event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
 *            (view|cart|remove_from_cart|purchase; "2019-10-01 00:00:00 UTC")
 *   retailrocket  timestamp,visitorid,event,itemid,transactionid   (view|addtocart|transaction, epoch ms)
 *            Its events carry no category: pass the item_properties file(s)
 *            (timestamp,itemid,property,value), whose `categoryid` rows give each item's category
 *            (the latest one wins); events of items without a category are skipped and counted.
 *
 * Files may be gzip-compressed (.gz). Rows that do not parse are counted and skipped here:
 * these are offline inputs to `replay` / `eval`, not the live stream (the live service
 * dead-letters bad records instead).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { EventKind } from '../core/types';

export const DATASET_FORMATS = ['taobao', 'rees46', 'retailrocket'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface DatasetRow {
  readonly userId: string;
  readonly itemId: string;
  readonly categoryId: string;
  readonly kind: EventKind;
  readonly eventTimeMs: number;
  readonly sessionId: string | null;
  readonly priceMinorUnits: number | null;
}

export interface Dataset {
  readonly rows: DatasetRow[];
  readonly skipped: number;
  readonly format: DatasetFormat;
}

const TAOBAO_KIND: Readonly<Record<string, EventKind>> = {
  pv: 'view',
  cart: 'cart',
  fav: 'favorite',
  buy: 'purchase',
};
const REES_KIND: Readonly<Record<string, EventKind>> = { view: 'view', cart: 'cart', purchase: 'purchase' };
const RR_KIND: Readonly<Record<string, EventKind>> = {
  view: 'view',
  addtocart: 'cart',
  transaction: 'purchase',
};

export function detectFormat(header: string): DatasetFormat | null {
  const h = header.trim().toLowerCase();
  if (h.startsWith('user_id,item_id,category_id,behavior_type,timestamp')) return 'taobao';
  if (h.startsWith('event_time,event_type,product_id,category_id')) return 'rees46';
  if (h.startsWith('timestamp,visitorid,event,itemid')) return 'retailrocket';
  return null;
}

function parseTaobao(cols: string[]): DatasetRow | null {
  const [user, item, cat, behaviour, ts] = cols;
  const kind = TAOBAO_KIND[behaviour ?? ''];
  const seconds = Number(ts);
  if (!user || !item || !cat || !kind || !Number.isFinite(seconds)) return null;
  return {
    userId: user,
    itemId: item,
    categoryId: cat,
    kind,
    eventTimeMs: seconds * 1000,
    sessionId: null,
    priceMinorUnits: null,
  };
}

function parseRees(cols: string[]): DatasetRow | null {
  const [time, type, product, cat, , , price, user, session] = cols;
  const kind = REES_KIND[type ?? ''];
  const t = Date.parse((time ?? '').replace(' UTC', 'Z').replace(' ', 'T'));
  if (!user || !product || !cat || !kind || !Number.isFinite(t)) return null;
  const p = Number(price);
  return {
    userId: user,
    itemId: product,
    categoryId: cat,
    kind,
    eventTimeMs: t,
    sessionId: session || null,
    priceMinorUnits: Number.isFinite(p) && price !== '' ? Math.round(p * 100) : null,
  };
}

function parseRetailRocket(cols: string[], itemCategory: ReadonlyMap<string, string>): DatasetRow | null {
  const [ts, visitor, event, item] = cols;
  const kind = RR_KIND[event ?? ''];
  const t = Number(ts);
  const cat = itemCategory.get(item ?? '');
  if (!visitor || !item || !kind || !Number.isFinite(t) || !cat) return null;
  return {
    userId: visitor,
    itemId: item,
    categoryId: cat,
    kind,
    eventTimeMs: t,
    sessionId: null,
    priceMinorUnits: null,
  };
}

function lines(path: string): AsyncIterable<string> {
  const input = createReadStream(path);
  const stream = path.endsWith('.gz') ? input.pipe(createGunzip()) : input;
  return createInterface({ input: stream, crlfDelay: Infinity });
}

/** RetailRocket item_properties files → item id → its latest `categoryid`. */
export async function readItemCategories(paths: readonly string[]): Promise<Map<string, string>> {
  const latest = new Map<string, { t: number; cat: string }>();
  for (const path of paths) {
    for await (const line of lines(path)) {
      const [ts, item, property, value] = line.split(',');
      if (property !== 'categoryid' || !item || !value) continue;
      const t = Number(ts);
      const prev = latest.get(item);
      if (!prev || t >= prev.t) latest.set(item, { t, cat: value });
    }
  }
  return new Map([...latest.entries()].map(([item, v]) => [item, v.cat]));
}

export interface ReadOptions {
  /** RetailRocket only: item id → category id. */
  readonly itemCategories?: ReadonlyMap<string, string>;
}

export async function readDataset(
  path: string,
  format?: DatasetFormat,
  options: ReadOptions = {},
): Promise<Dataset> {
  const itemCategories = options.itemCategories ?? new Map<string, string>();
  const rows: DatasetRow[] = [];
  let skipped = 0;
  let fmt: DatasetFormat | null = format ?? null;
  let first = true;
  for await (const line of lines(path)) {
    if (first) {
      first = false;
      const detected = detectFormat(line);
      if (detected) {
        fmt = fmt ?? detected;
        continue;
      }
      if (!fmt) throw new Error(`cannot tell the format of ${path} from its header; pass --format`);
    }
    if (line.length === 0) continue;
    const cols = line.split(',');
    const row =
      fmt === 'taobao'
        ? parseTaobao(cols)
        : fmt === 'rees46'
          ? parseRees(cols)
          : parseRetailRocket(cols, itemCategories);
    if (row) rows.push(row);
    else skipped++;
  }
  // Stable sort: ties keep file order, so a user's same-second events stay in order.
  rows.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  return { rows, skipped, format: fmt ?? 'taobao' };
}

/** Groups rows by user, keeping their order; users in order of first appearance. */
export function rowsByUser(rows: readonly DatasetRow[]): Map<string, DatasetRow[]> {
  const m = new Map<string, DatasetRow[]>();
  for (const r of rows) {
    const l = m.get(r.userId);
    if (l) l.push(r);
    else m.set(r.userId, [r]);
  }
  return m;
}
