/**
 * The service configuration: the only module that reads the environment (STYLE.md §6).
 *
 * loadConfig() parses every variable in VARIABLES, checks cross-field rules, and either returns
 * one deeply frozen Config (units in every name) or throws ONE ProcessorError(CONFIG_INVALID)
 * whose message lists every problem, each with its variable name. The ConfigMap in k8s/ has
 * exactly these keys (checked by a test).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { ProcessorError } from './errors';

export type Env = Readonly<Record<string, string | undefined>>;

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

interface VarSpec<T> {
  /** What the variable means, with its unit; shown in errors and the README reference. */
  readonly doc: string;
  /** Used when the variable is unset or empty; absent = required. */
  readonly default?: string;
  readonly parse: (raw: string) => Parsed<T>;
  /** Marks secrets: their values never appear in errors or logs. */
  readonly secret?: boolean;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (error: string): Parsed<never> => ({ ok: false, error });

function str(opts: { pattern?: RegExp; hint?: string } = {}): VarSpec<string>['parse'] {
  return (raw) =>
    opts.pattern && !opts.pattern.test(raw)
      ? fail(`should match ${opts.hint ?? String(opts.pattern)}`)
      : ok(raw);
}

function int(min: number, max: number): VarSpec<number>['parse'] {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return fail('should be an integer');
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) return fail(`should be between ${min} and ${max}`);
    return ok(n);
  };
}

function num(min: number, max: number): VarSpec<number>['parse'] {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) return fail('should be a number');
    if (n < min || n > max) return fail(`should be between ${min} and ${max}`);
    return ok(n);
  };
}

function thresholds3(): VarSpec<readonly [number, number, number]>['parse'] {
  return (raw) => {
    const parts = raw.split(',').map((x) => Number(x.trim()));
    const [a, b, c] = parts as [number, number, number];
    if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x) || x <= 0 || x >= 1) || !(a < b && b < c))
      return fail('should be three increasing numbers in (0, 1), e.g. 0.5,0.75,0.9');
    return ok([a, b, c] as const);
  };
}

function bool(): VarSpec<boolean>['parse'] {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return ok(true);
    if (['false', '0', 'no', 'off'].includes(v)) return ok(false);
    return fail('should be one of true, false');
  };
}

function oneOf<const T extends string>(choices: readonly T[]): VarSpec<T>['parse'] {
  return (raw) =>
    (choices as readonly string[]).includes(raw)
      ? ok(raw as T)
      : fail(`should be one of ${choices.join(', ')}`);
}

/** `raw` with any URL user info (user:password@) masked, for error messages. */
function withoutUserInfo(raw: string): string {
  return raw.replace(/(\/\/)[^/@\s]*@/g, '$1<credentials>@');
}

function url(): VarSpec<string>['parse'] {
  return (raw) => {
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        return fail('should be an http:// or https:// URL');
      // Credentials in a URL would bypass the secret handling (masking, the clear-text checks).
      if (u.username !== '' || u.password !== '')
        return fail('should carry no credentials (user:password@): set them in their own variables');
      return ok(raw.replace(/\/+$/, ''));
    } catch {
      return fail('should be a URL such as http://127.0.0.1:18081/apis/ccompat/v7');
    }
  };
}

/** Comma-separated URLs (each as url() accepts it), at least one, no repeats. */
function urls(): VarSpec<readonly string[]>['parse'] {
  const one = url();
  return (raw) => {
    const list: string[] = [];
    for (const part of raw.split(',').map((x) => x.trim())) {
      const r = one(part);
      if (!r.ok) return fail(`${r.error} (entry ${JSON.stringify(withoutUserInfo(part))})`);
      if (list.includes(r.value)) return fail(`should not list ${r.value} twice`);
      list.push(r.value);
    }
    return ok(list);
  };
}

function brokers(): VarSpec<readonly string[]>['parse'] {
  return (raw) => {
    const list = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (list.length === 0) return fail('should list at least one host:port');
    const bad = list.filter((b) => !/^[A-Za-z0-9._\-[\]:]+:\d{1,5}$/.test(b));
    if (bad.length > 0) return fail(`should be comma-separated host:port entries (bad: ${bad.join(', ')})`);
    return ok(list);
  };
}

/** A path to a readable regular file (certificates and keys, mounted from Secrets). */
function file(): VarSpec<string>['parse'] {
  return (raw) => {
    try {
      if (!statSync(raw).isFile()) return fail('should be a readable file (it is not a regular file)');
      accessSync(raw, constants.R_OK);
      return ok(raw);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return fail(`should be a readable file (${typeof code === 'string' ? code : 'unreadable'})`);
    }
  };
}

const TOPIC = {
  pattern: /^[A-Za-z0-9._-]{1,249}$/,
  hint: 'a Kafka topic name ([A-Za-z0-9._-], ≤ 249 chars)',
};

