export const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;

export const time = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
