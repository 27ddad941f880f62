/**
 * Output contracts on the REAL Apicurio registry: the service sets its output subjects to
 * FULL_TRANSITIVE (consumers may upgrade before or after us) and the registry then refuses a
 * change that would break a consumer; the input subject stays BACKWARD.
 */
import { isProcessorError } from '../../../src/shared/errors';
import { InterestMigrationSchema } from '../../../src/kafka/avro-types.gen';
import { harnessConfig } from '../../support/processor-harness';
import { outputCompatibility, subjectConfigClient } from '../../../src/kafka/registry-compatibility';
import { AvroSerde, valueSubject } from '../../../src/kafka/serde';
import { describeWithStack, testRegistry } from '../../support/stack';

type Field = { name: string; type: unknown; default?: unknown; doc?: string };

function withFields(fields: (f: readonly Field[]) => Field[]): object {
  const s = InterestMigrationSchema as unknown as { fields: readonly Field[] };
  return { ...InterestMigrationSchema, fields: fields(s.fields) };
}

describeWithStack('output subject compatibility on the real registry', (env) => {
  it('sets outputs FULL_TRANSITIVE, the changelog BACKWARD, and refuses a change that breaks consumers', async () => {
    const config = harnessConfig(env, 'compat');
    const levels = outputCompatibility(config);
    expect(levels[valueSubject(config.topics.migrations)]).toBe('FULL_TRANSITIVE');
    expect(levels[valueSubject(config.topics.churn)]).toBe('FULL_TRANSITIVE');
    expect(levels[valueSubject(config.topics.profiles)]).toBe('FULL_TRANSITIVE');
    expect(levels[valueSubject(config.topics.userStateChangelog)]).toBe('BACKWARD');
    expect(levels[valueSubject(config.topics.input)]).toBeUndefined();

    const subjects = subjectConfigClient({ url: env.registryUrl });
    const serde = new AvroSerde(testRegistry(env));
    const subject = valueSubject(config.topics.migrations);
    await subjects.set(subject, 'FULL_TRANSITIVE');
    expect(await subjects.get(subject)).toBe('FULL_TRANSITIVE');
    const v1 = await serde.register(subject, InterestMigrationSchema, 'FULL_TRANSITIVE');
    expect(v1).toBeGreaterThan(0);

    // A new required field: old records cannot be read with it (not backward), so refused.
    const required = withFields((f) => [...f, { name: 'bidFloor', type: 'double' }]);
    const refused = await serde.register(subject, required, 'FULL_TRANSITIVE').catch((e: unknown) => e);
    expect(isProcessorError(refused) && refused.code).toBe('REGISTRY_SCHEMA_REJECTED');
    expect(String((refused as Error).message)).toMatch(/HTTP 409/);
    // Removing a field without a default breaks consumers still reading it (not forward): refused.
    const first = (InterestMigrationSchema as unknown as { fields: readonly Field[] }).fields[0] as Field;
    const removed = withFields((f) => f.filter((x) => x.name !== first.name));
    const refused2 = await serde.register(subject, removed, 'FULL_TRANSITIVE').catch((e: unknown) => e);
    expect(isProcessorError(refused2) && refused2.code).toBe('REGISTRY_SCHEMA_REJECTED');
    // An optional field with a default is compatible both ways: accepted as a new version.
    const optional = withFields((f) => [...f, { name: 'note', type: ['null', 'string'], default: null }]);
    expect(await serde.register(subject, optional, 'FULL_TRANSITIVE')).not.toBe(v1);

    // The input subject keeps the registry's BACKWARD default: the producers' contract.
    const input = valueSubject(config.topics.input);
    expect([null, 'BACKWARD']).toContain(await subjects.get(input));
  });
});
