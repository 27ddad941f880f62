/**
 * Which instance owns which input partition, learnt through the consumer group itself (in the
 * spirit of Kafka Streams' interactive queries): every member publishes its HTTP address in the
 * userData of its group metadata, and any member can read all members' metadata and assignments
 * with DescribeGroups. No extra topic, no service discovery.
 */
import type { Admin, Kafka, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol, PartitionAssigners } from 'kafkajs';

/**
 * kafkajs' round-robin assignor, unchanged in name, version and algorithm (so members of older
 * versions can share the group during a rolling upgrade), whose member metadata also carries
 * `{ "httpUrl": … }`.
 */
export function addressAwareAssigner(httpUrl: string | null): PartitionAssigner {
  return (config) => {
    const rr = PartitionAssigners.roundRobin(config);
    return {
      name: rr.name,
      version: rr.version,
      assign: (group) => rr.assign(group),
      protocol: ({ topics }) => ({
        name: rr.name,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: rr.version,
          topics,
          userData: Buffer.from(JSON.stringify({ httpUrl })),
        }),
      }),
    };
  };
}

/** How long an instance trusts what it learnt of other members' partitions, ms. */
export const OWNERS_MAX_AGE_MS = 2_000;

/** Owners of a topic's partitions in one group, cached for `maxAgeMs` (refreshed on a miss). */
export class PartitionOwners {
  private owners = new Map<number, string>();
  private fetchedAtMs = 0;
  private inflight: Promise<void> | null = null;
  private admin: Promise<Admin> | null = null;
  /** Bumped by invalidate(): a load begun before it may describe the group before the rebalance. */
  private generation = 0;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly maxAgeMs = OWNERS_MAX_AGE_MS,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The HTTP URL of the member that owns `partition`; null while nobody (known) does. */
  async ownerOf(partition: number): Promise<string | null> {
    if (this.closed) return null; // a lookup that raced the stop must not connect a new admin
    const fresh = this.nowMs() - this.fetchedAtMs < this.maxAgeMs;
    if (!fresh || !this.owners.has(partition)) await this.refresh();
    return this.owners.get(partition) ?? null;
  }

  /** Forget the cache (the group rebalanced). */
  invalidate(): void {
    this.fetchedAtMs = 0;
    this.generation++;
    this.inflight = null;
    // A lookup awaiting a load begun before this gets "no owner known" (503, retry), not an old one.
    this.owners = new Map();
  }

  async close(): Promise<void> {
    this.closed = true;
    const admin = this.admin;
    this.admin = null;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  /** One admin client, connected once even when loads overlap; a failed connect is tried again. */
  private connectedAdmin(): Promise<Admin> {
    if (this.admin) return this.admin;
    const connecting = (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.admin = connecting;
    connecting.catch(() => {
      if (this.admin === connecting) this.admin = null;
    });
    return connecting;
  }

  private refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    const loading: Promise<void> = this.load().finally(() => {
      if (this.inflight === loading) this.inflight = null;
    });
    this.inflight = loading;
    return loading;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const admin = await this.connectedAdmin();
    const { groups } = await admin.describeGroups([this.groupId]);
    const owners = new Map<number, string>();
    for (const m of groups[0]?.members ?? []) {
      const url = httpUrlOf(m.memberMetadata);
      const assignment =
        m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      if (!url || !assignment) continue;
      for (const p of assignment.assignment[this.topic] ?? []) owners.set(p, url);
    }
    // Described before a rebalance that began meanwhile: not kept, or it would be trusted as fresh.
    if (generation !== this.generation) return;
    this.owners = owners;
    this.fetchedAtMs = this.nowMs();
  }
}

function httpUrlOf(metadata: Buffer): string | null {
  try {
    const userData = AssignerProtocol.MemberMetadata.decode(metadata)?.userData;
    if (!userData || userData.length === 0) return null;
    const parsed = JSON.parse(userData.toString('utf8')) as { httpUrl?: unknown };
    return typeof parsed.httpUrl === 'string' ? parsed.httpUrl : null;
  } catch {
    return null; // a member of another version or client: no address published
  }
}
