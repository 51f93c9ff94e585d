import { useQuery } from '@apollo/client/react';
import { ErrorNote } from './errors';
import { time } from './format';
import { MyOrdersQuery } from './operations';
import { hrefOf } from './route';

/** The viewer's orders, newest first. */
export function Orders() {
  const { data, error } = useQuery(MyOrdersQuery, { variables: { first: 20 }, fetchPolicy: 'cache-and-network' });
  return (
    <section>
      <h2>My orders {data && <span className="muted">({data.orders.totalCount})</span>}</h2>
      <ErrorNote error={error} />
      {data?.orders.nodes.length === 0 && <p>No orders yet.</p>}
      <table>
        <tbody>
          {data?.orders.nodes.map((order) => (
            <tr key={order.id} data-testid="my-order" data-order-id={order.id}>
              <td>
                <a href={hrefOf({ page: 'order', id: order.id })}>{order.product?.name ?? order.id}</a>
              </td>
              <td className="num">× {order.quantity}</td>
              <td>
                <span className={`status status-${order.status}`}>{order.status}</span>
              </td>
              <td className="muted">{time(order.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
