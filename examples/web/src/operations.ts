/**
 * Every operation the app sends. `npm run codegen` types them (src/gql/) and
 * writes their manifest (src/gql/persisted-documents.json): an operation that
 * is not here cannot be sent to a gateway that enforces the safelist.
 */
import { graphql } from './gql';

export const SignUpMutation = graphql(`
  mutation SignUp($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      name
      email
    }
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      id
      name
      email
    }
  }
`);

export const ProductsQuery = graphql(`
  query Products($first: Int!) {
    products(first: $first) {
      nodes {
        id
        name
        priceCents
        stock
      }
      totalCount
    }
  }
`);

export const PlaceOrderMutation = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      id
      status
      quantity
      createdAt
      product {
        id
        name
      }
    }
  }
`);

/** The order as it is now, then again after each status change (the gateway over graphql-ws); it ends after a final status. */
export const OrderUpdatedSubscription = graphql(`
  subscription OrderUpdated($id: ID!) {
    orderUpdated(id: $id) {
      id
      status
      failureReason
      quantity
      createdAt
      updatedAt
      product {
        id
        name
        priceCents
      }
      history {
        status
        at
        reason
      }
    }
  }
`);

export const MyOrdersQuery = graphql(`
  query MyOrders($first: Int!) {
    orders(first: $first) {
      nodes {
        id
        status
        quantity
        createdAt
        product {
          id
          name
        }
      }
      totalCount
    }
  }
`);

export const OrderStatsQuery = graphql(`
  query OrderStats {
    orderStats {
      total
      byStatus {
        status
        count
      }
    }
  }
`);

export const CreateProductMutation = graphql(`
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      id
      name
      priceCents
      stock
    }
  }
`);
