import { useMutation, useQuery } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { ErrorNote } from './errors';
import { CreateProductMutation, OrderStatsQuery, ProductsQuery } from './operations';

/** Operators: orders by status (orderStats, admin only) and adding products. */
export function Admin() {
  const stats = useQuery(OrderStatsQuery, { fetchPolicy: 'network-only', pollInterval: 5000 });
  const [createProduct, creating] = useMutation(CreateProductMutation, { refetchQueries: [ProductsQuery] });
  const [form, setForm] = useState({ id: '', name: '', price: '9.99', stock: '10' });

  const onCreate = async (event: FormEvent) => {
    event.preventDefault();
    const input = { id: form.id.trim(), name: form.name, priceCents: Math.round(Number(form.price) * 100), stock: Number(form.stock) };
    const { data } = await createProduct({ variables: { input } }).catch(() => ({ data: undefined }));
    if (data) setForm({ ...form, id: '', name: '' });
  };

  return (
    <section>
      <h2>Orders by status</h2>
      <ErrorNote error={stats.error} />
      {stats.data && (
        <table className="stats" data-testid="order-stats">
          <tbody>
            {stats.data.orderStats.byStatus.map(({ status, count }) => (
              <tr key={status} data-status={status}>
                <td>
                  <span className={`status status-${status}`}>{status}</span>
                </td>
                <td className="num" data-testid={`count-${status}`}>
                  {count}
                </td>
              </tr>
            ))}
            <tr>
              <td>Total</td>
              <td className="num" data-testid="count-total">
                {stats.data.orderStats.total}
              </td>
            </tr>
          </tbody>
        </table>
      )}
      <form className="card" onSubmit={onCreate} aria-label="Add a product">
        <h2>Add a product</h2>
        <label>
          SKU
          <input name="sku" value={form.id} onChange={(e) => setForm({ ...form, id: e.target.value })} required pattern="[A-Za-z0-9_\-]{1,64}" />
        </label>
        <label>
          Name
          <input name="productName" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
        </label>
        <label>
          Price
          <input name="price" type="number" min="0" step="0.01" value={form.price} onChange={(e) => setForm({ ...form, price: e.target.value })} required />
        </label>
        <label>
          Stock
          <input name="stock" type="number" min="0" value={form.stock} onChange={(e) => setForm({ ...form, stock: e.target.value })} required />
        </label>
        <button type="submit" disabled={creating.loading}>
          Add
        </button>
        <ErrorNote error={creating.error} />
      </form>
    </section>
  );
}