/** Every variable the service reads. Keys are the exact environment variable names. */
export const VARIABLES = {
  IDRIFT_KAFKA_BROKERS: { doc: 'Kafka bootstrap servers, comma-separated host:port.', parse: brokers() },
  IDRIFT_KAFKA_CLIENT_ID: { doc: 'Kafka client id prefix.', default: 'interest-drift', parse: str() },
  IDRIFT_KAFKA_SASL_MECHANISM: {
    doc: 'SASL mechanism for Kafka: scram-sha-512, scram-sha-256 or plain (plain only with TLS); unset = no SASL. Needs IDRIFT_KAFKA_SASL_USERNAME and IDRIFT_KAFKA_SASL_PASSWORD.',
    default: '',
    parse: oneOf(['scram-sha-512', 'scram-sha-256', 'plain'] as const),
  },
  IDRIFT_KAFKA_SASL_USERNAME: {
    doc: 'SASL user name (the KafkaUser name); only with IDRIFT_KAFKA_SASL_MECHANISM.',
    default: '',
    parse: str(),
  },
  IDRIFT_KAFKA_SASL_PASSWORD: {
    doc: 'SASL password (secret, never logged); only with IDRIFT_KAFKA_SASL_MECHANISM.',
    default: '',
    secret: true,
    parse: str(),
  },
  IDRIFT_KAFKA_TLS: {
    doc: 'Connect to the Kafka brokers over TLS.',
    default: 'false',
    parse: bool(),
  },
  IDRIFT_KAFKA_TLS_CA_FILE: {
    doc: "PEM file with the CA certificate(s) that signed the brokers' certificates; unset = the system CAs. Needs IDRIFT_KAFKA_TLS=true.",
    default: '',
    parse: file(),
  },
  IDRIFT_KAFKA_TLS_CERT_FILE: {
    doc: 'PEM client certificate for mutual TLS with the brokers; set together with IDRIFT_KAFKA_TLS_KEY_FILE. Needs IDRIFT_KAFKA_TLS=true.',
    default: '',
    parse: file(),
  },
  IDRIFT_KAFKA_TLS_KEY_FILE: {
    doc: 'PEM private key of IDRIFT_KAFKA_TLS_CERT_FILE (never logged).',
    default: '',
    parse: file(),
  },
  IDRIFT_SCHEMA_REGISTRY_URL: {
    doc: 'Base URL of the Confluent-API schema registry (for Apicurio: …/apis/ccompat/v7).',
    parse: url(),
  },
  IDRIFT_SCHEMA_REGISTRY_USERNAME: {
    doc: 'HTTP basic-auth user for the schema registry; set together with IDRIFT_SCHEMA_REGISTRY_PASSWORD.',
    default: '',
    parse: str(),
  },
  IDRIFT_SCHEMA_REGISTRY_PASSWORD: {
    doc: 'HTTP basic-auth password for the schema registry (secret, never logged).',
    default: '',
    secret: true,
    parse: str(),
  },
  IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE: {
    doc: "PEM file with the CA certificate(s) that signed the registry's certificate; unset = the system CAs. Needs an https:// registry URL.",
    default: '',
    parse: file(),
  },
  IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE: {
    doc: 'PEM client certificate for mutual TLS with the registry; set together with IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE.',
    default: '',
    parse: file(),
  },
  IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE: {
    doc: 'PEM private key of IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE (never logged).',
    default: '',
    parse: file(),
  },
  IDRIFT_APP_ID: {
    doc: 'Application id: consumer group, transactional id prefix and changelog topic prefix.',
    default: 'interest-drift',
    parse: str({ pattern: /^[a-z0-9][a-z0-9._-]{0,99}$/, hint: 'lower-case [a-z0-9._-], ≤ 100 chars' }),
  },
  IDRIFT_INPUT_TOPIC: { doc: 'Input clickstream topic.', default: 'clickstream.events', parse: str(TOPIC) },
  IDRIFT_MIGRATIONS_TOPIC: {
    doc: 'Output topic for InterestMigration.',
    default: 'interest.migrations',
    parse: str(TOPIC),
  },
  IDRIFT_CHURN_TOPIC: { doc: 'Output topic for ChurnRisk.', default: 'churn.risk', parse: str(TOPIC) },
  IDRIFT_PROFILES_TOPIC: {
    doc: 'Compacted output topic for InterestProfile.',
    default: 'interest.profiles',
    parse: str(TOPIC),
  },
  IDRIFT_PROFILES_ENABLED: { doc: 'Emit InterestProfile records.', default: 'true', parse: bool() },
  IDRIFT_PROFILE_MIN_INTERVAL_MS: {
    doc: 'At most one InterestProfile per user per this much event time, ms.',
    default: '600000',
    parse: int(0, 30 * 86_400_000),
  },
  IDRIFT_DLQ_TOPIC: { doc: 'Dead-letter topic.', default: 'clickstream.events.dlq', parse: str(TOPIC) },
  IDRIFT_ALERT_BRIDGE_DLQ_TOPIC: {
    doc: "alert-bridge's dead-letter topic: churn records it cannot decode (original bytes, reason in headers).",
    default: 'churn.risk.dlq',
    parse: str(TOPIC),
  },
  IDRIFT_LATE_TOPIC: {
    doc: 'Topic for events later than the allowed lateness (original bytes, reason and watermark in headers).',
    default: 'clickstream.events.late',
    parse: str(TOPIC),
  },
  IDRIFT_LATE_TOPIC_ENABLED: {
    doc: 'Send late events to IDRIFT_LATE_TOPIC; false = count them (idrift_events_late_total) and drop them.',
    default: 'true',
    parse: bool(),
  },
  IDRIFT_TRANSACTION_TIMEOUT_MS: {
    doc: 'Kafka transaction timeout, ms; an abandoned transaction is aborted by the broker after it.',
    default: '30000',
    parse: int(1_000, 900_000),
  },
  IDRIFT_SESSION_TIMEOUT_MS: {
    doc: 'Consumer group session timeout, ms.',
    default: '30000',
    parse: int(6_000, 300_000),
  },
  IDRIFT_HEARTBEAT_INTERVAL_MS: {
    doc: 'Consumer heartbeat interval, ms.',
    default: '3000',
    parse: int(100, 100_000),
  },
  IDRIFT_MAX_RECORD_BYTES: {
    doc: 'Input records larger than this (key + value bytes) are dead-lettered.',
    default: '65536',
    parse: int(256, 10_485_760),
  },
  IDRIFT_MAX_BATCH_RECORDS: {
    doc: 'Records per Kafka transaction at most (a fetched batch is split into chunks of this size).',
    default: '2000',
    parse: int(1, 100_000),
  },
  IDRIFT_INPUT_PARTITIONS: {
    doc: 'Partitions of the input topic when the service creates it (and of every co-partitioned topic).',
    default: '4',
    parse: int(1, 10_000),
  },
  IDRIFT_CREATE_TOPICS: {
    doc: 'Create missing topics at start-up (off where topics are managed, e.g. Strimzi).',
    default: 'true',
    parse: bool(),
  },
  IDRIFT_TOPIC_REPLICATION_FACTOR: {
    doc: 'Replication factor of topics the service creates.',
    default: '1',
    parse: int(1, 10),
  },
  IDRIFT_ALLOWED_LATENESS_MS: {
    doc: 'Events older than the partition watermark by more than this are late: sent to IDRIFT_LATE_TOPIC (or counted and dropped), ms.',
    default: '600000',
    parse: int(0, 30 * 86_400_000),
  },
  IDRIFT_STATE_TTL_MS: {
    doc: "Users without an event for this long behind the partition watermark are evicted (changelog tombstone, and a profile tombstone when profiles are on; a later event starts them afresh), event time, ms (0 = keep for ever). Under 14 days (the churn ladder's last re-score) the start logs a warning: an evicted user's open churn alert is resolved (OTHER).",
    default: '2592000000',
    parse: int(0, 3650 * 86_400_000),
  },
  IDRIFT_STATE_FLUSH_INTERVAL_MS: {
    doc: 'Each changed user state is written to the changelog this many wall-clock ms after its first change since its last write, oldest first, a few per transaction (a restart replays the input since the oldest unwritten change). 0 = at the next transaction.',
    default: '10000',
    parse: int(0, 3_600_000),
  },
  IDRIFT_STATE_FLUSH_MAX_RECORDS: {
    doc: 'A changed state is also written once this many input records of its partition followed its first change: about the most a restart replays.',
    default: '50000',
    parse: int(1, 10_000_000),
  },
  IDRIFT_STATE_FLUSH_MAX_STATES: {
    doc: 'The most user states one transaction writes to the changelog; the rest wait for the next ones (bounds each transaction after a replay or a burst). A processing-time timer tick writes every state it changed in its own transaction, whatever their number.',
    default: '1000',
    parse: int(1, 1_000_000),
  },
  IDRIFT_STATE_CACHE_BYTES: {
    doc: 'Bytes of decoded user states kept in memory, all partitions of the process together (estimated: about 2.5 KB for a new user, 4.3 KB for a full window and histograms): the most recently written are kept, their next event needs no decode, and each is encoded once per changelog write, not once per transaction. 0 = encode every state at every transaction.',
    default: String(256 * 1024 * 1024),
    parse: int(0, 64 * 1024 * 1024 * 1024),
  },
  IDRIFT_STATE_CACHE_USERS: {
    doc: 'Optional further bound: at most this many decoded user states per partition (unset = IDRIFT_STATE_CACHE_BYTES alone bounds them).',
    default: '',
    parse: int(0, 10_000_000),
  },
  IDRIFT_MAX_EVENT_FUTURE_MS: {
    doc: 'Events whose time leads their record timestamp by more than this are dead-lettered, ms.',
    default: '3600000',
    parse: int(0, 30 * 86_400_000),
  },
  IDRIFT_MAX_EVENT_AGE_MS: {
    doc: 'Events whose time trails their record timestamp by more than this are dead-lettered, ms (0 = no limit; a replay of historical data stamps records when it produces them). Event times before 2000 or after 2100 are always dead-lettered.',
    default: '0',
    parse: int(0, 100 * 365 * 86_400_000),
  },
  IDRIFT_IDLE_PARTITION_TIMER_MS: {
    doc: 'Processing-time churn timers: after this many wall-clock ms without records, a partition watermark advances with the wall clock (0 = off; replays stay deterministic only when off).',
    default: '0',
    parse: int(0, 86_400_000),
  },
  IDRIFT_CHURN_MODEL_PATH: {
    doc: 'Path of the learned churn hazard (JSON, onnx/train_churn_hazard.py); `none` = the encoder inactivity head grown by idle time (before 0.5).',
    default: 'onnx/artifacts/churn-hazard.json',
    parse: str(),
  },
  IDRIFT_CHURN_LEVEL_THRESHOLDS: {
    doc: "Churn risk thresholds of LOW, MEDIUM, HIGH: three increasing numbers in (0, 1), comma-separated; unset = the churn model file's (probabilities reached by 20 %, 10 % and 5 % of its training checkpoints), or 0.5,0.75,0.9 without one.",
    default: '',
    parse: thresholds3(),
  },
  IDRIFT_DRIFT_ENTER_THRESHOLD: {
    doc: 'Override of the calibrated drift enter threshold (0..1); unset = model metadata.',
    default: '',
    parse: num(0, 1),
  },
  IDRIFT_DRIFT_EXIT_THRESHOLD: {
    doc: 'Override of the calibrated drift exit threshold (0..1, below the enter threshold); unset = model metadata.',
    default: '',
    parse: num(0, 1),
  },
  IDRIFT_ALERTMANAGER_URL: {
    doc: "Base URL of the Prometheus Alertmanager that `interest-drift alert-bridge` posts churn alerts to (v2 API); for an HA cluster, every replica's URL, comma-separated (each alert goes to each replica); unused by `run`.",
    default: '',
    parse: urls(),
  },
  IDRIFT_ALERT_INCLUDE_USER_ID: {
    doc: 'alert-bridge: also put the real user id in an annotation (user_id); labels only ever carry the keyed pseudonym.',
    default: 'false',
    parse: bool(),
  },
  IDRIFT_ALERT_FIRING_TTL_MS: {
    doc: 'alert-bridge: a raised alert stays firing this long unless resolved earlier (its endsAt), ms.',
    default: String(7 * 86_400_000),
    parse: int(60_000, 90 * 86_400_000),
  },
  IDRIFT_LOG_PSEUDONYM_KEY: {
    doc: 'Secret key for pseudonymising user ids in logs (and in alert labels); unset = a random key per process, except for alert-bridge, which requires it (alerts must name a user by the same pseudonym across restarts).',
    default: '',
    secret: true,
    parse: str({ pattern: /^.{16,}$/, hint: 'at least 16 characters' }),
  },
  IDRIFT_MODEL_PATH: {
    doc: 'Path of the encoder ONNX file.',
    default: 'onnx/artifacts/encoder.onnx',
    parse: str(),
  },
  IDRIFT_MODEL_META_PATH: {
    doc: 'Path of the encoder metadata JSON.',
    default: 'onnx/artifacts/encoder.meta.json',
    parse: str(),
  },
  IDRIFT_EXECUTION_PROVIDER: {
    doc: 'ONNX execution provider: auto (CUDA if available, else CPU), cuda, or cpu.',
    default: 'auto',
    parse: oneOf(['auto', 'cuda', 'cpu'] as const),
  },
  IDRIFT_ENCODER_THREAD: {
    doc: 'Where the encoder runs: worker (its own thread, so a model call does not block Kafka I/O, other partitions or the HTTP API) or main (the event-loop thread).',
    default: 'worker',
    parse: oneOf(['worker', 'main'] as const),
  },
  IDRIFT_HTTP_HOST: {
    doc: 'Address the HTTP server (/metrics, /healthz, /readyz, /v1/users/…/interests) binds to.',
    default: '127.0.0.1',
    parse: str(),
  },
  IDRIFT_HTTP_ADVERTISED_URL: {
    doc: 'Base URL other instances redirect interest lookups to (published through the consumer group); unset = http://<IDRIFT_HTTP_HOST>:<port> when the host is a specific address (so 127.0.0.1, the default, advertises loopback: set this for several instances), else http://<first non-loopback IPv4>:<port>.',
    default: '',
    parse: url(),
  },
  IDRIFT_HTTP_PORT: {
    doc: 'Port of the HTTP server (0 = any free port).',
    default: '9464',
    parse: int(0, 65_535),
  },
  IDRIFT_LOOKUP_CACHE_USERS: {
    doc: 'Users whose interest lookup answers the HTTP thread holds (least recently looked up dropped first; about 0.7 KB each): a lookup of one of them is answered without waiting for the processing thread, and each of their committed changes costs the processing thread a new answer; redirects to other instances are repeated there too, by partition. 0 = every lookup waits for the processing thread.',
    default: '50000',
    parse: int(0, 10_000_000),
  },
  IDRIFT_LOG_LEVEL: {
    doc: 'Minimum log level.',
    default: 'info',
    parse: oneOf(['debug', 'info', 'warn', 'error'] as const),
  },
  IDRIFT_SHUTDOWN_GRACE_MS: {
    doc: 'On SIGTERM, ms for the stop (finish and commit the in-flight batch, write the dirty states, close the clients); added to IDRIFT_SHUTDOWN_FORCE_MS, it is one deadline for the whole stop, after which the process exits anyway (an unfinished transaction is aborted: nothing lost or duplicated).',
    default: '20000',
    parse: int(0, 600_000),
  },
  IDRIFT_SHUTDOWN_FORCE_MS: {
    doc: "Added to IDRIFT_SHUTDOWN_GRACE_MS: the stop's one deadline (no separate phase; kept as its own variable for existing deployments).",
    default: '5000',
    parse: int(0, 600_000),
  },
} satisfies Record<string, VarSpec<unknown>>;

