import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { assertKafkajsPatched, kafkajsPatched } from '../../../src/kafka/kafkajs-patch';

interface Batch {
  lastOffset(): string;
  isEmpty(): boolean;
  isEmptyDueToFiltering(): boolean;
}
const requireHere = createRequire(__filename);
const BatchClass = requireHere('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  data: { partition: number; highWatermark: string; messages: unknown[]; abortedTransactions: [] },
) => Batch;

// kafkajs' own encoders, to build record batches as a producer would.
type Long = { value: bigint };
const LongClass = requireHere('kafkajs/src/utils/long') as { fromValue(v: bigint | string): Long };
const { RecordBatch: encodeBatch } = requireHere('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (o: {
    firstOffset: Long;
    firstTimestamp: Long;
    maxTimestamp: Long;
    lastOffsetDelta: number;
    records: unknown[];
  }) => Promise<{ buffer: Buffer }>;
};
const encodeRecord = requireHere('kafkajs/src/protocol/recordBatch/record/v0') as (o: {
  offsetDelta: number;
  timestampDelta: Long;
  key: Buffer;
  value: Buffer;
}) => unknown;

const message = (offset: number) => ({ offset: String(offset), key: null, value: null, headers: {} });
const batch = (fetched: number, messages: unknown[], lastBatchOffset?: number): Batch =>
  new BatchClass('t', String(fetched), {
    partition: 0,
    highWatermark: '100',
    messages:
      lastBatchOffset === undefined
        ? messages
        : Object.assign(messages, { lastBatchOffset: String(lastBatchOffset) }),
    abortedTransactions: [],
  });

describe('the kafkajs patch (patches/kafkajs+2.2.4.patch)', () => {
  it('is installed', () => {
    expect(kafkajsPatched()).toBe(true);
    expect(() => assertKafkajsPatched()).not.toThrow();
  });

  it('moves past a record batch the log cleaner emptied (offsets 1565..1568, no records)', () => {
    const b = batch(1565, [], 1568);
    expect(b.isEmpty()).toBe(true);
    // the runner resolves lastOffset() for such a batch: the next fetch starts at 1569
    expect(b.isEmptyDueToFiltering()).toBe(true);
    expect(b.lastOffset()).toBe('1568');
  });

  it('moves past a batch whose surviving records all lie before the fetched offset', () => {
    const b = batch(12, [message(10), message(11)], 15);
    expect(b.isEmptyDueToFiltering()).toBe(true);
    expect(b.lastOffset()).toBe('15');
  });

  it('ends a non-empty fetch at the last batch end, past a compacted tail', () => {
    expect(batch(0, [message(0), message(3)], 7).lastOffset()).toBe('7');
  });

  it('keeps kafkajs behaviour without batch bounds (empty fetch: nothing to resolve)', () => {
    const b = batch(5, []);
    expect(b.isEmptyDueToFiltering()).toBe(false);
    expect(batch(0, [message(0), message(3)]).lastOffset()).toBe('3');
  });
});

describe('the kafkajs patch: no negative timer in the request queue', () => {
  it('schedules its idle check without a TimeoutNegativeWarning (throttledUntil −1, nothing pending)', () => {
    // In a child process: Jest's sandbox does not see the warnings Node's timers emit.
    const script = `
      const RequestQueue = require('kafkajs/src/network/requestQueue');
      const noop = () => {};
      const q = new RequestQueue({ instrumentationEmitter: null, maxInFlightRequests: null, requestTimeout: 1000,
        enforceRequestTimeout: true, clientId: 't', broker: 'localhost:0',
        logger: { debug: noop, info: noop, warn: noop, error: noop }, isConnected: () => true });
      q.scheduleCheckPendingRequests();
      setTimeout(() => { q.destroy(); console.log('checked'); }, 20);`;
    const run = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '../../..'),
      encoding: 'utf8',
    });
    expect(run.stdout).toContain('checked');
    expect(run.stderr).not.toContain('TimeoutNegativeWarning');
  });
});

