import { ErrorNote } from './errors';
import { money, time } from './format';
import { useLiveOrder } from './live-order';

const TERMINAL = new Set(['CONFIRMED', 'FAILED', 'CANCELLED']);

/** One order, kept current as its status changes (no reload, no polling). */
export function OrderPage({ id }: { id: string }) {
  const { order, error, notFound, live, reconnecting } = useLiveOrder(id);
  if (notFound) {
    return (
      <section>
        <h2>Order</h2>
        <p className="error" role="alert" data-testid="error" data-code="NOT_FOUND">
          <strong>NOT_FOUND</strong> No order of yours has this id.
        </p>
      </section>
    );
  }
  return (
    <section>
      <h2>
        Order{' '}
        <span className="muted" data-testid="order-id">
          {id}
        </span>
      </h2>
      <ErrorNote error={error} />
      {order && (
        <div className="card order">
          <p>
            <span className={`status status-${order.status}`} data-testid="order-status">
              {order.status}
            </span>
            {!TERMINAL.has(order.status) && live && (
              <span className="muted" data-testid="live">
                {' '}
                watching live…
              </span>
            )}
            {reconnecting && (
              <span className="muted" data-testid="reconnecting">
                {' '}
                reconnecting…
              </span>
            )}
            {order.failureReason && <span data-testid="failure-reason"> ({order.failureReason})</span>}
          </p>
          <p>
            {order.quantity} × {order.product?.name ?? 'unknown product'}
            {order.product && <span className="muted"> at {money(order.product.priceCents)}</span>}
          </p>
          <ol className="history" data-testid="history">
            {order.history.map((change, i) => (
              <li key={i} data-status={change.status}>
                <span className={`status status-${change.status}`}>{change.status}</span> <span className="muted">{time(change.at)}</span>
                {change.reason && <span> {change.reason}</span>}
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
