import { QueueSet } from '../../common/queues.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';

/** A producer connection to `redisUrl`, once it is ready, and the queues on it under the test file's own `prefix`. */
export async function openTestQueues(redisUrl: string, prefix: string): Promise<{ producer: ReturnType<typeof createRedis>; queues: QueueSet }> {
  const producer = createRedis(redisUrl, { role: 'producer' });
  await new Promise((resolve) => producer.once('ready', resolve));
  return { producer, queues: new QueueSet(producer, prefix) };
}

/** Empties and closes what openTestQueues opened (either may be missing when beforeAll failed early). */
export async function closeTestQueues(queues: QueueSet | undefined, producer: ReturnType<typeof createRedis> | undefined): Promise<void> {
  if (queues) for (const queue of queues.all()) await queue.obliterate({ force: true });
  await queues?.close();
  if (producer) await closeRedis(producer);
}