describe('the kafkajs patch: record offsets and timestamps as numbers where exact', () => {
  const decodeBatch = requireHere('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
    records: { offset: string; timestamp: string }[];
  }>;
  const Decoder = requireHere('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;

  const SAFE = 2n ** 53n - 1n;
  const offsetDeltas = [0, 1, 7, 2 ** 30];
  // Around 2^47 and 2^48 the zigzag varint grows from 7 to 8 bytes, where the patch reads it
  // through Long again.
  const timestampDeltas = [
    0n,
    1_000n,
    -5n,
    2n ** 32n,
    2n ** 32n + 1n,
    2n ** 40n,
    2n ** 47n - 1n,
    2n ** 47n,
    -(2n ** 47n),
    -(2n ** 47n) - 1n,
    2n ** 48n,
    -(2n ** 48n) - 1n,
    2n ** 56n,
    -(2n ** 56n),
  ];

  // Bases on both sides of where the patch leaves Long arithmetic (2^53 − 1 − 2^32).
  it.each([0n, 1_795_727_213_333n, SAFE - 2n ** 32n, SAFE - 2n ** 32n + 1n, SAFE, 2n ** 62n, -(2n ** 40n)])(
    'decodes the same values as 64-bit arithmetic at base %s',
    async (base) => {
      const records = offsetDeltas.flatMap((offsetDelta) =>
        timestampDeltas.map((t) =>
          encodeRecord({
            offsetDelta,
            timestampDelta: LongClass.fromValue(t),
            key: Buffer.from('k'),
            value: Buffer.from('v'),
          }),
        ),
      );
      const encoded = await encodeBatch({
        firstOffset: LongClass.fromValue(base),
        firstTimestamp: LongClass.fromValue(base),
        maxTimestamp: LongClass.fromValue(base),
        lastOffsetDelta: 2 ** 30,
        records,
      });
      const decoded = await decodeBatch(new Decoder(encoded.buffer));
      const expected = offsetDeltas.flatMap((d) =>
        timestampDeltas.map((t) => ({ offset: String(base + BigInt(d)), timestamp: String(base + t) })),
      );
      expect(decoded.records.map((r) => ({ offset: r.offset, timestamp: r.timestamp }))).toEqual(expected);
    },
  );

  it('keeps the messages at or after the fetched offset, next to the safe-integer limit and beyond', () => {
    const around = (n: bigint) =>
      [n - 2n, n - 1n, n, n + 1n, n + 2n].map((o) => ({ ...message(0), offset: String(o) }));
    for (const fetched of [SAFE, SAFE + 1n, SAFE + 2n, 2n ** 62n, 10n]) {
      const b = new BatchClass('t', String(fetched), {
        partition: 0,
        highWatermark: '0',
        messages: around(fetched),
        abortedTransactions: [],
      }) as unknown as { messages: { offset: string }[] };
      expect(b.messages.map((m) => m.offset)).toEqual([fetched, fetched + 1n, fetched + 2n].map(String));
    }
  });
});

describe('the kafkajs patch: encoders without zero-filled buffers', () => {
  const Encoder = requireHere('kafkajs/src/protocol/encoder') as new () => { buf: Buffer };

  /** Fills the rest of Node's shared allocation pool (what allocUnsafe hands out next) with `byte`. */
  const poisonPool = (byte: number): void => {
    const b = Buffer.allocUnsafe(1);
    new Uint8Array(b.buffer, b.byteOffset).fill(byte);
  };
  const encode = async (garbage: number): Promise<Buffer> => {
    poisonPool(garbage);
    const records = [3, 200, 900].map((n, i) =>
      encodeRecord({
        offsetDelta: i,
        timestampDelta: LongClass.fromValue(BigInt(i * 10)),
        key: Buffer.from(`user-${i}`),
        value: Buffer.alloc(n, i + 1),
      }),
    );
    const batch = await encodeBatch({
      firstOffset: LongClass.fromValue(0n),
      firstTimestamp: LongClass.fromValue(1_795_727_213_333n),
      maxTimestamp: LongClass.fromValue(1_795_727_213_353n),
      lastOffsetDelta: 2,
      records,
    });
    return Buffer.from(batch.buffer);
  };

  it('takes small encoder buffers from the shared pool', () => {
    expect(new Encoder().buf.buffer.byteLength).toBe(Buffer.poolSize);
  });

  it('writes the same bytes whatever the reused memory held before', async () => {
    const a = await encode(0x00);
    const b = await encode(0xff);
    const c = await encode(0x5a);
    expect(a.length).toBeGreaterThan(1100);
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(true);
  });
});

describe('the kafkajs patch: large encoders appended by reference, joined once', () => {
  interface Enc {
    writeInt32(v: number): Enc;
    writeString(v: string): Enc;
    writeBytes(v: Buffer): Enc;
    writeEncoder(v: Enc): Enc;
    writeArray(v: Enc[], type: 'object'): Enc;
    size(): number;
    readonly buffer: Buffer;
  }
  const Encoder = requireHere('kafkajs/src/protocol/encoder') as new () => Enc;

  // A random tree of writes. Encoded nested, each child is its own Encoder written into its parent
  // (by reference from 4,096 bytes on); encoded flat, the same writes go into one Encoder.
  type Leaf = { kind: 'int' | 'string' | 'bytes'; n: number };
  type Node = Leaf | { kind: 'child' | 'array'; children: Node[] };
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const tree = (depth: number): Node[] =>
    Array.from({ length: 1 + Math.floor(rnd() * 5) }, (): Node => {
      const r = rnd();
      if (depth > 0 && r < 0.25) return { kind: 'child', children: tree(depth - 1) };
      if (depth > 0 && r < 0.35) return { kind: 'array', children: tree(depth - 1) };
      const sizes = [0, 3, 700, 4_095, 4_096, 9_000];
      return r < 0.5
        ? { kind: 'int', n: Math.floor(rnd() * 1e9) }
        : { kind: r < 0.6 ? 'string' : 'bytes', n: sizes[Math.floor(rnd() * sizes.length)] as number };
    });
  const payloads = new Map<Node, Buffer>();
  const payload = (node: Leaf): Buffer => {
    if (!payloads.has(node)) payloads.set(node, bytes(node.n));
    return payloads.get(node) as Buffer;
  };
  const writeLeaf = (e: Enc, node: Leaf): void => {
    if (node.kind === 'int') e.writeInt32(node.n | 0);
    else if (node.kind === 'string') e.writeString(payload(node).toString('latin1'));
    else e.writeBytes(payload(node));
  };
  const nested = (nodes: Node[], readEarly: boolean): Enc => {
    const e = new Encoder();
    for (const node of nodes) {
      if (node.kind === 'child') {
        const child = nested(node.children, readEarly);
        if (readEarly) void child.buffer; // joined before it is appended
        e.writeEncoder(child);
      } else if (node.kind === 'array') {
        e.writeArray(
          node.children.map((c) => nested([c], readEarly)),
          'object',
        );
      } else writeLeaf(e, node as Leaf);
    }
    return e;
  };
  const flat = (nodes: Node[], e: Enc = new Encoder()): Enc => {
    for (const node of nodes) {
      if (node.kind === 'child') flat(node.children, e);
      else if (node.kind === 'array') {
        e.writeInt32(node.children.length);
        for (const c of node.children) flat([c], e);
      } else writeLeaf(e, node as Leaf);
    }
    return e;
  };

  it('writes the same bytes nested as flat, whatever is read when', () => {
    let large = 0;
    for (let round = 0; round < 200; round++) {
      const nodes = tree(4);
      const expected = flat(nodes).buffer;
      for (const readEarly of [false, true]) {
        const e = nested(nodes, readEarly);
        expect(e.size()).toBe(expected.length);
        const once = e.buffer;
        expect(once.equals(expected)).toBe(true);
        expect(e.buffer.equals(expected)).toBe(true); // read again: the same content
        // Written to after it was read: the earlier bytes stay.
        e.writeInt32(42).writeBytes(Buffer.alloc(5_000, 1));
        expect(e.buffer.subarray(0, expected.length).equals(expected)).toBe(true);
        expect(e.size()).toBe(expected.length + 4 + 4 + 5_000);
      }
      if (expected.length >= 4_096) large++;
    }
    expect(large).toBeGreaterThan(50);
  });

  it('keeps a large encoder by reference and a small one by copy', () => {
    const big = new Encoder().writeBytes(Buffer.alloc(5_000, 2));
    const small = new Encoder().writeBytes(Buffer.alloc(100, 3));
    const parent = new Encoder().writeInt32(1).writeEncoder(big).writeEncoder(small) as Enc & {
      pieces: Buffer[] | null;
    };
    const bigBytes = big.buffer;
    expect(
      parent.pieces?.some((p) => p.buffer === bigBytes.buffer && p.byteOffset === bigBytes.byteOffset),
    ).toBe(true);
    expect(parent.buffer.length).toBe(4 + 5_004 + 104);
  });

  it('allocates about three times a produce request, not eleven', async () => {
    const produce = requireHere('kafkajs/src/protocol/requests/produce/v3/request') as (o: unknown) => {
      encode(): Promise<unknown>;
    };
    const frame = requireHere('kafkajs/src/protocol/request') as (o: unknown) => Promise<Enc>;
    const messages = Array.from({ length: 1_000 }, (_, i) => ({
      key: Buffer.from(`user-${i}`),
      value: Buffer.alloc(1_000, i & 255),
      timestamp: 1_795_727_213_333 + i,
    }));
    const request = produce({
      acks: -1,
      timeout: 30_000,
      transactionalId: 'tx',
      topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages }] }],
    });
    const allocs = jest.spyOn(Buffer, 'allocUnsafe');
    const joins = jest.spyOn(Buffer, 'concat');
    let sent: Buffer;
    let allocated: number;
    try {
      sent = (await frame({ correlationId: 1, clientId: 'c', request })).buffer;
      allocated =
        allocs.mock.calls.reduce((n, [size]) => n + size, 0) +
        joins.mock.results.reduce((n, r) => n + (r.value as Buffer).length, 0);
    } finally {
      allocs.mockRestore();
      joins.mockRestore();
    }
    expect(sent.length).toBeGreaterThan(1_000_000);
    // Unpatched: 10.8 × (every nesting level copies the batch into a buffer grown by doubling).
    expect(allocated / sent.length).toBeLessThan(4);
  });
});