type Vars = typeof VARIABLES;
type ValueOf<K extends keyof Vars> = Vars[K]['parse'] extends VarSpec<infer T>['parse'] ? T : never;
type Values = { [K in keyof Vars]: ValueOf<K> };

/** SASL credentials for Kafka. The password is a secret: never log it. */
export interface SaslConfig {
  readonly mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain';
  readonly username: string;
  readonly password: string;
}

/**
 * TLS material as file paths (mounted Secrets); the files are read when the clients are built.
 * null paths mean the system CAs / no client certificate.
 */
export interface TlsConfig {
  readonly caFile: string | null;
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

/** The parsed, frozen configuration. Units are in the names; nothing here is re-read later. */
export interface Config {
  readonly appId: string;
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly transactionTimeoutMs: number;
    readonly maxRecordBytes: number;
    readonly maxBatchRecords: number;
    readonly createTopics: boolean;
    readonly inputPartitions: number;
    readonly replicationFactor: number;
    /** null = no SASL. */
    readonly sasl: SaslConfig | null;
    /** null = plaintext. */
    readonly tls: TlsConfig | null;
  };
  readonly processing: {
    readonly allowedLatenessMs: number;
    /** Event-time idle period after which a user's state is evicted, ms (0 = never). */
    readonly stateTtlMs: number;
    /** Wall-clock ms from a state's first unwritten change to its changelog write (0 = next transaction). */
    readonly flushIntervalMs: number;
    /** Input records of the partition after a state's first unwritten change that make it due regardless of time. */
    readonly flushMaxRecords: number;
    /** User states one transaction writes at most. */
    readonly flushMaxStates: number;
    /** Bytes of decoded states kept by the whole process (IDRIFT_STATE_CACHE_BYTES). */
    readonly stateCacheBytes: number;
    /** Decoded states kept per partition at most (IDRIFT_STATE_CACHE_USERS); null = no count bound. */
    readonly stateCacheUsers: number | null;
    readonly maxEventFutureMs: number;
    /** 0 = no limit. */
    readonly maxEventAgeMs: number;
    readonly idlePartitionTimerMs: number;
    readonly driftEnterThreshold: number | null;
    readonly driftExitThreshold: number | null;
    /** null = no hazard model (IDRIFT_CHURN_MODEL_PATH=none). */
    readonly churnModelPath: string | null;
    /** null = the churn model's own (or the core default without one). */
    readonly churnLevelThresholds: readonly [number, number, number] | null;
  };
  /** Secret; never logged. */
  readonly logPseudonymKey: string | null;
  readonly registry: {
    readonly url: string;
    /** HTTP basic auth; null = none. The password is a secret. */
    readonly auth: { readonly username: string; readonly password: string } | null;
    /** TLS options for an https:// URL; null = Node's defaults. */
    readonly tls: TlsConfig | null;
  };
  readonly topics: {
    readonly input: string;
    readonly migrations: string;
    readonly churn: string;
    readonly profiles: string;
    readonly deadLetter: string;
    /** alert-bridge's dead letters: churn records it cannot decode. */
    readonly alertBridgeDeadLetter: string;
    /** Late events, when `lateTopicEnabled`. */
    readonly late: string;
    /** Compacted changelog of the user-state store, derived from the app id. */
    readonly userStateChangelog: string;
  };
  readonly profilesEnabled: boolean;
  /** At most one profile per user per this much event time, ms. */
  readonly profileMinIntervalMs: number;
  /** Late events go to `topics.late` (true) or are counted and dropped (false). */
  readonly lateTopicEnabled: boolean;
  readonly model: {
    readonly path: string;
    readonly metaPath: string;
    readonly executionProvider: 'auto' | 'cuda' | 'cpu';
    readonly thread: 'worker' | 'main';
  };
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** Base URL published for lookup redirects; null = derived from the host's address at start. */
    readonly advertisedUrl: string | null;
    /** Users whose lookup answers the HTTP thread caches (IDRIFT_LOOKUP_CACHE_USERS). */
    readonly lookupCacheUsers: number;
  };
  /** The alert bridge (`interest-drift alert-bridge`). */
  readonly alerts: {
    /** One URL per Alertmanager replica; empty = not configured. */
    readonly alertmanagerUrls: readonly string[];
    readonly includeUserId: boolean;
    readonly firingTtlMs: number;
  };
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly shutdown: { readonly graceMs: number; readonly forceMs: number };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * What a command needs beyond every variable's own rules. Checked in the same pass as the
 * variables, so a command reports all its configuration problems in one error.
 */
