import { Socket } from 'node:net';

/**
 * The unit tier's setup file: a unit test that opens a connection to PostgreSQL
 * or Redis fails at once, naming the port, instead of passing here and failing
 * on a machine with nothing listening (such a test belongs in a `*.int.test.ts`).
 */
const SERVICES: Record<number, string> = { 5432: 'PostgreSQL', 6379: 'Redis' };

const connect = Socket.prototype.connect;
Socket.prototype.connect = function guardedConnect(this: Socket, ...args: unknown[]) {
  const [first] = args;
  const port = Number(typeof first === 'object' && first !== null && 'port' in first ? first.port : first);
  const service = SERVICES[port];
  if (service) throw new Error(`a unit test connected to ${service} (port ${port}): name the file *.int.test.ts`);
  return (connect as (...a: unknown[]) => Socket).apply(this, args);
} as typeof Socket.prototype.connect;
