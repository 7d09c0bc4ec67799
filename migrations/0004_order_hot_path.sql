-- The order hot path: every order inserts one orders row and one
-- order_items row per product, in group commits of hundreds. Measured with
-- the bench suite (docs/engineering-notes.md "Schema cost per order"), the
-- foreign-key triggers and the indexes below were about a third of
-- PostgreSQL's work per order.

-- Foreign keys on the insert path. Orders and their items are written only
-- by persist, in one transaction, for a user and products that were read
-- first (the user from a verified token, the product by its SKU actor);
-- users and products are never deleted. The bench audit checks that no
-- order lacks items; an order deleted by hand must have its items deleted
-- with it (there is no cascade any more).
ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;
ALTER TABLE order_items DROP CONSTRAINT order_items_product_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;

-- A user's orders by status: orders_user_id (user_id, id DESC) serves that
-- too, filtering one user's orders.
DROP INDEX orders_user_status_id;

-- All orders by status (admin): new orders are pending and pending orders
-- are the newest, which the primary key finds; the index covers only the
-- statuses an order reaches later, so inserting an order does not touch it.
DROP INDEX orders_status_id;
CREATE INDEX orders_status_id ON orders (status, id DESC) WHERE status <> 'pending';