export interface ConfigNeeds {
  /**
   * The encoder, its metadata and the churn hazard (unless `none`) are readable regular files
   * (`run`, `demo`, `eval`). Checked here, not when the files are opened: the churn hazard is
   * read only once Kafka answers, so a mistyped path would surface minutes later, alone.
   */
  readonly modelFiles?: boolean;
  /** An Alertmanager URL and a fixed pseudonym key (alert user labels must stay stable): `alert-bridge`. */
  readonly alerting?: boolean;
}

const MODEL_FILES = ['IDRIFT_MODEL_PATH', 'IDRIFT_MODEL_META_PATH', 'IDRIFT_CHURN_MODEL_PATH'] as const;

/** The problems of `needs` on the values that parsed (a variable that failed is reported already). */
function needProblems(
  p: Partial<Values>,
  failed: ReadonlySet<string>,
  needs: ConfigNeeds,
  command: string,
): string[] {
  const problems: string[] = [];
  if (needs.modelFiles) {
    const isFile = file();
    for (const n of MODEL_FILES) {
      const path = p[n];
      if (path === undefined || (n === 'IDRIFT_CHURN_MODEL_PATH' && path === 'none')) continue;
      const r = isFile(path);
      if (!r.ok) problems.push(`${n}=${JSON.stringify(path)} ${r.error}; ${command} reads it`);
    }
  }
  if (needs.alerting) {
    if (p.IDRIFT_ALERTMANAGER_URL === undefined && !failed.has('IDRIFT_ALERTMANAGER_URL'))
      problems.push(`IDRIFT_ALERTMANAGER_URL is required by ${command}`);
    if (p.IDRIFT_LOG_PSEUDONYM_KEY === undefined && !failed.has('IDRIFT_LOG_PSEUDONYM_KEY'))
      problems.push(
        `IDRIFT_LOG_PSEUDONYM_KEY is required by ${command} (alert user labels must stay stable)`,
      );
  }
  return problems;
}

