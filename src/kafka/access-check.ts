/**
 * What the service needs from Kafka's authorizer (derived from the Config) and the start-up check
 * that every permission is there, reported all at once. k8s/base/kafka-user.yaml grants exactly
 * this plan (the security integration test applies that manifest's ACLs).
 */
import { Kafka, logLevel } from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Config } from '../shared/config';
import type { ErrorCode } from '../shared/errors';
import { ProcessorError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { withRetry } from '../shared/retry';
import { alertBridgeGroup } from './alert-bridge';
import type { KafkaClientOptions } from './clients';
import { connectionConfig, plainFields } from './clients';
import type { KafkaOperation } from './failure-policy';
import { isKafkaRetriable, kafkaErrorType } from './failure-policy';

/** Every Kafka permission a component needs, derived from the Config. */
export interface KafkaAccessPlan {
  /** Who needs it, for the messages: 'the service' or 'alert-bridge'. */
  readonly component: string;
  /**
   * `mustExist`: a missing topic is reported (KAFKA_TOPIC_MISSING), not left to fail at first use.
   * `partitionsOf`: the topic is written partition by partition after this other topic of the plan,
   * so it needs at least as many partitions (else KAFKA_TOPIC_UNDERPARTITIONED).
   */
  readonly topics: readonly {
    readonly name: string;
    readonly operations: readonly KafkaOperation[];
    readonly mustExist?: boolean;
    readonly partitionsOf?: string;
  }[];
  /** Consumer groups; `probe` is a group id the check looks up (for a prefixed grant, one inside it). */
  readonly groups: readonly { readonly grant: string; readonly prefixed: boolean; readonly probe: string }[];
  /** Prefix of the per-partition transactional ids `<appId>-<inputTopic>-<partition>`; null = none used. */
  readonly transactionalIdPrefix: string | null;
}

export function kafkaAccessPlan(config: Config): KafkaAccessPlan {
  const t = config.topics;
  const write: KafkaOperation[] = ['Write', 'Describe'];
  return {
    component: 'the service',
    topics: [
      { name: t.input, operations: ['Read', 'Describe'] },
      { name: t.migrations, operations: write },
      { name: t.churn, operations: write },
      ...(config.profilesEnabled ? [{ name: t.profiles, operations: write }] : []),
      { name: t.deadLetter, operations: write, partitionsOf: t.input },
      ...(config.lateTopicEnabled ? [{ name: t.late, operations: write, partitionsOf: t.input }] : []),
      { name: t.userStateChangelog, operations: ['Read', 'Write', 'Describe'], partitionsOf: t.input },
    ],
    groups: [
      { grant: config.appId, prefixed: false, probe: config.appId },
      // changelog restore reads with a throw-away group `<appId>.restore.<pid>.<ms>`
      { grant: `${config.appId}.restore.`, prefixed: true, probe: `${config.appId}.restore.preflight` },
    ],
    transactionalIdPrefix: `${config.appId}-${t.input}-`,
  };
}

/**
 * What alert-bridge needs: read the churn topic in its group, write its dead-letter topic (an
 * idempotent producer: Write on a topic grants IdempotentWrite, KIP-679); both must exist. No
 * transactional id.
 */
export function alertBridgeAccessPlan(config: Config): KafkaAccessPlan {
  const group = alertBridgeGroup(config);
  return {
    component: 'alert-bridge',
    topics: [
      { name: config.topics.churn, operations: ['Read', 'Describe'], mustExist: true },
      {
        name: config.topics.alertBridgeDeadLetter,
        operations: ['Write', 'Describe'],
        mustExist: true,
        partitionsOf: config.topics.churn,
      },
    ],
    groups: [{ grant: group, prefixed: false, probe: group }],
    transactionalIdPrefix: null,
  };
}

/**
 * Checks, before the processor joins its group, that the Kafka user can reach everything in
 * `plan`, and throws ONE ProcessorError listing every missing permission:
 *   KAFKA_AUTHENTICATION_FAILED   the SASL credentials were refused
 *   KAFKA_AUTHORIZATION_FAILED    a topic, group or transactional id is not granted (missing
 *                                 topics of the plan listed with them)
 *   KAFKA_TOPIC_MISSING           everything granted, but a `mustExist` topic does not exist
 *   KAFKA_TOPIC_UNDERPARTITIONED  a `partitionsOf` topic has fewer partitions than its reference
 * Side-effect free except, when the plan has a transactional id prefix, one InitProducerId on
 * `<prefix>preflight`, which never begins a transaction (so it fences nobody).
 *
 * kafkajs hides a refused FindCoordinator (group or transactional id) behind "Failed to find
 * group coordinator"; this check's own client logs at debug level to read the broker's answer.
 * What it cannot see: a grant that has Describe but lacks Read/Write fails later, at the first
 * fetch or transaction.
 */
export async function verifyKafkaAccess(
  opts: KafkaClientOptions,
  plan: KafkaAccessPlan,
  logger: Logger,
): Promise<void> {
  const coordinatorErrors = new Map<string, string>();
  const log = logger.child('kafka-access');
  const kafka = new Kafka({
    ...connectionConfig({ ...opts, clientId: `${opts.clientId}-preflight` }),
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry as { message: string; groupId?: unknown; error?: unknown };
        const type = kafkaErrorType(rest.error);
        if (message === 'Tried to find group coordinator' && typeof rest.groupId === 'string' && type) {
          coordinatorErrors.set(rest.groupId, type);
        }
        if (level <= logLevel.ERROR && !message.startsWith('Response '))
          log.debug(message, plainFields(rest));
      },
  });
  const who = opts.sasl ? `Kafka user "${opts.sasl.username}"` : 'the Kafka client';
  const problems: string[] = [];
  const missing: string[] = [];
  const partitionCounts = new Map<string, number>();
  const deny = (resource: string, needs: readonly string[], type: string): void => {
    problems.push(`${resource}: denied (${type}); ${plan.component} needs ${needs.join(' + ')} on it`);
  };
  // Coordinators may still be loading (fresh cluster, moved partition): retry what kafkajs marks
  // retriable, a bounded number of times, so a transient state is never reported as missing ACLs.
  const retrying = <T>(fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, { initialDelayMs: 100, maxDelayMs: 2_000, maxRetries: 10, shouldRetry: isKafkaRetriable });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (e) {
    if ((e as { name?: unknown }).name === 'KafkaJSSASLAuthenticationError') {
      throw new ProcessorError(
        'KAFKA_AUTHENTICATION_FAILED',
        `Kafka refused the SASL ${opts.sasl?.mechanism ?? ''} credentials of ${who}`,
        { cause: e },
      );
    }
    throw e;
  }
  try {
    for (const t of plan.topics) {
      try {
        const { topics } = await retrying(() => admin.fetchTopicMetadata({ topics: [t.name] }));
        partitionCounts.set(t.name, topics[0]?.partitions.length ?? 0);
      } catch (e) {
        const type = kafkaErrorType(e);
        if (type === 'TOPIC_AUTHORIZATION_FAILED') deny(`topic "${t.name}"`, t.operations, type);
        else if (type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
        else if (t.mustExist) missing.push(`topic "${t.name}" does not exist; ${plan.component} needs it`);
      }
    }
    for (const g of plan.groups) {
      try {
        await retrying(() => admin.fetchOffsets({ groupId: g.probe }));
      } catch (e) {
        const type = kafkaErrorType(e) ?? coordinatorErrors.get(g.probe);
        if (type !== 'GROUP_AUTHORIZATION_FAILED') throw e;
        deny(`${g.prefixed ? 'groups with prefix' : 'group'} "${g.grant}"`, ['Read'], type);
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (plan.transactionalIdPrefix !== null) {
    const refused = await probeTransactionalIds(
      kafka,
      plan.transactionalIdPrefix,
      coordinatorErrors,
      problems.length,
    );
    if (refused) deny(refused.resource, refused.needs, refused.type);
  }
  /** One error naming every problem of a kind, one per line. */
  const listed = (code: ErrorCode, heading: string, items: readonly string[]): ProcessorError =>
    new ProcessorError(code, `${heading} (${items.length}):\n  - ${items.join('\n  - ')}`, {
      context: { problems: items.length },
    });
  if (problems.length > 0) {
    throw listed('KAFKA_AUTHORIZATION_FAILED', `${who} lacks Kafka permissions`, [...problems, ...missing]);
  }
  if (missing.length > 0) throw listed('KAFKA_TOPIC_MISSING', 'Kafka topics missing', missing);
  const few = underpartitioned(plan, partitionCounts);
  if (few.length > 0)
    throw listed('KAFKA_TOPIC_UNDERPARTITIONED', 'Kafka topics with too few partitions', few);
  log.info('kafka permissions verified', {
    topics: plan.topics.length,
    groups: plan.groups.length,
  });
}

/**
 * The `partitionsOf` topics of `plan` with fewer partitions than their reference, as messages;
 * topics whose count is not known (missing, denied) are left to the other checks.
 */
export function underpartitioned(plan: KafkaAccessPlan, counts: ReadonlyMap<string, number>): string[] {
  const found: string[] = [];
  for (const t of plan.topics) {
    if (t.partitionsOf === undefined) continue;
    const have = counts.get(t.name);
    const need = counts.get(t.partitionsOf);
    if (have === undefined || need === undefined || have >= need) continue;
    found.push(
      `topic "${t.name}" has ${have} partitions, "${t.partitionsOf}" ${need}: ${plan.component} writes ` +
        `partition p of the first for partition p of the second, and what it writes for partitions ${have} ` +
        `to ${need - 1} would be lost. Give it ${need} partitions (kafka-topics --alter --partitions ${need}); ` +
        'if the input grew, see "More partitions" in k8s/README.md',
    );
  }
  return found;
}

/**
 * One InitProducerId on `<prefix>preflight` (never begins a transaction, so it fences nobody).
 * Returns the refusal to report, or null; rethrows any other failure unless `knownProblems` > 0.
 */
async function probeTransactionalIds(
  kafka: Kafka,
  prefix: string,
  coordinatorErrors: ReadonlyMap<string, string>,
  knownProblems: number,
): Promise<{ resource: string; needs: string[]; type: string } | null> {
  const probe = `${prefix}preflight`;
  const producer = kafka.producer({ transactionalId: probe, idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const txn = await producer.transaction();
    await txn.abort();
    return null;
  } catch (e) {
    const type = kafkaErrorType(e) ?? coordinatorErrors.get(probe);
    if (type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED') {
      return { resource: `transactional ids with prefix "${prefix}"`, needs: ['Write', 'Describe'], type };
    }
    if (type === 'CLUSTER_AUTHORIZATION_FAILED') {
      // kafkajs' idempotent producer asks for a producer id without a transactional id first;
      // Kafka ≥ 3.0 grants that to anyone with Write on a topic (KIP-679).
      return {
        resource: 'the cluster',
        needs: ['IdempotentWrite (or Write on any topic, Kafka ≥ 3.0)'],
        type,
      };
    }
    if (knownProblems === 0) throw e;
    return null;
  } finally {
    await producer.disconnect();
  }
}
