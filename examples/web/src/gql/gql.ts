/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation SignUp($input: CreateUserInput!) {\n    createUser(input: $input) {\n      id\n      name\n      email\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  query Me {\n    me {\n      id\n      name\n      email\n    }\n  }\n": typeof types.MeDocument,
    "\n  query Products($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        name\n        priceCents\n        stock\n      }\n      totalCount\n    }\n  }\n": typeof types.ProductsDocument,
    "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) {\n      id\n      status\n      quantity\n      createdAt\n      product {\n        id\n        name\n      }\n    }\n  }\n": typeof types.PlaceOrderDocument,
    "\n  subscription OrderUpdated($id: ID!) {\n    orderUpdated(id: $id) {\n      id\n      status\n      failureReason\n      quantity\n      createdAt\n      updatedAt\n      product {\n        id\n        name\n        priceCents\n      }\n      history {\n        status\n        at\n        reason\n      }\n    }\n  }\n": typeof types.OrderUpdatedDocument,
    "\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      nodes {\n        id\n        status\n        quantity\n        createdAt\n        product {\n          id\n          name\n        }\n      }\n      totalCount\n    }\n  }\n": typeof types.MyOrdersDocument,
    "\n  query OrderStats {\n    orderStats {\n      total\n      byStatus {\n        status\n        count\n      }\n    }\n  }\n": typeof types.OrderStatsDocument,
    "\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      id\n      name\n      priceCents\n      stock\n    }\n  }\n": typeof types.CreateProductDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($input: CreateUserInput!) {\n    createUser(input: $input) {\n      id\n      name\n      email\n    }\n  }\n": types.SignUpDocument,
    "\n  query Me {\n    me {\n      id\n      name\n      email\n    }\n  }\n": types.MeDocument,
    "\n  query Products($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        name\n        priceCents\n        stock\n      }\n      totalCount\n    }\n  }\n": types.ProductsDocument,
    "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) {\n      id\n      status\n      quantity\n      createdAt\n      product {\n        id\n        name\n      }\n    }\n  }\n": types.PlaceOrderDocument,
    "\n  subscription OrderUpdated($id: ID!) {\n    orderUpdated(id: $id) {\n      id\n      status\n      failureReason\n      quantity\n      createdAt\n      updatedAt\n      product {\n        id\n        name\n        priceCents\n      }\n      history {\n        status\n        at\n        reason\n      }\n    }\n  }\n": types.OrderUpdatedDocument,
    "\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      nodes {\n        id\n        status\n        quantity\n        createdAt\n        product {\n          id\n          name\n        }\n      }\n      totalCount\n    }\n  }\n": types.MyOrdersDocument,
    "\n  query OrderStats {\n    orderStats {\n      total\n      byStatus {\n        status\n        count\n      }\n    }\n  }\n": types.OrderStatsDocument,
    "\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      id\n      name\n      priceCents\n      stock\n    }\n  }\n": types.CreateProductDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($input: CreateUserInput!) {\n    createUser(input: $input) {\n      id\n      name\n      email\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($input: CreateUserInput!) {\n    createUser(input: $input) {\n      id\n      name\n      email\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      name\n      email\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      name\n      email\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Products($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        name\n        priceCents\n        stock\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query Products($first: Int!) {\n    products(first: $first) {\n      nodes {\n        id\n        name\n        priceCents\n        stock\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) {\n      id\n      status\n      quantity\n      createdAt\n      product {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) {\n      id\n      status\n      quantity\n      createdAt\n      product {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderUpdated($id: ID!) {\n    orderUpdated(id: $id) {\n      id\n      status\n      failureReason\n      quantity\n      createdAt\n      updatedAt\n      product {\n        id\n        name\n        priceCents\n      }\n      history {\n        status\n        at\n        reason\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription OrderUpdated($id: ID!) {\n    orderUpdated(id: $id) {\n      id\n      status\n      failureReason\n      quantity\n      createdAt\n      updatedAt\n      product {\n        id\n        name\n        priceCents\n      }\n      history {\n        status\n        at\n        reason\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      nodes {\n        id\n        status\n        quantity\n        createdAt\n        product {\n          id\n          name\n        }\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query MyOrders($first: Int!) {\n    orders(first: $first) {\n      nodes {\n        id\n        status\n        quantity\n        createdAt\n        product {\n          id\n          name\n        }\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OrderStats {\n    orderStats {\n      total\n      byStatus {\n        status\n        count\n      }\n    }\n  }\n"): (typeof documents)["\n  query OrderStats {\n    orderStats {\n      total\n      byStatus {\n        status\n        count\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      id\n      name\n      priceCents\n      stock\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProduct($input: CreateProductInput!) {\n    createProduct(input: $input) {\n      id\n      name\n      priceCents\n      stock\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;