// eosManager with a cluster of our own: its coordinator answers CONCURRENT_TRANSACTIONS as often
// as a test asks, as a real one does while it writes the previous transaction's markers.
interface Eos {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(
    topicData: { topic: string; partitions: { partition: number }[] }[],
  ): Promise<void>;
  sendOffsets(o: { consumerGroupId: string; topics: unknown[] }): Promise<void>;
  commit(): Promise<void>;
}
const createEosManager = requireHere('kafkajs/src/producer/eosManager') as (o: {
  logger: unknown;
  cluster: unknown;
  transactional: boolean;
  transactionalId: string;
}) => Eos;
const { KafkaJSProtocolError } = requireHere('kafkajs/src/errors') as {
  KafkaJSProtocolError: new (e: { type: string; code: number; retriable: boolean; message: string }) => Error;
};
const protocolError = (type: string, code: number): Error =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: type });

function coordinatorAnswering(answers: Map<string, Error[]>): {
  cluster: unknown;
  sent: string[];
  lookups: () => number;
} {
  const sent: string[] = [];
  let lookups = 0;
  const request = (name: string) => (): Promise<{ producerId: number; producerEpoch: number }> => {
    sent.push(name);
    const error = answers.get(name)?.shift();
    return error ? Promise.reject(error) : Promise.resolve({ producerId: 7, producerEpoch: 0 });
  };
  const broker = {
    nodeId: 1,
    initProducerId: request('InitProducerId'),
    addPartitionsToTxn: request('AddPartitionsToTxn'),
    addOffsetsToTxn: request('AddOffsetsToTxn'),
    txnOffsetCommit: request('TxnOffsetCommit'),
    endTxn: request('EndTxn'),
  };
  const cluster = {
    retry: { retries: 0 },
    refreshMetadataIfNecessary: () => Promise.resolve(),
    findGroupCoordinator: () => {
      lookups++;
      return Promise.resolve(broker);
    },
    findBroker: () => Promise.resolve(broker),
  };
  return { cluster, sent, lookups: () => lookups };
}

