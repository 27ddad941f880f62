/**
 * schemas/asyncapi.yaml is parsed with the official parser (Avro payloads resolved through its
 * Avro schema parser) and kept in step with schemas/, the default topic names and the
 * dead-letter header contract.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { Parser, fromFile } from '@asyncapi/parser';
import { loadConfig } from '../../../src/shared/config';
import { DeadLetterHeaders } from '../../../src/kafka/avro-types.gen';
import { DEAD_LETTER_STAGES } from '../../../src/kafka/dead-letter';

const SCHEMAS = join(__dirname, '..', '..', '..', 'schemas');

describe('AsyncAPI document', () => {
  jest.setTimeout(60_000);

  async function parse() {
    const parser = new Parser();
    parser.registerSchemaParser(AvroSchemaParser());
    return fromFile(parser, join(SCHEMAS, 'asyncapi.yaml')).parse();
  }

  it('parses as AsyncAPI 3 without errors', async () => {
    const { document, diagnostics } = await parse();
    expect(
      diagnostics.filter((d) => Number(d.severity) === 0).map((d) => `${d.path.join('.')}: ${d.message}`),
    ).toEqual([]);
    expect(document?.version()).toMatch(/^3\./);
  });

  it('has a channel for every topic of the default configuration, and no other', async () => {
    const { document } = await parse();
    const config = loadConfig({ IDRIFT_KAFKA_BROKERS: 'k:9092', IDRIFT_SCHEMA_REGISTRY_URL: 'http://r' });
    const addresses = (document?.channels().all() ?? []).map((c) => c.address()).sort();
    expect(addresses).toEqual(Object.values(config.topics).sort());
  });

  it('references every .avsc of schemas/, and each payload is that schema', async () => {
    const { document } = await parse();
    const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.avsc'));
    const yaml = readFileSync(join(SCHEMAS, 'asyncapi.yaml'), 'utf8');
    for (const f of files) expect(yaml).toContain(`$ref: './${f}'`);
    const byName = new Map((document?.components().messages().all() ?? []).map((m) => [m.id(), m]));
    for (const f of files) {
      const avsc = JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as { name: string };
      const message = byName.get(avsc.name);
      expect(message).toBeDefined();
      expect(message?.schemaFormat()).toMatch(/^application\/vnd\.apache\.avro/);
      // The Avro parser turns the schema into JSON Schema; the record's fields become its properties.
      const props = Object.keys(message?.payload()?.properties() ?? {}).sort();
      const fields = (avsc as unknown as { fields: { name: string }[] }).fields.map((x) => x.name).sort();
      expect(props).toEqual(fields);
    }
  });

  it('lists exactly the dead-letter headers of schemas/dead-letter-headers.json', async () => {
    const { document } = await parse();
    const dlq = (document?.components().messages().all() ?? []).find((m) => m.id() === 'DeadLetter');
    const headers = Object.keys(dlq?.headers()?.properties() ?? {}).sort();
    expect(headers).toEqual(Object.values(DeadLetterHeaders).sort());
    // The stages the code writes, and no other.
    const stage = (dlq?.headers()?.properties() ?? {})[DeadLetterHeaders.stage]?.enum() as
      string[] | undefined;
    expect([...(stage ?? [])].sort()).toEqual([...DEAD_LETTER_STAGES].sort());
  });
});
