/** What addEvent tells the external event registry about a new event. */
export interface RegisteredEvent {
  id: string;
  name: string;
  userId: string;
  startsAt: Date;
}

/**
 * The external event registry. addEvent awaits register() before it stores
 * anything; a rejection (a DomainError such as ServiceUnavailableError)
 * fails the mutation as is and nothing is stored.
 */
export interface EventRegistry {
  register(event: RegisteredEvent): Promise<void>;
}
