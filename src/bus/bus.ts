/**
 * The one domain bus: typed events in, typed listeners out. Listeners are registered with an
 * owner (a service name), so a service that stops removes everything it subscribed with one call
 * and leaves nothing behind. A listener that throws is logged by reason and does not stop the
 * others or the producer: the producer has already committed what the event reports.
 */
import type { DomainEvent, DomainEventMap, DomainEventType } from './events.js';

type Listener<T extends DomainEventType> = (event: DomainEvent<T>) => void;
type AnyListener = (event: DomainEvent) => void;

interface Subscription {
  type: DomainEventType | '*';
  listener: AnyListener;
  owner: string;
}

export interface BusErrorSink {
  (error: unknown, event: DomainEvent, owner: string): void;
}

/** What an event's producer gives: the fields without the type; the time defaults to now. */
export type EventFields<T extends DomainEventType> = DomainEventMap[T] & { at?: number };

export class DomainBus {
  private readonly byType = new Map<DomainEventType | '*', Subscription[]>();

  constructor(
    private readonly onListenerError: BusErrorSink = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Subscribes to one event type; returns a function that unsubscribes. */
  on<T extends DomainEventType>(type: T, owner: string, listener: Listener<T>): () => void {
    return this.add({ type, owner, listener: listener as AnyListener });
  }

  /** Subscribes to every event (the live page stream). */
  onAny(owner: string, listener: AnyListener): () => void {
    return this.add({ type: '*', owner, listener });
  }

  /** Removes one listener, however it was registered. */
  off(listener: AnyListener | Listener<never>): void {
    for (const [type, subs] of this.byType) this.byType.set(type, subs.filter((s) => s.listener !== listener));
  }

  /** Removes every listener an owner registered (a service stopping). */
  removeOwner(owner: string): number {
    let removed = 0;
    for (const [type, subs] of this.byType) {
      const kept = subs.filter((s) => s.owner !== owner);
      removed += subs.length - kept.length;
      this.byType.set(type, kept);
    }
    return removed;
  }

  /** Whether anyone listens for a type (hot paths skip building events nobody reads). */
  watched(type: DomainEventType): boolean {
    return (this.byType.get(type)?.length ?? 0) > 0 || (this.byType.get('*')?.length ?? 0) > 0;
  }

  /** How many listeners are registered (all owners), for tests and shutdown checks. */
  listenerCount(owner?: string): number {
    let n = 0;
    for (const subs of this.byType.values()) n += owner === undefined ? subs.length : subs.filter((s) => s.owner === owner).length;
    return n;
  }

  emit<T extends DomainEventType>(type: T, fields: EventFields<T>): void {
    const event = { ...fields, type, at: fields.at ?? this.now() } as unknown as DomainEvent;
    // No copies: the lists are replaced, never changed, when a listener comes or goes (add, off,
    // removeOwner), so one that does so while the event is delivered does not disturb this loop.
    const typed = this.byType.get(type);
    const any = this.byType.get('*');
    if (typed) this.deliver(typed, event);
    if (any) this.deliver(any, event);
  }

  private deliver(targets: readonly Subscription[], event: DomainEvent): void {
    for (const s of targets) {
      try {
        s.listener(event);
      } catch (err) {
        this.onListenerError(err, event, s.owner);
      }
    }
  }

  private add(sub: Subscription): () => void {
    this.byType.set(sub.type, [...(this.byType.get(sub.type) ?? []), sub]);
    return () => {
      const now = this.byType.get(sub.type);
      if (now) this.byType.set(sub.type, now.filter((s) => s !== sub));
    };
  }
}