const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const concurrent = (n: number): Error[] =>
  Array.from({ length: n }, () => protocolError('CONCURRENT_TRANSACTIONS', 51));

describe('the kafkajs patch: CONCURRENT_TRANSACTIONS tried again within milliseconds', () => {
  const transaction = async (eos: Eos): Promise<void> => {
    eos.beginTransaction();
    await eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: 0 }] }]);
    await eos.sendOffsets({
      consumerGroupId: 'g',
      topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '1' }] }],
    });
    await eos.commit();
  };

  it('adds the partitions and the offsets after a few short waits, not after the producer backoff', async () => {
    const answers = new Map([
      ['AddPartitionsToTxn', concurrent(3)],
      ['AddOffsetsToTxn', concurrent(2)],
    ]);
    const { cluster, sent, lookups } = coordinatorAnswering(answers);
    const eos = createEosManager({ logger: quiet, cluster, transactional: true, transactionalId: 'tx' });
    await eos.initProducerId();
    const t0 = Date.now();
    await transaction(eos);
    // 5 + 10 + 20 ms, then 5 + 10 ms; kafkajs' own retry would wait about 300 ms before the second try.
    expect(Date.now() - t0).toBeLessThan(250);
    expect(sent.filter((r) => r === 'AddPartitionsToTxn')).toHaveLength(4);
    expect(sent.filter((r) => r === 'AddOffsetsToTxn')).toHaveLength(3);
    expect(sent.at(-1)).toBe('EndTxn');
    // InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn: one lookup each, not one per try.
    expect(lookups()).toBe(5);
  });

  it('passes any other error on at once, and CONCURRENT_TRANSACTIONS after about 2 s', async () => {
    // A transaction begun on a coordinator with these answers; resolves to its first AddPartitionsToTxn.
    const addPartitions = async (
      answers: Map<string, Error[]>,
    ): Promise<{ sent: string[]; added: Promise<void> }> => {
      const { cluster, sent } = coordinatorAnswering(answers);
      const eos = createEosManager({ logger: quiet, cluster, transactional: true, transactionalId: 'tx' });
      await eos.initProducerId();
      eos.beginTransaction();
      return {
        sent,
        added: eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: 0 }] }]),
      };
    };
    const other = await addPartitions(
      new Map([['AddPartitionsToTxn', [protocolError('INVALID_PRODUCER_EPOCH', 47)]]]),
    );
    await expect(other.added).rejects.toThrow('INVALID_PRODUCER_EPOCH');
    expect(other.sent.filter((r) => r === 'AddPartitionsToTxn')).toHaveLength(1);

    const t0 = Date.now();
    const busy = await addPartitions(new Map([['AddPartitionsToTxn', concurrent(1_000)]]));
    await expect(busy.added).rejects.toThrow('CONCURRENT_TRANSACTIONS');
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThan(1_800);
    expect(elapsed).toBeLessThan(2_500);
  });
});

