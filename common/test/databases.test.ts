import { describe, expect, it } from 'vitest';
import { backupLabels } from '../../workers/backup/service.ts';
import { databaseName, databaseSetting, databaseUrlOf, distinctDatabaseUrls } from '../databases.ts';

const MAIN = 'postgres://postgres@127.0.0.1:5432/junction';
const NAMES = ['users', 'events', 'inventory', 'orders', 'notifications'];

describe('a database per subgraph', () => {
  it('names each subgraph its setting, which defaults to DATABASE_URL (empty counts as unset)', () => {
    expect(databaseSetting('orders')).toBe('ORDERS_DATABASE_URL');
    expect(databaseUrlOf({ DATABASE_URL: MAIN }, 'orders')).toBe(MAIN);
    expect(databaseUrlOf({ DATABASE_URL: MAIN, ORDERS_DATABASE_URL: '' } as { DATABASE_URL: string }, 'orders')).toBe(MAIN);
    const settings = { DATABASE_URL: MAIN, ORDERS_DATABASE_URL: 'postgres://db2:5432/orders' } as { DATABASE_URL: string };
    expect(databaseUrlOf(settings, 'orders')).toBe('postgres://db2:5432/orders');
    expect(databaseUrlOf(settings, 'users')).toBe(MAIN);
  });

  it('lists every distinct database once, DATABASE_URL first, however a URL is spelt', () => {
    expect(distinctDatabaseUrls({ DATABASE_URL: MAIN }, NAMES)).toEqual([MAIN]);
    const settings = {
      DATABASE_URL: MAIN,
      INVENTORY_DATABASE_URL: 'postgres://db3:5432/stock?sslmode=require&application_name=x',
      ORDERS_DATABASE_URL: 'postgres://db2:5432/orders',
      NOTIFICATIONS_DATABASE_URL: 'postgres://db2:5432/orders',
      EVENTS_DATABASE_URL: 'postgres://db3:5432/stock?application_name=x&sslmode=require',
    } as { DATABASE_URL: string };
    expect(distinctDatabaseUrls(settings, NAMES)).toEqual([MAIN, 'postgres://db3:5432/stock?application_name=x&sslmode=require', 'postgres://db2:5432/orders']);
    expect(databaseName('postgres://db2:5432/orders')).toBe('orders');
  });

  it("labels each database's dumps by its name, adding host and port when two share a name", () => {
    expect(backupLabels([MAIN, 'postgres://db2/orders', 'postgres://db3:6543/junction']).map((d) => d.label)).toEqual([
      'junction',
      'orders',
      'junction_db3_6543',
    ]);
  });
});