/**
 * Parse and validate the configuration for `command` (named in the messages of its `needs`).
 * Throws ProcessorError('CONFIG_INVALID') listing every problem at once; never returns a
 * partially valid Config.
 */
export function loadConfig(
  env: Env = process.env,
  needs: ConfigNeeds = {},
  command = 'this command',
): Config {
  const errors: string[] = [];
  const values: Partial<Record<string, unknown>> = {};
  for (const [name, spec] of Object.entries(VARIABLES) as [string, VarSpec<unknown>][]) {
    const raw = env[name];
    const given = raw !== undefined && raw.trim() !== '';
    if (!given && spec.default === undefined) {
      errors.push(`${name} is required: ${spec.doc}`);
      continue;
    }
    if (!given && spec.default === '') continue; // optional and unset
    const parsed = spec.parse(given ? raw : (spec.default as string));
    if (parsed.ok) values[name] = parsed.value;
    else
      errors.push(
        `${name}=${spec.secret ? '<secret>' : JSON.stringify(withoutUserInfo(raw ?? ''))} ${parsed.error}`,
      );
  }
  // Rules across variables run even when some variable did not parse, on those that did, so one
  // run reports every problem. A variable given but unparsable counts as set for pairing rules.
  const v = values as Values;
  const p = values as Partial<Values>;
  const failed = new Set(
    Object.keys(VARIABLES).filter((n) => env[n] !== undefined && env[n].trim() !== '' && !(n in values)),
  );
  if (
    p.IDRIFT_HEARTBEAT_INTERVAL_MS !== undefined &&
    p.IDRIFT_SESSION_TIMEOUT_MS !== undefined &&
    p.IDRIFT_HEARTBEAT_INTERVAL_MS * 3 > p.IDRIFT_SESSION_TIMEOUT_MS
  ) {
    errors.push('IDRIFT_HEARTBEAT_INTERVAL_MS should be at most a third of IDRIFT_SESSION_TIMEOUT_MS');
  }
  const enter = p.IDRIFT_DRIFT_ENTER_THRESHOLD;
  const exit = p.IDRIFT_DRIFT_EXIT_THRESHOLD;
  if (enter !== undefined && exit !== undefined && exit >= enter) {
    errors.push('IDRIFT_DRIFT_EXIT_THRESHOLD should be below IDRIFT_DRIFT_ENTER_THRESHOLD');
  }
  const topics = [
    'IDRIFT_INPUT_TOPIC',
    'IDRIFT_MIGRATIONS_TOPIC',
    'IDRIFT_CHURN_TOPIC',
    'IDRIFT_PROFILES_TOPIC',
    'IDRIFT_DLQ_TOPIC',
    'IDRIFT_ALERT_BRIDGE_DLQ_TOPIC',
    'IDRIFT_LATE_TOPIC',
  ] as const;
  const seen = new Map<string, string>();
  // The state changelog's name is derived from the application id (Config.topics.userStateChangelog).
  if (p.IDRIFT_APP_ID !== undefined)
    seen.set(`${p.IDRIFT_APP_ID}.user-state`, 'the state changelog (IDRIFT_APP_ID + ".user-state")');
  for (const t of topics) {
    const name = p[t];
    if (name === undefined) continue;
    const other = seen.get(name);
    if (other) errors.push(`${t} and ${other} name the same topic "${name}"`);
    seen.set(name, t);
  }
  errors.push(...securityProblems(p, failed));
  errors.push(...needProblems(p, failed, needs, command));
  if (errors.length > 0) {
    throw new ProcessorError(
      'CONFIG_INVALID',
      `Invalid configuration (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n  - ${errors.join('\n  - ')}`,
      { context: { problems: errors.length } },
    );
  }
  const o = v as Partial<Values>;
  const tls = (ca?: string, cert?: string, key?: string): TlsConfig => ({
    caFile: ca ?? null,
    certFile: cert ?? null,
    keyFile: key ?? null,
  });
  const registryTlsSet = [
    o.IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE,
    o.IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE,
    o.IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE,
  ].some((x) => x !== undefined);
  return deepFreeze<Config>({
    appId: v.IDRIFT_APP_ID,
    kafka: {
      brokers: v.IDRIFT_KAFKA_BROKERS,
      clientId: v.IDRIFT_KAFKA_CLIENT_ID,
      sessionTimeoutMs: v.IDRIFT_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: v.IDRIFT_HEARTBEAT_INTERVAL_MS,
      transactionTimeoutMs: v.IDRIFT_TRANSACTION_TIMEOUT_MS,
      maxRecordBytes: v.IDRIFT_MAX_RECORD_BYTES,
      maxBatchRecords: v.IDRIFT_MAX_BATCH_RECORDS,
      createTopics: v.IDRIFT_CREATE_TOPICS,
      inputPartitions: v.IDRIFT_INPUT_PARTITIONS,
      replicationFactor: v.IDRIFT_TOPIC_REPLICATION_FACTOR,
      sasl:
        o.IDRIFT_KAFKA_SASL_MECHANISM === undefined
          ? null
          : {
              mechanism: o.IDRIFT_KAFKA_SASL_MECHANISM,
              username: o.IDRIFT_KAFKA_SASL_USERNAME ?? '',
              password: o.IDRIFT_KAFKA_SASL_PASSWORD ?? '',
            },
      tls: v.IDRIFT_KAFKA_TLS
        ? tls(o.IDRIFT_KAFKA_TLS_CA_FILE, o.IDRIFT_KAFKA_TLS_CERT_FILE, o.IDRIFT_KAFKA_TLS_KEY_FILE)
        : null,
    },
    processing: {
      allowedLatenessMs: v.IDRIFT_ALLOWED_LATENESS_MS,
      stateTtlMs: v.IDRIFT_STATE_TTL_MS,
      flushIntervalMs: v.IDRIFT_STATE_FLUSH_INTERVAL_MS,
      flushMaxRecords: v.IDRIFT_STATE_FLUSH_MAX_RECORDS,
      flushMaxStates: v.IDRIFT_STATE_FLUSH_MAX_STATES,
      stateCacheBytes: v.IDRIFT_STATE_CACHE_BYTES,
      stateCacheUsers: (v as Partial<Values>).IDRIFT_STATE_CACHE_USERS ?? null,
      maxEventFutureMs: v.IDRIFT_MAX_EVENT_FUTURE_MS,
      maxEventAgeMs: v.IDRIFT_MAX_EVENT_AGE_MS,
      idlePartitionTimerMs: v.IDRIFT_IDLE_PARTITION_TIMER_MS,
      driftEnterThreshold: (v as Partial<Values>).IDRIFT_DRIFT_ENTER_THRESHOLD ?? null,
      driftExitThreshold: (v as Partial<Values>).IDRIFT_DRIFT_EXIT_THRESHOLD ?? null,
      churnModelPath: v.IDRIFT_CHURN_MODEL_PATH === 'none' ? null : v.IDRIFT_CHURN_MODEL_PATH,
      churnLevelThresholds: (v as Partial<Values>).IDRIFT_CHURN_LEVEL_THRESHOLDS ?? null,
    },
    logPseudonymKey: (v as Partial<Values>).IDRIFT_LOG_PSEUDONYM_KEY ?? null,
    registry: {
      url: v.IDRIFT_SCHEMA_REGISTRY_URL,
      auth:
        o.IDRIFT_SCHEMA_REGISTRY_USERNAME === undefined
          ? null
          : {
              username: o.IDRIFT_SCHEMA_REGISTRY_USERNAME,
              password: o.IDRIFT_SCHEMA_REGISTRY_PASSWORD ?? '',
            },
      tls: registryTlsSet
        ? tls(
            o.IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE,
            o.IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE,
            o.IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE,
          )
        : null,
    },
    topics: {
      input: v.IDRIFT_INPUT_TOPIC,
      migrations: v.IDRIFT_MIGRATIONS_TOPIC,
      churn: v.IDRIFT_CHURN_TOPIC,
      profiles: v.IDRIFT_PROFILES_TOPIC,
      deadLetter: v.IDRIFT_DLQ_TOPIC,
      alertBridgeDeadLetter: v.IDRIFT_ALERT_BRIDGE_DLQ_TOPIC,
      late: v.IDRIFT_LATE_TOPIC,
      userStateChangelog: `${v.IDRIFT_APP_ID}.user-state`,
    },
    profilesEnabled: v.IDRIFT_PROFILES_ENABLED,
    profileMinIntervalMs: v.IDRIFT_PROFILE_MIN_INTERVAL_MS,
    lateTopicEnabled: v.IDRIFT_LATE_TOPIC_ENABLED,
    alerts: {
      alertmanagerUrls: (v as Partial<Values>).IDRIFT_ALERTMANAGER_URL ?? [],
      includeUserId: v.IDRIFT_ALERT_INCLUDE_USER_ID,
      firingTtlMs: v.IDRIFT_ALERT_FIRING_TTL_MS,
    },
    model: {
      path: v.IDRIFT_MODEL_PATH,
      metaPath: v.IDRIFT_MODEL_META_PATH,
      executionProvider: v.IDRIFT_EXECUTION_PROVIDER,
      thread: v.IDRIFT_ENCODER_THREAD,
    },
    http: {
      host: v.IDRIFT_HTTP_HOST,
      port: v.IDRIFT_HTTP_PORT,
      advertisedUrl: (v as Partial<Values>).IDRIFT_HTTP_ADVERTISED_URL ?? null,
      lookupCacheUsers: v.IDRIFT_LOOKUP_CACHE_USERS,
    },
    logLevel: v.IDRIFT_LOG_LEVEL,
    shutdown: { graceMs: v.IDRIFT_SHUTDOWN_GRACE_MS, forceMs: v.IDRIFT_SHUTDOWN_FORCE_MS },
  });
}

