/**
 * The command table: every command's options (parsed strictly, rendered by `--help`) and the
 * function that runs it. Exit codes: 0 clean stop, 1 fatal error, 2 bad usage or configuration.
 */
import { runAlertBridgeCommand } from './alert-bridge';
import type { Args, CommandSpec } from './args';
import { runDemo } from './demo';
import { runChangelog } from './changelog';
import { runDlq } from './dlq';
import { runEval } from './eval';
import { runInspect } from './inspect';
import { runReplay } from './replay';
import { runService } from './run';
import { runTail } from './tail';

export const PROGRAM = 'interest-drift';

const CONFIG_FOOTER =
  'Configuration comes from IDRIFT_* environment variables (README "Configuration"); every problem\n' +
  'with them is reported at once and exits 2.';

export interface Command {
  readonly spec: CommandSpec;
  readonly run: (args: Args) => Promise<number>;
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  run: {
    spec: {
      name: `${PROGRAM} run`,
      summary: 'Run the stream processor: clickstream in, migrations, churn risk and profiles out.',
      usage: [''],
      options: {},
      footer: `${CONFIG_FOOTER}\nSIGTERM or SIGINT stops it in order (commit, close); exit 0, or 1 after a fatal error.`,
    },
    run: runService,
  },
  replay: {
    spec: {
      name: `${PROGRAM} replay`,
      summary: 'Produce a dataset file or a seeded simulation to the input topic.',
      usage: [
        'FILE [--format F] [--item-properties F1,F2] [--speedup X] [--limit N]',
        '--simulate [--users N] [--days D] [--seed S] [--activity K]',
      ],
      maxPositionals: 1,
      options: {
        format: {
          type: 'string',
          valueName: 'F',
          description: 'taobao | rees46 | retailrocket (default: detected)',
        },
        'item-properties': {
          type: 'string',
          valueName: 'F1,F2',
          description: 'RetailRocket item_properties files (categories)',
        },
        speedup: {
          type: 'string',
          valueName: 'X',
          description: 'replay at X times event time; 0 = as fast as possible (default 0)',
        },
        limit: { type: 'string', valueName: 'N', description: 'first N rows only' },
        simulate: { type: 'boolean', description: 'replay the seeded simulator instead of a file' },
        users: { type: 'string', valueName: 'N', description: 'simulated users (default 2000)' },
        days: { type: 'string', valueName: 'D', description: 'simulated days (default 1)' },
        seed: { type: 'string', valueName: 'S', description: 'simulator seed (default 7)' },
        activity: { type: 'string', valueName: 'K', description: 'simulated activity scale (default 1)' },
      },
      footer: CONFIG_FOOTER,
    },
    run: runReplay,
  },
  tail: {
    spec: {
      name: `${PROGRAM} tail`,
      summary: 'Pretty-print committed interest migrations and churn alerts (user ids pseudonymised).',
      usage: ['[--from-beginning]'],
      options: {
        'from-beginning': { type: 'boolean', description: 'start at the oldest record, not the newest' },
      },
      footer: CONFIG_FOOTER,
    },
    run: runTail,
  },
  demo: {
    spec: {
      name: `${PROGRAM} demo`,
      summary: 'Replay a simulated day (and the real sample when present), process it, print a summary.',
      usage: ['[--data FILE] [--users N] [--seed S]'],
      options: {
        data: {
          type: 'string',
          valueName: 'FILE',
          description: 'real Taobao file (default ../shared/data/taobao-userbehavior-users.csv.gz)',
        },
        users: { type: 'string', valueName: 'N', description: 'simulated users (default 3000)' },
        seed: { type: 'string', valueName: 'S', description: 'simulator seed (default 7)' },
      },
      footer: CONFIG_FOOTER,
    },
    run: runDemo,
  },
  'alert-bridge': {
    spec: {
      name: `${PROGRAM} alert-bridge`,
      summary:
        'Forward churn alerts to a Prometheus Alertmanager: firing on raise, resolved when the user returns.',
      usage: [''],
      options: {},
      footer:
        `${CONFIG_FOOTER}\nNeeds IDRIFT_ALERTMANAGER_URL and IDRIFT_LOG_PSEUDONYM_KEY (labels carry the keyed pseudonym,\n` +
        'never the user id; IDRIFT_ALERT_INCLUDE_USER_ID=true adds the id as an annotation). At-least-once from\n' +
        'churn.risk (consumer group <appId>.alert-bridge); SIGTERM stops it.',
    },
    run: runAlertBridgeCommand,
  },
  inspect: {
    spec: {
      name: `${PROGRAM} inspect`,
      summary: "Print one user's committed state from the changelog (JSON on stdout).",
      usage: ['USER'],
      maxPositionals: 1,
      options: {},
      footer: `${CONFIG_FOOTER}\nExit 1 when the changelog holds no state for the user.`,
    },
    run: runInspect,
  },
  changelog: {
    spec: {
      name: `${PROGRAM} changelog`,
      summary:
        'Find users whose latest state in the changelog this release cannot read; optionally tombstone them.',
      usage: ['check [--partition P] [--tombstone]'],
      maxPositionals: 1,
      options: {
        partition: {
          type: 'string',
          valueName: 'P',
          description: 'only this changelog partition; default all',
        },
        tombstone: {
          type: 'boolean',
          description:
            'write a tombstone for each such user: its state is dropped, it starts again from its next event',
        },
      },
      footer:
        `${CONFIG_FOOTER}\nRun it when the service stops with CHANGELOG_UNREADABLE, or a user's state fails to decode. It reads the\n` +
        'changelog to its end and decodes every latest value, and prints {records, unreadable: [{partition, offset,\n' +
        'reason}], unreadableCheckpoints, tombstoned}: no user ids. Exit 1 while unreadable users remain. Values a\n' +
        'newer release wrote are unreadable too: roll forward instead of tombstoning them. --tombstone needs Write on\n' +
        'the changelog; run it while the service is stopped.',
    },
    run: runChangelog,
  },
  dlq: {
    spec: {
      name: `${PROGRAM} dlq`,
      summary: 'Re-publish chosen dead letters to the input after a fix (original key, value, headers).',
      usage: ['redrive [--code C1,C2] [--source-partition P] [--from-offset N] [--to-offset M] [--dry-run]'],
      maxPositionals: 1,
      options: {
        code: {
          type: 'string',
          valueName: 'C1,C2',
          description: 'only these error codes (dlq.error.code); default all',
        },
        'source-partition': {
          type: 'string',
          valueName: 'P',
          description: 'only records from this input partition',
        },
        'from-offset': {
          type: 'string',
          valueName: 'N',
          description: 'only records whose input offset is ≥ N',
        },
        'to-offset': {
          type: 'string',
          valueName: 'M',
          description: 'only records whose input offset is ≤ M',
        },
        'dry-run': { type: 'boolean', description: 'count what would be re-driven; produce nothing' },
      },
      footer:
        `${CONFIG_FOOTER}\nPrints {examined, matched, redriven, truncated, byCode}. Re-driving a record twice is harmless:\n` +
        'the processor drops repeated event ids. A truncated dead letter (too large to keep whole) is counted under\n' +
        'truncated and never re-driven. Needs Read on the dead-letter topic and Write on the input.',
    },
    run: runDlq,
  },
  eval: {
    spec: {
      name: `${PROGRAM} eval`,
      summary: 'Offline evaluation report (markdown + JSON) of drift, churn and next category; no Kafka.',
      usage: [
        '[--data FILE [--users test --split FILE]] [--simulate [--sim-users N] [--sim-days D] [--seed S] [--sim-seeds K]] [--head FILE] [--out DIR]',
      ],
      options: {
        data: {
          type: 'string',
          valueName: 'FILE',
          description: 'Taobao-format file; all its users are evaluated',
        },
        users: {
          type: 'string',
          valueName: 'NAME',
          description: 'only the users of this split (train | valid | test)',
        },
        split: {
          type: 'string',
          valueName: 'FILE',
          description: 'user split (default onnx/artifacts/split.json)',
        },
        simulate: { type: 'boolean', description: 'add the seeded simulation' },
        seed: { type: 'string', valueName: 'S', description: 'simulator seed (default 11)' },
        'sim-users': { type: 'string', valueName: 'N', description: 'simulated users (default 1500)' },
        'sim-days': { type: 'string', valueName: 'D', description: 'simulated days (default 5)' },
        'sim-seeds': {
          type: 'string',
          valueName: 'K',
          description: 'simulator seeds S, S+1, … for the mean ± sd table (default 5)',
        },
        head: {
          type: 'string',
          valueName: 'FILE',
          description:
            'next-category head weights (default onnx/artifacts/next-category-head.json; none if absent)',
        },
        out: { type: 'string', valueName: 'DIR', description: 'report folder (default onnx/artifacts/eval)' },
      },
    },
    run: runEval,
  },
};
