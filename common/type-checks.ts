/** `true` when A and B are the same type, else `false`. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Fails tsc unless T is `true`: `export type Checked = Expect<Same<A, B>>`. */
export type Expect<T extends true> = T;