/** Cross-field rules of the Kafka and registry security variables; values of secrets never appear. */
/** `failed`: variables given but unparsable (reported already), which count as set here. */
function securityProblems(o: Partial<Values>, failed: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const set = (n: keyof Values): boolean => o[n] !== undefined || failed.has(n);
  const pair = (a: keyof Values, b: keyof Values): void => {
    if (set(a) !== set(b)) problems.push(`${a} and ${b} should be set together`);
  };
  if (set('IDRIFT_KAFKA_SASL_MECHANISM')) {
    for (const n of ['IDRIFT_KAFKA_SASL_USERNAME', 'IDRIFT_KAFKA_SASL_PASSWORD'] as const) {
      if (!set(n)) problems.push(`${n} is required when IDRIFT_KAFKA_SASL_MECHANISM is set`);
    }
    if (o.IDRIFT_KAFKA_SASL_MECHANISM === 'plain' && o.IDRIFT_KAFKA_TLS !== true) {
      problems.push(
        'IDRIFT_KAFKA_SASL_MECHANISM=plain sends the password in clear text: set IDRIFT_KAFKA_TLS=true',
      );
    }
  } else {
    for (const n of ['IDRIFT_KAFKA_SASL_USERNAME', 'IDRIFT_KAFKA_SASL_PASSWORD'] as const) {
      if (set(n)) problems.push(`${n} is set but IDRIFT_KAFKA_SASL_MECHANISM is not`);
    }
  }
  if (o.IDRIFT_KAFKA_TLS !== true) {
    for (const n of [
      'IDRIFT_KAFKA_TLS_CA_FILE',
      'IDRIFT_KAFKA_TLS_CERT_FILE',
      'IDRIFT_KAFKA_TLS_KEY_FILE',
    ] as const) {
      if (set(n)) problems.push(`${n} is set but IDRIFT_KAFKA_TLS is not true`);
    }
  }
  pair('IDRIFT_KAFKA_TLS_CERT_FILE', 'IDRIFT_KAFKA_TLS_KEY_FILE');
  pair('IDRIFT_SCHEMA_REGISTRY_USERNAME', 'IDRIFT_SCHEMA_REGISTRY_PASSWORD');
  pair('IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE', 'IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE');
  const registryTls = [
    'IDRIFT_SCHEMA_REGISTRY_TLS_CA_FILE',
    'IDRIFT_SCHEMA_REGISTRY_TLS_CERT_FILE',
    'IDRIFT_SCHEMA_REGISTRY_TLS_KEY_FILE',
  ] as const;
  if (o.IDRIFT_SCHEMA_REGISTRY_URL !== undefined && !o.IDRIFT_SCHEMA_REGISTRY_URL.startsWith('https:')) {
    if (set('IDRIFT_SCHEMA_REGISTRY_PASSWORD')) {
      problems.push(
        'IDRIFT_SCHEMA_REGISTRY_PASSWORD would travel in clear text: IDRIFT_SCHEMA_REGISTRY_URL should be an https:// URL',
      );
    }
    for (const n of registryTls) {
      if (set(n)) problems.push(`${n} is set but IDRIFT_SCHEMA_REGISTRY_URL is not an https:// URL`);
    }
  }
  return problems;
}

/**
 * loadConfig over the process environment, with `defaults` for variables the environment leaves
 * unset, for `command` with its `needs`.
 */
export function loadConfigWithDefaults(defaults: Env, needs: ConfigNeeds = {}, command?: string): Config {
  return loadConfig({ ...defaults, ...process.env }, needs, command);
}

/** Markdown table of every variable, for the README configuration reference. */
export function configReferenceMarkdown(): string {
  const rows = Object.entries(VARIABLES as Record<string, VarSpec<unknown>>).map(
    ([name, s]) =>
      `| \`${name}\` | ${s.default === undefined ? '**required**' : s.default === '' ? '(unset)' : `\`${s.default}\``} | ${s.doc} |`,
  );
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
