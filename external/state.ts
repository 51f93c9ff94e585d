/** The partner services the external app simulates; each has its own chaos settings. */
export const PARTNER_SERVICES = ['enrichment', 'registry', 'notify', 'backup'] as const;
export type PartnerService = (typeof PARTNER_SERVICES)[number];

export function isPartnerService(value: unknown): value is PartnerService {
  return PARTNER_SERVICES.includes(value as PartnerService);
}

export interface ChaosSettings {
  /** Fraction of requests answered 503, 0..1, spread evenly (0.5: the 2nd, 4th, … request). */
  failureRate: number;
  /** Delay before every answer, failing or not. */
  latencyMs: number;
}

/** One request a partner service received (control and inspection routes are not recorded). */
export interface RecordedCall {
  service: PartnerService;
  method: string;
  path: string;
  /** When the request arrived, in ms since the epoch. */
  time: number;
  /** How long the answer took; null while in flight or when the client went away first. */
  durationMs: number | null;
  /** The status answered; null while in flight or when the client went away first. */
  status: number | null;
  requestId: string | null;
}

export interface Profile {
  company: string | null;
  jobTitle: string | null;
  location: string | null;
}

export interface RegisteredEvent {
  id: string;
  name: string;
  userId: string;
  startsAt: string;
  registeredAt: string;
}

/** A delivery by the notification provider: one per Idempotency-Key. */
export interface Delivery {
  id: string;
  idempotencyKey: string;
  body: Record<string, unknown>;
  deliveredAt: string;
  /** Requests seen with this key that were answered (the delivery and its repeats). */
  requests: number;
}

export interface Backup {
  body: Buffer;
  contentType: string;
  storedAt: string;
}

const calm = (): ChaosSettings & { seen: number } => ({ failureRate: 0, latencyMs: 0, seen: 0 });

/** Everything the simulated partners remember; tests may read or change it directly. */
export class ExternalState {
  /** Chaos per service, with the number of requests seen since it was set. */
  readonly chaos = Object.fromEntries(PARTNER_SERVICES.map((s) => [s, calm()])) as Record<PartnerService, ChaosSettings & { seen: number }>;
  readonly calls: RecordedCall[] = [];
  /** Profiles set with PUT /enrichment/:userId; null marks an id made unknown with DELETE. */
  readonly profiles = new Map<string, Profile | null>();
  readonly events = new Map<string, RegisteredEvent>();
  /** Deliveries by Idempotency-Key. */
  readonly deliveries = new Map<string, Delivery>();
  readonly backups = new Map<string, Backup>();
  /** The backup accepted on each UTC day (YYYY-MM-DD → name): the store takes one upload a day. */
  readonly backupDays = new Map<string, string>();

  setChaos(service: PartnerService, settings: ChaosSettings): void {
    this.chaos[service] = { ...settings, seen: 0 };
  }

  resetChaos(service?: PartnerService): void {
    for (const s of service ? [service] : PARTNER_SERVICES) this.chaos[s] = calm();
  }

  /** Forgets everything: chaos, calls, profiles, events, deliveries and backups. */
  reset(): void {
    this.resetChaos();
    this.calls.length = 0;
    this.profiles.clear();
    this.events.clear();
    this.deliveries.clear();
    this.backups.clear();
    this.backupDays.clear();
  }
}
