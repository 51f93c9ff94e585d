import { useMutation, useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { ErrorNote } from './errors';
import { money } from './format';
import { PlaceOrderMutation, ProductsQuery } from './operations';
import { go } from './route';

/** Products with their free stock; ordering one opens the order's live page. */
export function Shop() {
  const products = useQuery(ProductsQuery, { variables: { first: 50 }, fetchPolicy: 'cache-and-network' });
  const [placeOrder, placing] = useMutation(PlaceOrderMutation);
  const [quantities, setQuantities] = useState<Record<string, number>>({});

  const order = async (productId: string) => {
    const quantity = quantities[productId] ?? 1;
    // One key per click: a retried request never places a second order.
    const { data } = await placeOrder({ variables: { input: { productId, quantity, idempotencyKey: crypto.randomUUID() } } }).catch(() => ({
      data: undefined,
    }));
    if (data) go({ page: 'order', id: data.placeOrder.id });
  };

  return (
    <section>
      <h2>Products</h2>
      <ErrorNote error={products.error} />
      <ErrorNote error={placing.error} />
      {products.data && products.data.products.nodes.length === 0 && <p>No products yet. An operator adds them on the Admin page.</p>}
      <table>
        <thead>
          <tr>
            <th>Product</th>
            <th>SKU</th>
            <th className="num">Price</th>
            <th className="num">In stock</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {products.data?.products.nodes.map((product) => (
            <tr key={product.id} data-testid="product" data-product-id={product.id}>
              <td>{product.name}</td>
              <td className="muted">{product.id}</td>
              <td className="num">{money(product.priceCents)}</td>
              <td className="num" data-testid="stock">
                {product.stock}
              </td>
              <td className="actions">
                <input
                  aria-label={`Quantity of ${product.name}`}
                  type="number"
                  min={1}
                  max={1000}
                  value={quantities[product.id] ?? 1}
                  onChange={(e) => setQuantities({ ...quantities, [product.id]: Number(e.target.value) })}
                />
                <button type="button" disabled={placing.loading} onClick={() => void order(product.id)}>
                  Order
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