describe('the kafkajs patch: messages grouped per partition in one pass', () => {
  type Msg = { key?: string | null; partition?: number; value: string };
  type Meta = { partitionId: number; leader: number }[];
  const group = requireHere('kafkajs/src/producer/groupMessagesPerPartition') as (o: {
    topic: string;
    partitionMetadata: Meta;
    messages: Msg[];
    partitioner: (o: { topic: string; partitionMetadata: Meta; message: Msg }) => number;
  }) => Record<string, Msg[]>;
  const createPartitioner = requireHere('kafkajs/src/producer/partitioners/default') as () => (o: {
    topic: string;
    partitionMetadata: Meta;
    message: Msg;
  }) => number;
  const meta: Meta = [0, 1, 2, 3].map((partitionId) => ({ partitionId, leader: 1 }));

  it('groups like kafkajs: each partition its messages in order, the partitioner once per message', () => {
    const messages: Msg[] = Array.from({ length: 1000 }, (_, i) =>
      i % 3 === 0 ? { partition: i % 4, value: `v${i}` } : { key: `user-${i % 97}`, value: `v${i}` },
    );
    const partitioner = createPartitioner();
    let calls = 0;
    const counted = (o: { topic: string; partitionMetadata: Meta; message: Msg }): number => {
      calls++;
      return partitioner(o);
    };
    const grouped = group({ topic: 't', partitionMetadata: meta, messages, partitioner: counted });
    expect(calls).toBe(messages.length);
    // kafkajs 2.2.4's own algorithm, the reference.
    const expected: Record<string, Msg[]> = {};
    for (const m of messages) {
      const p = partitioner({ topic: 't', partitionMetadata: meta, message: m });
      expected[p] = [...(expected[p] ?? []), m];
    }
    expect(grouped).toEqual(expected);
    expect(group({ topic: 't', partitionMetadata: [], messages, partitioner })).toEqual({});
  });

  it('lists the available partitions only for a message with neither partition nor key', () => {
    let filtered = 0;
    const watched = Object.assign([...meta], {
      filter(this: Meta, f: (p: Meta[number]) => boolean) {
        filtered++;
        return Array.prototype.filter.call(this, f) as Meta;
      },
    });
    const partitioner = createPartitioner();
    partitioner({ topic: 't', partitionMetadata: watched, message: { key: 'k', value: 'v' } });
    partitioner({ topic: 't', partitionMetadata: watched, message: { partition: 1, value: 'v' } });
    expect(filtered).toBe(0);
    const p = partitioner({ topic: 't', partitionMetadata: watched, message: { value: 'v' } });
    expect(filtered).toBe(1);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(4);
  });
});

describe('the kafkajs patch: the record batch checksum eight bytes at a time', () => {
  const crc32C = requireHere('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;
  /** CRC-32C bit by bit (reflected polynomial 0x82f63b78): the definition, no tables. */
  const reference = (b: Buffer): number => {
    let c = -1;
    for (const byte of b) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return (c ^ -1) >>> 0;
  };

  it('gives the standard check value and the bitwise CRC of every length, aligned or not', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    let seed = 5;
    const byte = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed & 0xff;
    };
    for (const length of [...Array.from({ length: 71 }, (_, i) => i), 65_536]) {
      const b = Buffer.from(Array.from({ length }, byte));
      expect(crc32C(b)).toBe(reference(b));
      // A view that does not start at its memory's first byte.
      const offset = Buffer.concat([Buffer.from([1, 2, 3]), b]).subarray(3);
      expect(crc32C(offset)).toBe(reference(b));
    }
  });
});
