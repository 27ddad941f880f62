import type { Kafka } from 'kafkajs';
import { AssignerProtocol } from 'kafkajs';
import { PartitionOwners } from '../../../src/kafka/partition-owners';

const TOPIC = 'clickstream.events';

/** A DescribeGroups answer in which the member at `url` owns partition 0. */
function described(url: string): unknown {
  return {
    groups: [
      {
        members: [
          {
            memberMetadata: AssignerProtocol.MemberMetadata.encode({
              version: 0,
              topics: [TOPIC],
              userData: Buffer.from(JSON.stringify({ httpUrl: url })),
            }),
            memberAssignment: AssignerProtocol.MemberAssignment.encode({
              version: 0,
              assignment: { [TOPIC]: [0] },
              userData: Buffer.alloc(0),
            }),
          },
        ],
      },
    ],
  };
}

describe('PartitionOwners', () => {
  it('does not keep, as fresh, owners described before a rebalance that began while they were asked for', async () => {
    const answers: ((v: unknown) => void)[] = [];
    const admin = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      describeGroups: () => new Promise((resolve) => answers.push(resolve)),
    };
    let admins = 0;
    const kafka = { admin: () => (admins++, admin) } as unknown as Kafka;
    const owners = new PartitionOwners(kafka, 'g', TOPIC);
    const first = owners.ownerOf(0);
    for (let i = 0; i < 10 && answers.length === 0; i++) await new Promise((r) => setImmediate(r));
    owners.invalidate(); // the group rebalances while DescribeGroups is in flight
    answers[0]?.(described('http://old-owner:9464'));
    await first;
    const second = owners.ownerOf(0);
    for (let i = 0; i < 10 && answers.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(answers).toHaveLength(2); // asked again, not answered from the stale description
    answers[1]?.(described('http://new-owner:9464'));
    expect(await second).toBe('http://new-owner:9464');
    expect(admins).toBe(1); // both loads asked through one admin client
  });
});
